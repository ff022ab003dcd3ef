"""Which files a request produces, and how each is made from the separated stems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import BadInput

HPSS_NAMES = ("harmonic", "percussive")


@dataclass(frozen=True)
class OutputSpec:
    """One output file: a model stem, a sum of stems, or a part of the HPSS split."""

    name: str  # file name without extension
    kind: str  # "stem" | "mix" | "hpss"
    sources: tuple[str, ...] = ()  # the model stems summed into it

    def render(self, block: np.ndarray, index: dict[str, int]) -> np.ndarray:
        """``(frames, channels)`` float32 from a ``(sources, channels, frames)`` stem block.

        Mixes are summed in float64 from the raw float stems, before any gain
        or clipping, so a backing track keeps the stems' relative levels.
        """
        if self.kind == "hpss":
            raise ValueError("HPSS outputs come from the input, not from the stems")
        rows = [index[name] for name in self.sources]
        if len(rows) == 1:
            return np.ascontiguousarray(block[rows[0]].T)
        total = block[rows].astype(np.float64).sum(axis=0)
        return np.ascontiguousarray(total.T, dtype=np.float32)


def _check_stem(name: str, available: Sequence[str], model: str, flag: str) -> str:
    if name not in available:
        raise BadInput(
            f"{flag} {name}: model {model} has no stem '{name}'; its stems are "
            f"{', '.join(available)}"
        )
    return name


def plan_outputs(
    available: Sequence[str],
    model: str,
    *,
    stems: Sequence[str] | None = None,
    minus: str | None = None,
    two_stems: str | None = None,
    hpss: bool = False,
) -> list[OutputSpec]:
    """The files to write, validated against the model's stems.

    ``two_stems=X`` writes ``X`` and ``no_X`` only (demucs' ``--two-stems``);
    ``minus=X`` adds ``no_X`` (every other stem summed) to the chosen stems.
    """
    available = list(available)
    if two_stems and (stems or minus):
        raise BadInput("--two-stems cannot be combined with --stems or --minus")
    if two_stems:
        name = _check_stem(two_stems, available, model, "--two-stems")
        rest = tuple(s for s in available if s != name)
        outputs = [OutputSpec(name, "stem", (name,)), OutputSpec(f"no_{name}", "mix", rest)]
    else:
        chosen = list(dict.fromkeys(stems)) if stems else available
        if not chosen:
            raise BadInput("--stems: name at least one stem")
        outputs = [
            OutputSpec(_check_stem(s, available, model, "--stems"), "stem", (s,)) for s in chosen
        ]
        if minus:
            name = _check_stem(minus, available, model, "--minus")
            if len(available) < 2:
                raise BadInput(f"--minus {name}: model {model} has no other stem to keep")
            outputs.append(
                OutputSpec(f"no_{name}", "mix", tuple(s for s in available if s != name))
            )
    if hpss:
        outputs += [OutputSpec(name, "hpss") for name in HPSS_NAMES]
    return outputs
