"""Three-band DJ EQ per deck: Linkwitz-Riley crossovers near 200 Hz and 2 kHz, smoothed gains.

The split is the classic 4th-order Linkwitz-Riley tree: ``low = LP200(x)`` followed by a
2 kHz all-pass (so it keeps the same phase as the other two), ``rest = HP200(x)``,
``mid = LP2000(rest)``, ``high = HP2000(rest)``. The three bands sum to an all-pass, so
with every band at 0 dB the magnitude is flat, and killing one band leaves the other
two untouched (a 60 Hz tone falls by ~40 dB with the low band cut; 3 kHz does not move).

Hand-written in numpy rather than taken from ``scipy.signal`` because scipy is not on
the Pi's requirement list (a ~40 MB install for one function). An IIR filter run
sample by sample in Python would cost milliseconds per block, so the whole crossover
(an LTI system with a small state vector) is run *block-wise* instead: for a sub-block
of ``S`` samples the outputs of all three bands and the state after the sub-block are
one matrix product ``[bands; state'] = M @ [x; state]``, with ``M`` precomputed once
from the biquads' impulse and state responses. That is exact (no approximation of the
recursion) and one BLAS call per 64 samples.

Gain changes are smoothed with a one-pole glide (about 15 ms), interpolated linearly
per sample inside each block, so moving a knob never clicks. A deck whose three gains
are flat and settled bypasses the EQ entirely (bit-exact, no CPU); switching it in or
out crossfades between the dry and the filtered signal over the same glide.
"""

from __future__ import annotations

import functools
import math

import numpy as np

LOW_HZ = 200.0
HIGH_HZ = 2000.0
MAX_BOOST_DB = 6.0
BANDS = ("low", "mid", "high")
SUB_BLOCK = 64
GLIDE_S = 0.015
# Below this difference a gain counts as arrived (about -100 dB of the step).
_SETTLED = 1e-5


def band_index(name: str) -> int:
    """``low``/``mid``/``high``, case-insensitive; Crowdstream's prefixes ``lo``/``mi``/``hi`` too."""
    text = name.strip().lower()
    for i, prefix in enumerate(("lo", "mi", "hi")):
        if text.startswith(prefix) and BANDS[i].startswith(text):
            return i
    raise ValueError(f"band must be low, mid or high, got {name!r}")


def db_to_gain(db: float) -> float:
    """-inf dB (or anything under -120 dB) is a full cut."""
    return 0.0 if db < -120.0 else 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float | None:
    """None for a full cut (JSON has no -inf)."""
    return None if gain <= 1e-6 else round(20.0 * math.log10(gain), 2)


def crowdstream_percent_to_gain(percent: float, max_cut_db: float = 24.0) -> float:
    """Crowdstream's knob: 0 % kills the band, (0, 50) % is -24..0 dB, 50 % and above flat."""
    if percent <= 0.0:
        return 0.0
    if percent >= 50.0:
        return 1.0
    return 10.0 ** ((percent / 50.0 - 1.0) * max_cut_db / 20.0)


# ---- filter design (control thread, once per engine) -----------------------------------


def _biquad(kind: str, f0: float, sr: int, q: float = 1.0 / math.sqrt(2.0)) -> np.ndarray:
    """RBJ cookbook biquad ``[b0, b1, b2, a1, a2]`` (a0 normalised to 1)."""
    w0 = 2.0 * math.pi * f0 / sr
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    if kind == "lp":
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
    elif kind == "hp":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
    else:  # all-pass; with Q = 1/sqrt(2) it equals an LR4 low-pass plus high-pass
        b = [1 - alpha, -2 * cw, 1 + alpha]
    a0 = 1 + alpha
    return np.array([b[0] / a0, b[1] / a0, b[2] / a0, -2 * cw / a0, (1 - alpha) / a0])


class _Topology:
    """Scalar reference implementation of the crossover, used only to build the block
    matrices. Each biquad is transposed direct form II with two state variables."""

    def __init__(self, sr: int):
        lp_lo, hp_lo = _biquad("lp", LOW_HZ, sr), _biquad("hp", LOW_HZ, sr)
        lp_hi, hp_hi = _biquad("lp", HIGH_HZ, sr), _biquad("hp", HIGH_HZ, sr)
        ap_hi = _biquad("ap", HIGH_HZ, sr)
        # Chains (input of each chain: x or the output of another chain).
        self.chains = {
            "low": [lp_lo, lp_lo, ap_hi],
            "rest": [hp_lo, hp_lo],
            "mid": [lp_hi, lp_hi],
            "high": [hp_hi, hp_hi],
        }
        self.n_state = 2 * sum(len(c) for c in self.chains.values())

    def step(self, x: float, state: np.ndarray) -> tuple[float, float, float]:
        k = 0

        def run(chain: list[np.ndarray], v: float) -> float:
            nonlocal k
            for b0, b1, b2, a1, a2 in chain:
                y = b0 * v + state[k]
                state[k] = b1 * v - a1 * y + state[k + 1]
                state[k + 1] = b2 * v - a2 * y
                v = y
                k += 2
            return v

        low = run(self.chains["low"], x)
        rest = run(self.chains["rest"], x)
        mid = run(self.chains["mid"], rest)
        high = run(self.chains["high"], rest)
        return low, mid, high

    def block_matrix(self, s: int) -> np.ndarray:
        """``M`` with ``[low(s); mid(s); high(s); state'] = M @ [x(s); state]``."""
        n = self.n_state
        m = np.zeros((3 * s + n, s + n))
        for col in range(s + n):
            state = np.zeros(n)
            if col >= s:
                state[col - s] = 1.0
            for t in range(s):
                x = 1.0 if t == col else 0.0
                low, mid, high = self.step(x, state)
                m[t, col], m[s + t, col], m[2 * s + t, col] = low, mid, high
            m[3 * s :, col] = state
        return m


