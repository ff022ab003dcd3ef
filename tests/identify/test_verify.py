"""Stored reference peaks and the second look at weak plays (peak_store.py, verify.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.identify import fingerprint as fp
from core.identify import matching
from core.identify.index import FingerprintIndex
from core.identify.matching import LocalPlay, Matches, find_plays
from core.identify.peak_store import PeakStore
from core.identify.verify import PeakVerifier, RefPeaks
from tests.identify.synth import song

TRACK = 7


def _ref_peaks(rng: np.random.Generator, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """A track's peaks: ~22 a second, spread over the log bins as music's are."""
    n = int(22 * seconds)
    t = np.sort(rng.integers(0, int(seconds / fp.FRAME_S), n)).astype(np.int64)
    return t, rng.uniform(2, fp.N_BINS - 2, n).astype(np.float32)


def _mix_peaks(
    rng: np.random.Generator,
    ref: tuple[np.ndarray, np.ndarray],
    speed: float,
    icpt: float,
    span: tuple[int, int],
    survive: float,
    vinyl: bool = False,
    clutter_per_s: float = 40.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mix peaks: ``survive`` of the track's peaks on the line ``rt = speed * qt +
    icpt`` inside ``span``, jittered as a club jitters them, in a clutter of others."""
    rt, rf = ref
    qt = (rt - icpt) / speed
    keep = (qt >= span[0]) & (qt < span[1]) & (rng.uniform(0, 1, len(qt)) < survive)
    qt = qt[keep] + rng.normal(0, 0.5, keep.sum())
    f = rf[keep] + rng.normal(0, 0.3, keep.sum())
    if vinyl:
        f = f + fp.BINS_PER_OCTAVE * np.log2(speed)
    frames = span[1] + 2000
    n = int(clutter_per_s * frames * fp.FRAME_S)
    ct = rng.uniform(0, frames, n)
    cf = rng.uniform(2, fp.N_BINS - 2, n)
    t = np.concatenate([np.round(qt), np.round(ct)]).astype(np.int32)
    return t, np.concatenate([f, cf]).astype(np.float16)


def _verifier(mix: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray] | None):
    return PeakVerifier(mix[0], mix[1], lambda code: ref if code == TRACK else None)


def test_peak_store_round_trip_and_cleanup(tmp_path: Path) -> None:
    store = PeakStore(tmp_path / "peaks")
    assert store.read(3) is None  # nothing stored: the matcher falls back to triplets
    peaks = fp.Peaks(
        np.array([5, 9, 60000], np.int64),
        np.array([1.23, 57.5, 120.01], np.float32),
        np.zeros(3, np.float32),
    )
    store.write(3, peaks)
    store.write(4, peaks)
    t, f = store.read(3)
    assert t.tolist() == [5, 9, 60000]
    assert np.abs(f - peaks.f).max() <= 0.5 / 64 + 1e-6
    # A gap too long for 16 bits: whole frame numbers.
    store.write(6, fp.Peaks(np.array([5, 400000], np.int64), peaks.f[:2], peaks.m[:2]))
    assert store.read(6)[0].tolist() == [5, 400000]
    (tmp_path / "peaks" / "5.npy").write_bytes(b"\x93NUMPY torn")
    assert store.read(5) is None  # a torn file is no stored peaks, not a crash
    store.keep_only({4})
    assert store.read(3) is None and store.read(4) is not None
    store.clear()
    assert store.read(4) is None


def test_index_keeps_the_peaks_of_the_tracks_it_indexes(tmp_path: Path) -> None:
    index = FingerprintIndex(tmp_path)
    samples = song(3, seconds=12)
    print_ = fp.reference_fingerprint(fp.iter_blocks_mono(samples))
    assert print_.peaks is not None and len(print_.peaks) > 100
    index.add([(11, print_), (12, print_)])
    t, f = index.peaks.read(11)
    assert np.array_equal(t, print_.peaks.t)
    # A merge that leaves a track behind takes its peaks along.
    index.compact({12}, force=True)
    assert index.peaks.read(11) is None and index.peaks.read(12) is not None
    index.reset()
    assert index.peaks.read(12) is None


