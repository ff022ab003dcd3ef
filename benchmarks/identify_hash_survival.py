"""How much of a track's fingerprint survives a vinyl speed change (peaks and triplets).

    python benchmarks/identify_hash_survival.py [--audio FOLDER] [--tracks 6]
        [--speeds 0.92,0.95,1.0,1.05,1.08] [--lowpass HZ] [--query-half-t N]
        [--df-jitter X] [--r-jitter X]

For each speed, plays a minute of each track (from 30 s in) resampled like a
record (pitch moves with the speed), optionally through a low-pass (a filter
sweep's closed end), and prints:

* peak survival: the share of the track's peaks found again in the copy (within
  1.5 frames of where the speed puts them and 1 log bin of their shifted pitch),
* triplet survival: the share of its library triplets that the copy's query
  ranges (``query_ranges``) hit at the right time, which is what matching sees,
* ranges per query triplet: the lookup cost.

``--query-half-t``, ``--df-jitter`` and ``--r-jitter`` change the mix side only
(peak neighbourhood in frames, query tolerances), so tolerances can be tried
without an index. This is how the vinyl/keylock gap was traced to peaks, not
to the hash features (see the design notes in ``core/identify/fingerprint.py``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.identify_mixgen import load_sources  # noqa: E402
from core.audio import decode_blocks  # noqa: E402
from core.identify import fingerprint as fp  # noqa: E402


@dataclass
class Survival:
    peaks: float  # share of the original's peaks found again
    triplets: float  # share of its library triplets the copy's query ranges hit
    ranges: int  # key ranges the copy's query triplets probe
    query_triplets: int


def _mix_peaks(y: np.ndarray, half_t: int | None) -> fp.Peaks:
    """Peaks of the played copy, with the mix side's peak neighbourhood changed."""
    saved = fp.PEAK_HALF_T
    try:
        if half_t is not None:
            fp.PEAK_HALF_T = half_t
        return fp.peaks_from_samples(y)
    finally:
        fp.PEAK_HALF_T = saved


# The copy starts half a frame late: a mix's frames never line up with the
# library's, and at speed 1.0 an aligned copy would be trivially identical.
OFFSET = fp.HOP // 2


def vinyl_copy(x: np.ndarray, speed: float) -> np.ndarray:
    """``x`` (8 kHz) played ``speed`` times as fast on a turntable, OFFSET samples in."""
    y = soxr.resample(x, fp.SAMPLE_RATE * speed, fp.SAMPLE_RATE).astype(np.float32)
    return y[OFFSET:]


def survival(
    x: np.ndarray, y: np.ndarray, speed: float, query_half_t: int | None = None
) -> Survival:
    """What of ``x``'s fingerprint (8 kHz) its vinyl copy ``y`` at ``speed`` keeps."""
    ref = fp.peaks_from_samples(x)
    mix = _mix_peaks(y, query_half_t)
    shift = fp.BINS_PER_OCTAVE * np.log2(speed)
    found = 0
    at = (ref.t * fp.HOP / speed - OFFSET) / fp.HOP  # where each peak lands in the copy
    for t, f in zip(at, ref.f + shift, strict=True):
        lo, hi = np.searchsorted(mix.t, t - 1.5), np.searchsorted(mix.t, t + 1.5)
        found += bool(hi > lo and np.min(np.abs(mix.f[lo:hi] - f)) < 1.0)
    ref_tr = fp.triplets(ref, fp.REF_FANOUT)
    keys = fp.ref_keys(ref_tr).astype(np.int64)
    mix_tr = fp.triplets(mix, fp.QUERY_FANOUT)
    lo_k, hi_k, owner = fp.query_ranges(mix_tr)
    order = np.argsort(keys, kind="stable")
    a, b = np.searchsorted(keys[order], lo_k), np.searchsorted(keys[order], hi_k)
    hit = np.zeros(len(keys), bool)
    # Hand-written loop over the probes that hit anything: a few thousand a track.
    for i in np.flatnonzero(b > a):
        cand = order[a[i] : b[i]]
        was = (mix_tr.t1[owner[i]] * fp.HOP + OFFSET) * speed / fp.HOP
        hit[cand[np.abs(ref_tr.t1[cand] - was) <= 1.5]] = True
    return Survival(
        peaks=found / max(len(ref), 1),
        triplets=float(hit.mean()) if len(hit) else 0.0,
        ranges=len(lo_k),
        query_triplets=len(mix_tr),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument("--tracks", type=int, default=6)
    parser.add_argument("--speeds", default="0.92,0.95,1.0,1.05,1.08")
    parser.add_argument("--lowpass", type=float, help="low-pass the copy at this frequency")
    parser.add_argument("--query-half-t", type=int, help="mix peak neighbourhood (frames)")
    parser.add_argument("--df-jitter", type=float, help="query tolerance of df (log bins)")
    parser.add_argument("--r-jitter", type=float, help="query tolerance of r (frames)")
    args = parser.parse_args()
    if args.df_jitter is not None:
        fp.DF_JITTER = args.df_jitter
    if args.r_jitter is not None:
        fp.R_JITTER_FRAMES = args.r_jitter
    speeds = [float(s) for s in args.speeds.split(",")]
    sources = load_sources(args.audio)
    picked = sources[:: max(1, len(sources) // args.tracks)][: args.tracks]
    totals = {s: [0.0, 0.0, 0, 0, 0] for s in speeds}
    for src in picked:
        x = np.concatenate([b[:, 0] for b in decode_blocks(src.file, fp.SAMPLE_RATE, 1)])
        x = x[30 * fp.SAMPLE_RATE : 90 * fp.SAMPLE_RATE].astype(np.float32)
        if len(x) < 20 * fp.SAMPLE_RATE:
            continue
        for s in speeds:
            y = vinyl_copy(x, s)
            if args.lowpass:
                from scipy.signal import butter, sosfilt

                sos = butter(4, args.lowpass, fs=fp.SAMPLE_RATE, output="sos")
                y = sosfilt(sos, y).astype(np.float32)
            got = survival(x, y, s, args.query_half_t)
            t = totals[s]
            t[0] += got.peaks
            t[1] += got.triplets
            t[2] += got.ranges
            t[3] += got.query_triplets
            t[4] += 1
        print(f"{src.file.name}: done", flush=True)
    for s, (pk, tr, rg, qt, n) in totals.items():
        if n:
            print(
                f"speed {s:.2f}: peak survival {pk / n:.3f}, triplet survival {tr / n:.3f}, "
                f"{rg / max(qt, 1):.1f} ranges per query triplet ({rg} ranges)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
