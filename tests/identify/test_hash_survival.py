"""The hash-survival benchmark measures what a vinyl speed change costs a fingerprint."""

from __future__ import annotations

import soxr

from benchmarks.identify_hash_survival import survival, vinyl_copy
from core.identify import fingerprint as fp
from tests.identify.synth import SR, song


def test_survival_falls_with_speed_and_a_shorter_mix_neighbourhood_recovers_some() -> None:
    x = soxr.resample(song(5, 30.0), SR, fp.SAMPLE_RATE).astype("float32")
    same = survival(x, vinyl_copy(x, 1.0), 1.0)
    fast = survival(x, vinyl_copy(x, 1.08), 1.08)
    # Half a frame of misalignment alone keeps nearly every peak...
    assert same.peaks > 0.9 and same.triplets > 0.7
    # ... +8 % loses peaks, and a triplet needs all three of its peaks.
    assert fast.peaks < same.peaks and fast.triplets < same.triplets - 0.1
    assert fast.ranges > 0 and 5 < fast.ranges / fast.query_triplets < 20
    # Mix peaks over ±9 frames (10 / 1.08) keep more of the library's triplets.
    shorter = survival(x, vinyl_copy(x, 1.08), 1.08, query_half_t=9)
    assert shorter.triplets > fast.triplets + 0.03
    assert fp.PEAK_HALF_T == 10  # the benchmark's change of the mix side is undone