@pytest.mark.parametrize("vinyl", [False, True])
def test_a_weak_line_is_confirmed_by_its_surviving_peaks(vinyl: bool) -> None:
    rng = np.random.default_rng(1 + vinyl)
    ref = _ref_peaks(rng, 180)
    speed, icpt = 1.05, 3000.0
    span = (2000, 2000 + int(25 / fp.FRAME_S))
    # A fifth of the peaks survive (a club keeps 10-35 %), in twice as many others.
    mix = _mix_peaks(rng, ref, speed, icpt, span, 0.2, vinyl)
    v = _verifier(mix, ref)
    assert v.evidence(TRACK, speed, icpt, *span) >= matching.PEAK_SIGNIFICANCE
    # The same track a few seconds off, another track, no stored peaks: no evidence.
    assert v.evidence(TRACK, speed, icpt + 3.3 / fp.FRAME_S, *span) < 4
    other = _verifier(mix, _ref_peaks(np.random.default_rng(99), 180))
    assert other.evidence(TRACK, speed, icpt, *span) < 4
    assert v.evidence(TRACK + 1, speed, icpt, *span) == 0.0


def _weak_matches(rng: np.random.Generator, speed: float, icpt: float) -> Matches:
    """Fourteen inliers over 20 s (two seeds of ~7, a chain too light for triplets
    alone) among the track's chance matches."""
    q_t = np.sort(rng.uniform(2000, 2000 + 20 / fp.FRAME_S, 14))
    r_t = speed * q_t + icpt + rng.normal(0, 1.0, len(q_t))
    q_b = rng.uniform(0, 6000, 60)
    r_b = rng.uniform(0, 20000, 60)
    q, r = np.concatenate([q_t, q_b]), np.concatenate([r_t, r_b])
    return Matches(
        np.full(len(q), TRACK, np.int64),
        q.astype(np.int32),
        np.maximum(r, 0).astype(np.int32),
        np.zeros(len(q), np.float16),
    )


def test_find_plays_takes_a_weak_play_only_when_its_peaks_confirm_it() -> None:
    rng = np.random.default_rng(7)
    ref = _ref_peaks(rng, 180)
    speed, icpt = 0.96, 2500.0
    span = (2000, 2000 + int(20 / fp.FRAME_S))
    m = _weak_matches(rng, speed, icpt)
    assert find_plays(Matches(m.track, m.qt, m.rt, m.pitch)) == []  # triplets alone: too few
    heard = _verifier(_mix_peaks(rng, ref, speed, icpt, span, 0.2), ref)
    plays = find_plays(Matches(m.track, m.qt, m.rt, m.pitch), heard)
    assert len(plays) == 1
    play = plays[0]
    assert play.track_id == TRACK and play.peak_evidence >= matching.PEAK_SIGNIFICANCE
    assert play.speed == pytest.approx(speed, abs=0.01)
    assert play.start_s == pytest.approx(span[0] * fp.FRAME_S, abs=3.0)
    # The mix does not hold the track's peaks: the same matches are no play.
    unheard = _verifier(_mix_peaks(rng, ref, speed, icpt, span, 0.0), ref)
    assert find_plays(Matches(m.track, m.qt, m.rt, m.pitch), unheard) == []


def _play(track: int, speed: float, icpt: float, span: tuple[int, int], **kw) -> LocalPlay:
    return LocalPlay(
        track_id=track,
        start_s=span[0] * fp.FRAME_S,
        end_s=span[1] * fp.FRAME_S,
        speed=speed,
        pitch_shift=0.0,
        ref_start_s=(speed * span[0] + icpt) * fp.FRAME_S,
        **kw,
    )


