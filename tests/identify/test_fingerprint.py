"""Fingerprints survive vinyl and keylock speed changes; the index stays small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soxr

from core.identify import fingerprint as fp
from core.identify.index import FingerprintIndex, pack_values, unpack_values
from core.identify.lookup import StreamingMatcher
from core.identify.matching import find_plays
from tests.identify.synth import SR, song


def _to8k(x: np.ndarray) -> np.ndarray:
    return soxr.resample(x, SR, fp.SAMPLE_RATE).astype(np.float32)


def _vinyl(x: np.ndarray, speed: float) -> np.ndarray:
    return soxr.resample(x, SR * speed, SR).astype(np.float32)


def _keylock(x: np.ndarray, speed: float) -> np.ndarray:
    import pedalboard

    return pedalboard.time_stretch(x[None, :], SR, stretch_factor=speed)[0]


@pytest.fixture(scope="module")
def one_song_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[FingerprintIndex, np.ndarray]:
    x = song(7, 45.0)
    index = FingerprintIndex(tmp_path_factory.mktemp("ix"))
    print_ = fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(x)))
    decoy = fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(song(8, 45.0))))
    index.add([(1, print_), (2, decoy)])
    return index, x


def _identify(index: FingerprintIndex, y8k: np.ndarray):
    matcher = StreamingMatcher(index, None)
    peaks = fp.peaks_from_samples(y8k)
    matcher.feed(peaks)
    return find_plays(matcher.finish())


@pytest.mark.parametrize(
    "mode,speed",
    [
        ("vinyl", 0.92),
        ("vinyl", 1.08),
        ("keylock", 0.92),
        ("keylock", 1.08),
        ("vinyl", 1.0),
    ],
)
def test_excerpt_found_at_any_speed(one_song_index, mode: str, speed: float) -> None:
    index, x = one_song_index
    excerpt = x[5 * SR : 35 * SR]
    played = _vinyl(excerpt, speed) if mode == "vinyl" else _keylock(excerpt, speed)
    mix = np.concatenate([np.zeros(10 * SR, np.float32), played, np.zeros(5 * SR, np.float32)])
    plays = _identify(index, _to8k(mix))
    assert len(plays) == 1, plays
    play = plays[0]
    assert play.track_id == 1
    assert play.speed == pytest.approx(speed, abs=0.01)
    assert play.start_s == pytest.approx(10.0, abs=2.0)
    assert play.ref_start_s == pytest.approx(5.0, abs=2.0)
    # vinyl moves the pitch with the speed, keylock keeps it
    expected = 12 * np.log2(speed) if mode == "vinyl" else 0.0
    assert play.pitch_shift == pytest.approx(expected, abs=0.4)


def test_pair_style_hash_would_fail_where_triplets_hold(one_song_index) -> None:
    """Sanity check of the premise: at +8 % most raw (f1, f2, dt) pairs change."""
    _, x = one_song_index
    a = fp.peaks_from_samples(_to8k(x[: 30 * SR]))
    b = fp.peaks_from_samples(_to8k(_vinyl(x[: 30 * SR], 1.08)))

    def pairs(p: fp.Peaks) -> set[tuple[int, int, int]]:
        out = set()
        for i in range(len(p) - 1):
            j = i + 1
            out.add((int(p.f[i]), int(p.f[j]), int(p.t[j] - p.t[i])))
        return out

    shared = len(pairs(a) & pairs(b)) / len(pairs(a))
    assert shared < 0.1


def test_noise_alone_matches_nothing(one_song_index) -> None:
    index, _ = one_song_index
    rng = np.random.default_rng(0)
    assert _identify(index, rng.normal(0, 0.1, 40 * fp.SAMPLE_RATE).astype(np.float32)) == []


def test_silence_has_no_fingerprint() -> None:
    print_ = fp.reference_fingerprint(
        fp.iter_blocks_mono(np.zeros(10 * fp.SAMPLE_RATE, np.float32))
    )
    assert len(print_.keys) == 0


def test_peaks_do_not_depend_on_block_size() -> None:
    x = _to8k(song(3, 20.0))
    a, _ = fp.peaks_from_blocks([x[i : i + 1000] for i in range(0, len(x), 1000)])
    b, _ = fp.peaks_from_blocks([x])
    assert np.array_equal(a.t, b.t) and np.allclose(a.f, b.f)


def test_index_budget_per_hour() -> None:
    x = _to8k(song(11, 60.0))
    print_ = fp.reference_fingerprint(fp.iter_blocks_mono(x))
    mb_per_hour = len(print_.keys) * 12 / 1e6 * 3600 / print_.duration_s
    assert 0.3 < mb_per_hour <= 3.0


def test_pack_unpack_roundtrip() -> None:
    t1 = np.array([0, 5, 1_000_000])
    dt = np.array([10, 62, 33])
    f1 = np.array([0.0, 12.25, 100.5], dtype=np.float32)
    u = unpack_values(pack_values(123_456, t1, dt, f1))
    assert list(u.track) == [123_456] * 3
    assert list(u.t1) == list(t1) and list(u.dt13) == list(dt)
    assert np.allclose(u.f1, f1)


def test_query_ranges_cover_reference_keys_under_speed_change(one_song_index) -> None:
    """Every triplet's ranges hold the key its reference triplet was stored under,
    also when the reference ``t3 - t1`` is 8 % longer or shorter."""
    _, x = one_song_index
    tr = fp.triplets(fp.peaks_from_samples(_to8k(x[: 20 * SR])), fp.REF_FANOUT)
    lo, hi, owner = fp.query_ranges(tr)
    assert (hi > lo).all()
    for factor in (1.0, 1.08, 1 / 1.08):
        moved = fp.Triplets(
            tr.t1, np.round(tr.dt13 * factor).astype(np.int64), tr.f1, tr.r, tr.df12, tr.df13
        )
        inside = moved.dt13 <= fp.DT_MAX
        ref = fp.ref_keys(moved).astype(np.int64)
        hit = np.zeros(len(tr), bool)
        hit[owner[(lo <= ref[owner]) & (ref[owner] < hi)]] = True
        assert hit[inside].all()
    assert len(lo) / len(tr) < 20  # ranges per triplet stay bounded


def test_query_ranges_hold_exactly_the_speed_and_pitch_gates(one_song_index) -> None:
    """Every reference (t3 - t1, anchor) the speed and pitch gates accept lies in one
    of the query's ranges, and no range is wider than the speed gate."""
    _, x = one_song_index
    tr = fp.triplets(fp.peaks_from_samples(_to8k(x[: 10 * SR])), fp.QUERY_FANOUT)
    tr = fp.Triplets(*(getattr(tr, f)[::25] for f in ("t1", "dt13", "f1", "r", "df12", "df13")))
    lo, hi, owner = fp.query_ranges(tr)
    dlo, dhi = fp.dt13_range(tr.dt13[owner])
    assert (hi - lo <= np.minimum(dhi, fp.DT_MAX) - np.maximum(dlo, fp.DT13_MIN) + 1).all()
    # Every (query, reference t3 - t1, stored reference anchor) combination.
    q, dt, f1 = np.meshgrid(
        np.arange(len(tr)),
        np.arange(fp.DT13_MIN, fp.DT_MAX + 1),
        np.arange(-16, 17) / 4 + 0.1,
        indexing="ij",
    )
    q, dt = q.ravel(), dt.ravel()
    ref_f1 = np.clip(tr.f1[q] + f1.ravel(), 0, fp.N_BINS - 1)
    stored = np.round(ref_f1 * 4) / 4  # as ``pack_values`` keeps it
    qlo, qhi = fp.dt13_range(tr.dt13[q])
    accepted = (dt >= qlo) & (dt <= qhi) & fp.pitch_gate(tr.f1[q] - stored, dt, tr.dt13[q])
    key = fp._combine(
        fp._q_r(tr.r[q]),
        fp._q_df(tr.df12[q]),
        fp._q_df(tr.df13[q]),
        fp._q_f1(stored),
        fp._q_dt(dt),
    ).astype(np.int64)
    # Ranges of one query do not overlap, so one search finds the candidate.
    code = q * fp.KEY_SPACE + key
    starts = owner * fp.KEY_SPACE + lo
    order = np.argsort(starts)
    at = np.clip(np.searchsorted(starts[order], code, side="right") - 1, 0, None)
    inside = (starts[order][at] <= code) & (code < (owner * fp.KEY_SPACE + hi)[order][at])
    assert accepted.sum() > 1000
    assert inside[accepted].all()
    assert inside.sum() < ((dt >= qlo) & (dt <= qhi)).sum()  # the pitch cut bites


def test_index_version_mismatch_is_clear(tmp_path: Path) -> None:
    from core.errors import BadInput

    index = FingerprintIndex(tmp_path)
    (tmp_path / "manifest.json").write_text('{"version": "old", "segments": [], "next": 1}')
    with pytest.raises(BadInput, match="another version"):
        index.lookup(np.array([1], np.uint32))
