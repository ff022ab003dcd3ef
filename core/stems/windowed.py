"""Demucs' split-and-overlap separation, run as a stream so memory does not grow with length.

``demucs.apply.apply_model(split=True)`` cuts the track into ``segment``-long
chunks every ``(1 - overlap) * segment`` samples, runs the model on each, and
cross-fades the results with a triangular weight normalised by the summed
weights. It allocates the whole output (4 stems x 2 channels x float32 x
length: about 5 GB for an hour) before it starts. This module runs the same
chunk grid in order and emits each stretch of output as soon as no later chunk
can touch it, so only about one segment of input and output is held at a time.

The chunk grid, the weights, the random "shift trick", the bag-of-models
weighting and the order of floating point operations follow ``apply_model``
exactly, and every chunk is run through ``apply_model(split=False)`` itself, so
the streamed output equals the whole-file output up to float rounding.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

ProgressFn = Callable[[int, int], None]


def _valid_length(model: Any, chunk_len: int, segment: float | None) -> int:
    """The padded input length ``apply_model(split=False)`` feeds the model (same rules)."""
    from demucs.htdemucs import HTDemucs

    if isinstance(model, HTDemucs) and segment is not None:
        return int(segment * model.samplerate)
    if hasattr(model, "valid_length"):
        return int(model.valid_length(chunk_len))
    return chunk_len


def _crossfade_weight(segment_length: int, transition_power: float) -> torch.Tensor:
    # Same triangle as apply_model: peak in the middle, normalised, raised to a power.
    weight = torch.cat(
        [
            torch.arange(1, segment_length // 2 + 1),
            torch.arange(segment_length - segment_length // 2, 0, -1),
        ]
    )
    return (weight / weight.max()) ** transition_power


class _Input:
    """Normalised input frames ``[base, base + n)``; outside ``[0, length)`` reads as zeros."""

    def __init__(
        self, blocks: Iterable[np.ndarray], length: int, channels: int, mean: float, std: float
    ) -> None:
        self._blocks = iter(blocks)
        self._length = length
        self._channels = channels
        self._mean = np.float32(mean)
        self._std = np.float32(std)
        self._parts: list[np.ndarray] = []
        self._data = np.zeros((channels, 0), dtype=np.float32)
        self.base = 0
        self._exhausted = False

    @property
    def end(self) -> int:
        return int(self.base + self._data.shape[1] + sum(p.shape[1] for p in self._parts))

    def _pull_until(self, coord: int) -> None:
        target = min(coord, self._length)
        while self.end < target and not self._exhausted:
            try:
                block = next(self._blocks)
            except StopIteration:
                self._exhausted = True
                break
            block = np.asarray(block, dtype=np.float32)
            if block.ndim != 2 or block.shape[1] != self._channels:
                raise ValueError(f"expected (frames, {self._channels}) blocks, got {block.shape}")
            room = self._length - self.end
            if room <= 0:
                self._exhausted = True
                break
            block = block[:room]
            self._parts.append(((block - self._mean) / self._std).T)
        if self._parts:
            self._data = np.concatenate([self._data, *self._parts], axis=1)
            self._parts = []

    def window(self, lo: int, hi: int) -> torch.Tensor:
        """Frames ``[lo, hi)`` as a ``(1, channels, hi - lo)`` tensor, zero beyond the track."""
        self._pull_until(hi)
        if lo < self.base and self.base > 0:
            raise RuntimeError(f"input frames before {self.base} were released too early")
        out = np.zeros((self._channels, hi - lo), dtype=np.float32)
        a, b = max(lo, self.base), min(hi, self.base + self._data.shape[1])
        if b > a:
            out[:, a - lo : b - lo] = self._data[:, a - self.base : b - self.base]
        return torch.from_numpy(out)[None]

    def release_before(self, coord: int) -> None:
        drop = min(coord, self.base + self._data.shape[1]) - self.base
        if drop > 0:
            self._data = self._data[:, drop:].copy()
            self.base += drop


@dataclass
class _Grid:
    """One pass of ``apply_model(split=True)``: one model, one shift offset."""

    model: Any
    model_index: int
    segment: float | None
    segment_length: int
    stride: int
    weight: torch.Tensor
    origin: int  # first chunk starts here (<= 0 when shifted)
    length: int
    sources: int
    channels: int
    index: int = 0
    base: int = 0
    acc: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    wsum: torch.Tensor = field(default_factory=lambda: torch.zeros(0))

    def __post_init__(self) -> None:
        self.base = self.origin
        self.acc = torch.zeros(self.sources, self.channels, 0)
        self.wsum = torch.zeros(0)

    @property
    def chunks(self) -> int:
        span = self.length - self.origin
        return -(-span // self.stride)

    @property
    def next_start(self) -> int | None:
        offset = self.index * self.stride
        return self.origin + offset if offset < self.length - self.origin else None

    def next_input_span(self) -> tuple[int, int] | None:
        start = self.next_start
        if start is None:
            return None
        chunk_len = min(self.length - start, self.segment_length)
        valid = _valid_length(self.model, chunk_len, self.segment)
        delta = valid - chunk_len
        lo = start - delta // 2
        return lo, lo + valid

    def run_next(self, source: _Input, device: torch.device) -> None:
        from demucs.apply import TensorChunk, apply_model

        start = self.next_start
        assert start is not None
        chunk_len = min(self.length - start, self.segment_length)
        span = self.next_input_span()
        assert span is not None
        lo, hi = span
        window = source.window(lo, hi)
        # The chunk sits inside its padded window exactly where apply_model would
        # centre it, so apply_model(split=False) pads nothing and reads real context.
        chunk = TensorChunk(window, start - lo, chunk_len)  # type: ignore[no-untyped-call]
        out = apply_model(
            self.model, chunk, shifts=0, split=False, segment=self.segment, device=device
        )
        out = out.to("cpu")[0]
        self._add(start, out, self.weight[:chunk_len])
        self.index += 1

    def _add(self, start: int, values: torch.Tensor, weight: torch.Tensor) -> None:
        end = start + values.shape[-1]
        need = end - self.base
        if need > self.acc.shape[-1]:
            grow = need - self.acc.shape[-1]
            self.acc = torch.cat([self.acc, torch.zeros(self.sources, self.channels, grow)], -1)
            self.wsum = torch.cat([self.wsum, torch.zeros(grow)])
        a, b = start - self.base, end - self.base
        self.acc[..., a:b] += weight * values
        self.wsum[a:b] += weight

    def take(self, lo: int, hi: int) -> torch.Tensor:
        """Final output for ``[lo, hi)`` (all chunks touching it are done); frees older frames."""
        a, b = lo - self.base, hi - self.base
        assert a >= 0 and b <= self.acc.shape[-1], "asked for frames this grid has not produced"
        out = self.acc[..., a:b] / self.wsum[a:b]
        self.acc = self.acc[..., b:].clone()
        self.wsum = self.wsum[b:].clone()
        self.base = hi
        return out


@dataclass(frozen=True)
class SeparationSettings:
    shifts: int = 1
    overlap: float = 0.25
    segment: float | None = None
    transition_power: float = 1.0
    seed: int | None = 0  # None: draw shift offsets from the global ``random`` like demucs


def _grids(
    model: Any, length: int, opts: SeparationSettings
) -> tuple[list[_Grid], list[list[float]] | None]:
    from demucs.apply import BagOfModels

    if not 0 <= opts.overlap < 1:
        raise ValueError("overlap must be in [0, 1)")
    if opts.shifts < 0:
        raise ValueError("shifts must be >= 0")
    rng: Any = random if opts.seed is None else random.Random(opts.seed)
    if isinstance(model, BagOfModels):
        members: list[Any] = list(model.models)
        weights = [list(w) for w in model.weights]
    else:
        members, weights = [model], None
    grids: list[_Grid] = []
    for index, member in enumerate(members):
        segment = opts.segment if opts.segment is not None else member.segment
        segment_length = int(member.samplerate * segment)
        stride = int((1 - opts.overlap) * segment_length)
        weight = _crossfade_weight(segment_length, opts.transition_power)
        max_shift = int(0.5 * member.samplerate)
        # apply_model draws one offset per (model, shift) in this order.
        origins = [rng.randint(0, max_shift) - max_shift for _ in range(opts.shifts)] or [0]
        for origin in origins:
            grids.append(
                _Grid(
                    member,
                    index,
                    opts.segment,
                    segment_length,
                    stride,
                    weight,
                    origin,
                    length,
                    len(member.sources),
                    member.audio_channels,
                )
            )
    return grids, weights


def separate_stream(
    model: Any,
    blocks: Iterable[np.ndarray],
    length: int,
    *,
    mean: float = 0.0,
    std: float = 1.0,
    settings: SeparationSettings | None = None,
    device: str | torch.device = "cpu",
    progress: ProgressFn | None = None,
) -> Iterator[np.ndarray]:
    """Separate ``length`` frames read from ``blocks`` (``(frames, channels)`` float32).

    Yields ``(sources, channels, frames)`` float32 arrays that together cover the
    track in order. The input is normalised as ``(x - mean) / std`` like
    demucs' ``separate``; outputs are scaled back by ``std`` and the mean is
    shared out across the stems so that a model whose stems sum to its input
    gives stems that sum to the original mix.
    """
    opts = settings or SeparationSettings()
    if length <= 0:
        return
    device = torch.device(device)
    grids, bag_weights = _grids(model, length, opts)
    n_models = 1 + max(g.model_index for g in grids)
    for member in {id(g.model): g.model for g in grids}.values():
        member.to(device)
        member.eval()
    channels = int(model.audio_channels)
    n_sources = len(model.sources)
    source = _Input(blocks, length, channels, mean, std)
    total = sum(g.chunks for g in grids)
    history = max(g.segment_length for g in grids)
    done = 0
    emitted = 0
    while True:
        pending = [g for g in grids if g.next_start is not None]
        if not pending:
            break
        grid = min(pending, key=lambda g: g.next_start)  # type: ignore[arg-type, return-value]
        with torch.no_grad():
            grid.run_next(source, device)
        done += 1
        if progress is not None:
            progress(done, total)
        ready = min(length, *(g.next_start if g.next_start is not None else length for g in grids))
        if ready > emitted:
            yield _combine(
                grids, bag_weights, n_models, opts.shifts, emitted, ready, n_sources, std, mean
            )
            emitted = ready
        spans = [g.next_input_span() for g in grids]
        starts = [s[0] for s in spans if s is not None]
        # One extra segment of history covers later chunks whose centred padding
        # reaches further back than the next one's (short last chunks, big overlaps).
        source.release_before(min(starts) - history if starts else length)
    if emitted < length:  # only when every grid ended before the track did (cannot happen)
        raise RuntimeError("separation stopped before the end of the track")


def _combine(
    grids: list[_Grid],
    bag_weights: list[list[float]] | None,
    n_models: int,
    shifts: int,
    lo: int,
    hi: int,
    n_sources: int,
    std: float,
    mean: float,
) -> np.ndarray:
    per_model: list[torch.Tensor | float] = [0.0] * n_models
    for grid in grids:
        per_model[grid.model_index] = per_model[grid.model_index] + grid.take(lo, hi)
    outs: list[torch.Tensor] = []
    for value in per_model:
        assert isinstance(value, torch.Tensor)
        outs.append(value / shifts if shifts else value)
    if bag_weights is None:
        estimate = outs[0]
    else:
        totals = [0.0] * n_sources
        estimate_acc: torch.Tensor | float = 0.0
        for out, weights in zip(outs, bag_weights, strict=True):
            for k, inst_weight in enumerate(weights):
                out[k] *= inst_weight
                totals[k] += inst_weight
            estimate_acc = estimate_acc + out
        assert isinstance(estimate_acc, torch.Tensor)
        estimate = estimate_acc
        for k in range(n_sources):
            estimate[k] /= totals[k]
    result = estimate * float(std) + float(mean) / n_sources
    samples: np.ndarray = result.numpy().astype(np.float32, copy=False)
    return samples