def test_a_play_on_the_same_peaks_as_a_stronger_one_is_the_same_recording() -> None:
    rng = np.random.default_rng(3)
    span = (2000, 2000 + int(20 / fp.FRAME_S))
    strong_ref = _ref_peaks(rng, 120)
    # Track 8 holds the same bars as the strong track 7 at another place; track 9 is
    # another piece heard at the same time (a double drop).
    copy_ref = (strong_ref[0] + 4000, strong_ref[1])
    other_ref = _ref_peaks(rng, 120)
    t1, f1 = _mix_peaks(rng, strong_ref, 1.0, 1000.0, span, 0.3, clutter_per_s=10)
    t2, f2 = _mix_peaks(rng, other_ref, 1.0, 500.0, span, 0.2, clutter_per_s=10)
    refs = {7: strong_ref, 8: copy_ref, 9: other_ref}
    v = PeakVerifier(np.concatenate([t1, t2]), np.concatenate([f1, f2]), refs.get)
    strong = _play(7, 1.0, 1000.0, span, inliers=300)
    # Found on triplets (a B mix: few shared anchors), but on the strong track's peaks.
    copy = _play(8, 1.0, 5000.0, span, inliers=23, expected=1.0)
    other = _play(9, 1.0, 500.0, span, inliers=9, peak_evidence=12.0)
    kept = matching._drop_shadowed([strong, copy, other], v)
    assert [p.track_id for p in kept] == [7, 9]
    assert [a.track_id for a in strong.alternatives] == [8]


def test_a_line_through_the_play_at_a_wrong_speed_is_turned_onto_it(monkeypatch) -> None:
    rng = np.random.default_rng(11)
    ref = _ref_peaks(rng, 180)
    speed, icpt = 1.05, 3000.0
    span = (2000, 2000 + int(40 / fp.FRAME_S))
    v = _verifier(_mix_peaks(rng, ref, speed, icpt, span, 0.2), ref)
    # The fit went through the play's inliers (around the pivot) at 2.5 % too fast.
    pivot = span[0] + 600.0
    wrong = speed + 0.025
    wrong_icpt = speed * pivot + icpt - wrong * pivot
    assert v.evidence(TRACK, wrong, wrong_icpt, *span, pivot=pivot) >= matching.PEAK_SIGNIFICANCE
    monkeypatch.setattr("core.identify.verify.SLOPE_SEARCH", 0.0)
    assert v.evidence(TRACK, wrong, wrong_icpt, *span, pivot=pivot) < 4


def _cloud(rng: np.random.Generator, window: int, offset_bin: float, n: int) -> np.ndarray:
    """``n`` chance matches (mix frame, reference frame) in one window, scattered
    over one offset bin: a seed, but no line through more than a few of them."""
    q = rng.uniform(window * matching.WINDOW_FRAMES, (window + 1) * matching.WINDOW_FRAMES, n)
    r = q + (offset_bin + rng.uniform(0, 1, n)) * matching.OFFSET_BIN
    return np.stack([q, r], axis=1)


def _matches(by_track: dict[int, list[np.ndarray]]) -> Matches:
    rows = [
        (np.full(len(qr), track), qr[:, 0], qr[:, 1])
        for track, parts in by_track.items()
        for qr in parts
    ]
    return Matches(
        np.concatenate([r[0] for r in rows]).astype(np.int64),
        np.concatenate([r[1] for r in rows]).astype(np.int32),
        np.maximum(np.concatenate([r[2] for r in rows]), 0).astype(np.int32),
        np.zeros(sum(len(r[0]) for r in rows), np.float16),
    )


def _weak_line(
    rng: np.random.Generator, speed: float, icpt: float, start: int, seconds: float, n: int
) -> np.ndarray:
    q = np.sort(rng.uniform(start, start + seconds / fp.FRAME_S, n))
    return np.stack([q, speed * q + icpt + rng.normal(0, 1.0, n)], axis=1)