class EqDesign:
    """Block matrices for one sample rate, shared by every deck's :class:`DeckEq`."""

    def __init__(self, sample_rate: int):
        topo = _Topology(sample_rate)
        self.n_state = topo.n_state
        # Sub-block sizes: SUB_BLOCK for the bulk, powers of two for any remainder, so a
        # block of any length is covered without a matrix per length.
        self.sizes = [SUB_BLOCK >> i for i in range(int(math.log2(SUB_BLOCK)) + 1)]
        self.matrices = {s: topo.block_matrix(s) for s in self.sizes}
        self.glide = 1.0 - math.exp(-1.0 / (GLIDE_S * sample_rate))


@functools.lru_cache(maxsize=4)
def design_for(sample_rate: int) -> EqDesign:
    """Shared, read-only design per sample rate (building one takes ~0.1 s of Python)."""
    return EqDesign(sample_rate)


class DeckEq:
    """One deck's EQ state. :meth:`process` runs on the audio thread and allocates nothing."""

    def __init__(self, design: EqDesign, max_block: int):
        self.design = design
        n = design.n_state
        self.state = np.zeros((n, 2))
        self.target = [1.0, 1.0, 1.0]
        self.gain = [1.0, 1.0, 1.0]
        self.wet = 0.0  # 0 = bypassed, 1 = fully filtered
        self._stack = np.zeros((SUB_BLOCK + n, 2))
        self._res = np.zeros((3 * SUB_BLOCK + n, 2))
        self._mix = np.zeros((max_block, 2))
        self._tmp = np.zeros((SUB_BLOCK, 2))
        self._ramps = np.zeros((4, max_block, 1))
        self._i = np.arange(1, max_block + 1, dtype=np.float64)[:, None]

    @property
    def flat(self) -> bool:
        return self.target == [1.0, 1.0, 1.0]

    @property
    def active(self) -> bool:
        return self.wet > 0.0 or not self.flat

    def set_gain(self, band: int, gain: float) -> None:
        self.target[band] = gain

    def reset(self) -> None:
        """Forget filter history (new track); gains keep their settings."""
        self.state.fill(0.0)
        self.wet = 0.0
        self.gain = list(self.target)

    def _glide_to(self, start: float, target: float, frames: int, out: np.ndarray) -> float:
        """Fill ``out`` (frames, 1) with a per-sample linear ramp towards the one-pole
        glide's value at the end of the block; returns that value."""
        end = target + (start - target) * (1.0 - self.design.glide) ** frames
        if abs(end - target) < _SETTLED:
            end = target
        if end == start:
            out[:frames] = start
        else:
            np.multiply(self._i[:frames], (end - start) / frames, out=out[:frames])
            out[:frames] += start
        return end

    def process(self, buf: np.ndarray) -> None:
        """Filter ``buf`` (frames, 2) float32 in place."""
        if not self.active:
            return
        frames = buf.shape[0]
        wet_target = 0.0 if self.flat and self.gain == [1.0, 1.0, 1.0] else 1.0
        ramps = self._ramps
        for b in range(3):
            self.gain[b] = self._glide_to(self.gain[b], self.target[b], frames, ramps[b])
        self.wet = self._glide_to(self.wet, wet_target, frames, ramps[3])
        mix = self._mix[:frames]
        state, stack, res = self.state, self._stack, self._res
        done = 0
        for size in self.design.sizes:
            m = self.design.matrices[size]
            while frames - done >= size:
                end = done + size
                stack[:size] = buf[done:end]
                stack[size : size + state.shape[0]] = state
                np.matmul(m, stack[: size + state.shape[0]], out=res[: 3 * size + state.shape[0]])
                seg = mix[done:end]
                np.multiply(res[:size], ramps[0, done:end], out=seg)
                tmp = self._tmp[:size]
                np.multiply(res[size : 2 * size], ramps[1, done:end], out=tmp)
                seg += tmp
                np.multiply(res[2 * size : 3 * size], ramps[2, done:end], out=tmp)
                seg += tmp
                state[:] = res[3 * size : 3 * size + state.shape[0]]
                done = end
        # Dry/wet crossfade (only while switching in or out).
        wet = ramps[3, :frames]
        if self.wet == 1.0 and wet[0, 0] == 1.0:
            buf[:] = mix
        else:
            mix -= buf
            mix *= wet
            buf += mix
        if self.wet == 0.0:
            # Switched out: the next switch-in starts from silence, not stale history.
            self.state.fill(0.0)