def _light_true_play(
    rng: np.random.Generator, window: int, other_seed: int
) -> tuple[list[np.ndarray], tuple[np.ndarray, np.ndarray], dict[int, RefPeaks]]:
    """A weak true play of TRACK from a little into ``window`` (13 inliers over 8 s:
    a chain of one light seed), the mix's peaks with its peaks heard, and the stored
    peaks of TRACK and of track 8 (whose peaks the mix does not hold)."""
    ref = _ref_peaks(rng, 180)
    speed, icpt = 1.0, 2500.0
    start = window * matching.WINDOW_FRAMES + 100
    true = [_weak_line(rng, speed, icpt, start, 8.0, 13)]
    mix = _mix_peaks(rng, ref, speed, icpt, (start, start + int(8 / fp.FRAME_S)), 0.3)
    return true, mix, {TRACK: ref, 8: _ref_peaks(np.random.default_rng(other_seed), 180)}


def test_light_chains_are_looked_at_by_significance_not_weight(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    true, mix, refs = _light_true_play(rng, 3, 42)
    # Track 8, dense in chance matches, has a heavier light chain than the weak true
    # play of track 7 (a chain of one seed of 13).
    dense = [_cloud(rng, 0, 4.0, 11), _cloud(rng, 1, 4.0, 11)]
    monkeypatch.setattr(matching, "VERIFY_PER_MINUTE", 1)  # one look on peaks

    def plays(fits: int) -> list[LocalPlay]:
        monkeypatch.setattr(matching, "LIGHT_FITS_PER_MINUTE", fits)
        return find_plays(_matches({TRACK: true, 8: dense}), PeakVerifier(*mix, refs.get))

    # Looking at the heaviest chain only: track 8's, which its peaks reject.
    assert plays(1) == []
    # Fitting several and looking at the most significant: the true play.
    found = plays(20)
    assert [p.track_id for p in found] == [TRACK]
    assert found[0].peak_evidence >= matching.PEAK_SIGNIFICANCE


def test_a_weak_play_in_a_failed_chains_span_still_gets_its_look(monkeypatch) -> None:
    rng = np.random.default_rng(9)
    ref = _ref_peaks(rng, 180)
    speed, icpt = 1.0, 2500.0
    w = 4
    start = w * matching.WINDOW_FRAMES + 200
    span = (start, start + int(6 / fp.FRAME_S))
    true_bin = icpt / matching.OFFSET_BIN
    # Chance seeds two and three bins below the true offset chain with each other
    # (heavier than the true seed), and the fit of that chain follows them.
    parts = [
        _cloud(rng, w - 1, true_bin - 2, 10),
        _cloud(rng, w, true_bin - 3.2, 20),
        _weak_line(rng, speed, icpt, start, 6.0, 16),
    ]
    mix = _mix_peaks(rng, ref, speed, icpt, span, 0.3, clutter_per_s=20)
    monkeypatch.setattr(matching, "RETRIES", 0)  # the failed chain takes its span
    found = find_plays(_matches({TRACK: parts}), _verifier(mix, ref))
    assert [p.track_id for p in found] == [TRACK]
    assert found[0].start_s == pytest.approx(start * fp.FRAME_S, abs=3.0)


def test_a_light_chain_passes_on_its_triplets_alone_only_when_very_significant() -> None:
    rng = np.random.default_rng(21)
    ref = _ref_peaks(rng, 180)
    speed, icpt = 1.03, 2500.0
    start = 2 * matching.WINDOW_FRAMES + 100
    # 19 inliers within one window: a chain of one seed, too light for a play.
    line = _weak_line(rng, speed, icpt, start, 8.0, 19)
    # The mix's peaks do not show the track (a drum track's peaks, smeared by
    # the room): the second look finds nothing.
    unheard = _verifier(_mix_peaks(rng, ref, speed, icpt, (start, start + 500), 0.0), ref)
    found = find_plays(_matches({TRACK: [line]}), unheard)
    assert [p.track_id for p in found] == [TRACK] and found[0].peak_evidence == 0.0
    assert found[0].significance >= matching.LIGHT_SIGNIFICANCE
    # The same inliers among the track's chance matches around the line (about one
    # expected on it): a heavy chain's few-inlier bar is passed, a light one's not,
    # so only the peaks could say yes to a light chain there.
    q_b = rng.uniform(start, start + 8.0 / fp.FRAME_S, 75)
    side = rng.choice([-1, 1], len(q_b)) * rng.uniform(20, 470, len(q_b))
    around = np.stack([q_b, speed * q_b + icpt + side], axis=1)
    both = np.concatenate([line, around])
    m = _matches({TRACK: [both[np.argsort(both[:, 0])]]})
    offset_bin = int((speed - 1) * start + icpt) // matching.OFFSET_BIN
    chain = np.array([[TRACK, start // matching.WINDOW_FRAMES, offset_bin, 19]])
    heavy = matching._fit(m, chain, unheard)
    assert heavy is not None and heavy.inliers >= 19
    assert matching.FEW_SIGNIFICANCE <= heavy.significance < matching.LIGHT_SIGNIFICANCE
    assert matching._fit(m, chain, unheard, peaks_only=True) is None


@pytest.mark.parametrize("heard_early", [True, False])
def test_start_moves_back_to_where_the_tracks_peaks_are_first_heard(heard_early: bool) -> None:
    """A filter sweep: the track's peaks are heard more and more from its start, its
    triplets only from 4 s later; a track heard no earlier than its triplets is
    not moved to where it is not heard."""
    rng = np.random.default_rng(31)
    ref = _ref_peaks(rng, 180)
    speed, icpt = 1.04, 3000.0
    start = int(60 / fp.FRAME_S)
    second = int(1 / fp.FRAME_S)
    late = start + 4 * second
    end = start + int(40 / fp.FRAME_S)
    # Triplet inliers, two a second, from 4 s in (none before: the low-pass).
    q = np.sort(rng.uniform(late, end, 72))
    inliers = np.stack([q, speed * q + icpt + rng.normal(0, 1.0, len(q))], axis=1)
    # Peaks: a fifth to all of the full survival over the sweep's 4 s, then full.
    spans = [(start + k * second, start + (k + 1) * second, 0.05 * (k + 1)) for k in range(4)]
    spans = (spans if heard_early else []) + [(late, end, 0.25)]
    parts = [_mix_peaks(rng, ref, speed, icpt, (a, b), s, clutter_per_s=4) for a, b, s in spans]
    parts += [_mix_peaks(rng, ref, speed, icpt, (0, 0), 0.0, 4) for _ in range(5 - len(parts))]
    mix = (np.concatenate([t for t, _ in parts]), np.concatenate([f for _, f in parts]))
    plays = find_plays(_matches({TRACK: [inliers]}), _verifier(mix, ref))
    assert [p.track_id for p in plays] == [TRACK]
    alone = find_plays(_matches({TRACK: [inliers]}))[0].start_s  # triplets alone
    assert alone >= late * fp.FRAME_S - 1.0
    found = plays[0]
    assert found.ref_start_s == pytest.approx(
        (speed * found.start_s / fp.FRAME_S + icpt) * fp.FRAME_S, abs=0.2
    )
    if heard_early:
        assert found.start_s == pytest.approx(start * fp.FRAME_S, abs=1.5)
    else:
        assert found.start_s >= late * fp.FRAME_S - 2.5


def test_one_tracks_chance_chains_do_not_take_every_light_look(monkeypatch) -> None:
    rng = np.random.default_rng(8)
    true, mix, refs = _light_true_play(rng, 5, 43)
    # Track 8 (a loop dense in chance matches) has a dozen light chains, each
    # heavier than the true play's of track 7, at offsets too far apart to chain.
    dense = [_cloud(rng, w, 40.0 * w, 16) for w in range(12)]
    minutes = 12 * matching.WINDOW_FRAMES * fp.FRAME_S / 60
    monkeypatch.setattr(matching, "LIGHT_FITS_PER_MINUTE", 9.5 / minutes)  # 9 fits

    def plays(per_track: int) -> list[LocalPlay]:
        monkeypatch.setattr(matching, "LIGHT_PER_TRACK", per_track)
        return find_plays(_matches({TRACK: true, 8: dense}), PeakVerifier(*mix, refs.get))

    assert plays(1000) == []  # all nine fits went to track 8's chance chains
    assert [p.track_id for p in plays(8)] == [TRACK]
