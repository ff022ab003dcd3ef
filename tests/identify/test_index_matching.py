"""Streaming segment merges, several indexes in one matcher, robust line fits, club effects."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from core.identify import fingerprint as fp
from core.identify import index as index_mod
from core.identify import lookup as lookup_module
from core.identify import matching
from core.identify.index import FingerprintIndex, expand_ranges, unpack_values
from core.identify.lookup import GateTable, StreamingMatcher, lookup_triplets
from core.identify.matching import LocalPlay, Matches, find_plays
from core.identify.prune import hold
from tests.identify.synth import SR, song


def _fake(rng: np.random.Generator, n: int) -> fp.Fingerprint:
    return fp.Fingerprint(
        rng.integers(0, 5000, n).astype(np.uint32),
        rng.integers(0, 5000, n),
        rng.integers(10, 60, n),
        rng.uniform(0, 100, n).astype(np.float32),
        5000,
    )


def _all_entries(index: FingerprintIndex) -> list[tuple[int, int]]:
    probe, vals = index.lookup(np.arange(5000, dtype=np.uint32))
    return sorted(zip(probe.tolist(), vals.tolist(), strict=True))


def test_streaming_merge_equals_whole_merge(tmp_path: Path, monkeypatch) -> None:
    # Chunks far smaller than the segments: the merge crosses many range edges.
    monkeypatch.setattr(index_mod, "MERGE_CHUNK", 97)
    rng = np.random.default_rng(4)
    index = FingerprintIndex(tmp_path)
    for track in range(1, 9):
        index.add([(track, _fake(rng, 300 + 50 * track))])
    before = _all_entries(index)
    index.compact(None)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["segments"]) <= index_mod.MAX_SEGMENTS
    assert sum(s["entries"] for s in manifest["segments"]) == len(before)
    assert _all_entries(index) == before
    for seg in manifest["segments"]:
        keys = np.load(tmp_path / f"{seg['name']}.keys.npy")
        assert (np.diff(keys.astype(np.int64)) >= 0).all()
    # Forced: one segment, dead tracks gone, no stray files.
    index.compact({2, 5}, force=True)
    probe, vals = index.lookup(np.arange(5000, dtype=np.uint32))
    assert set(unpack_values(vals).track) == {2, 5}
    assert len(probe) == sum(1 for _, v in before if (v >> 36) in (2, 5))
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_adding_to_a_big_index_leaves_the_big_segment_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    index = FingerprintIndex(tmp_path)
    index.add([(1, _fake(rng, 20_000))])
    big = json.loads((tmp_path / "manifest.json").read_text())["segments"][0]["name"]
    for track in range(2, 12):
        index.add([(track, _fake(rng, 100))])
        index.compact(None)
    names = [s["name"] for s in json.loads((tmp_path / "manifest.json").read_text())["segments"]]
    assert big in names  # never rewritten: the small ones merged among themselves


def test_lookup_hands_mapped_pages_back(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(index_mod, "RELEASE_BYTES", 0)
    rng = np.random.default_rng(6)
    index = FingerprintIndex(tmp_path)
    index.add([(1, _fake(rng, 1000))])
    first = _all_entries(index)
    assert first == _all_entries(index)  # released pages read back the same


def _vm_flags(path: Path) -> list[str]:
    """The VmFlags of this process's mappings of ``path`` (Linux ``smaps``)."""
    flags, inside = [], False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's line
            inside = line.endswith(str(path))
        elif inside and line.startswith("VmFlags:"):
            flags.append(line)
    return flags


def test_big_index_mappings_ask_for_huge_pages(tmp_path: Path, monkeypatch) -> None:
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.exists() or "[never]" in thp.read_text():
        pytest.skip("no transparent huge pages here")
    rng = np.random.default_rng(7)
    index = FingerprintIndex(tmp_path)
    index.add([(1, _fake(rng, 1000))])
    files = [tmp_path / f"seg-000001.{part}.npy" for part in ("vals", "keys")]
    assert index.entries == 1000  # maps the segment: small files, no advice
    assert all(_vm_flags(f) and " hg" not in _vm_flags(f)[0] for f in files)
    index.close()
    monkeypatch.setattr(index_mod, "HUGE_PAGES_FROM", 0)
    assert index.entries == 1000
    for f in files:
        flags = _vm_flags(f)
        assert flags and all(" hg" in line for line in flags), flags


def _to8k(x: np.ndarray) -> np.ndarray:
    import soxr

    return soxr.resample(x, SR, fp.SAMPLE_RATE).astype(np.float32)


def _stream(matcher: StreamingMatcher, y8k: np.ndarray) -> Matches:
    peaks = fp.peaks_from_samples(y8k)
    step = int(5 / fp.FRAME_S)
    for s in range(0, int(peaks.t.max()) + 1, step):
        sel = (peaks.t >= s) & (peaks.t < s + step)
        matcher.feed(fp.Peaks(peaks.t[sel], peaks.f[sel], peaks.m[sel]))
    return matcher.finish()


def _sorted_matches(m: Matches) -> list[tuple[int, int, int, float]]:
    return sorted(
        zip(m.track.tolist(), m.qt.tolist(), m.rt.tolist(), m.pitch.tolist(), strict=True)
    )


def _two_songs_indexed(
    tmp_path: Path, seeds: tuple[int, int], seconds: float
) -> tuple[FingerprintIndex, np.ndarray, np.ndarray]:
    """Two synthetic songs, indexed as tracks 1 and 2 (one segment each)."""
    a, b = song(seeds[0], seconds), song(seeds[1], seconds)
    index = FingerprintIndex(tmp_path)
    index.add([(1, fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(a))))])
    index.add([(2, fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(b))))])
    return index, a, b


def _speed_mix_index(tmp_path: Path) -> tuple[FingerprintIndex, fp.Triplets]:
    """Two songs indexed, and the triplets of a mix of both: vinyl 5 % fast then
    keylock-free 6 % slow, so both pitch modes pass the gates."""
    import soxr

    index, a, b = _two_songs_indexed(tmp_path, (34, 35), 40.0)
    fast = soxr.resample(a[5 * SR : 30 * SR], SR * 1.05, SR).astype(np.float32)
    slow = soxr.resample(b[5 * SR : 30 * SR], SR * 0.94, SR).astype(np.float32)
    return index, fp.triplets(fp.peaks_from_samples(_to8k(np.concatenate([fast, slow]))), 5)


def test_the_gate_table_passes_what_the_gates_pass(tmp_path: Path, monkeypatch) -> None:
    index, tr = _speed_mix_index(tmp_path)
    assert len(tr) > 2000

    def lookup(table_after: int) -> list[tuple[int, int, int, float]]:
        monkeypatch.setattr(GateTable, "TABLE_AFTER", table_after)
        return _sorted_matches(lookup_triplets(index, tr, None))

    directly = lookup(10**9)
    assert lookup(0) == directly
    assert len(directly) > 1000
    assert {t for t, *_ in directly} == {1, 2}
    # Past a table's size, a lookup goes a table's worth of triplets at a time.
    monkeypatch.setattr(GateTable, "MAX_TRIPLETS", 500)
    assert lookup(0) == directly
    with pytest.raises(ValueError, match="at most 500 triplets"):
        GateTable(tr)


def test_the_compiled_gate_table_is_the_gates_table(tmp_path: Path) -> None:
    _, real = _speed_mix_index(tmp_path)
    # And every t3 - t1, anchors at both ends of the range, on quarter bins,
    # half-way between them (rounding ties) and just off them, and pitches
    # (against the column of bin 0) on the gates' limits and an ulp or two off.
    rng = np.random.default_rng(8)
    dt = np.arange(fp.DT13_MIN, fp.DT_MAX + 1)
    quarters = np.concatenate([np.arange(0, 12), np.arange(500, 512)]).astype(np.float32) / 4
    limits = [np.float32(fp.F1_SHIFT), np.float32(fp.KEYLOCK_PITCH_TOL)]
    for _ in range(2):
        limits += [np.nextafter(x, np.float32(d)) for x in limits[-2:] for d in (0, 9)]
    f1 = np.concatenate(
        [
            quarters,
            quarters + np.float32(0.125),
            np.nextafter(quarters, np.float32(200)),
            np.array(limits, np.float32),
            rng.uniform(0, 128, 400).astype(np.float32),
        ]
    )
    f1s, dts = (a.ravel() for a in np.meshgrid(f1, dt))
    edge = fp.Triplets(
        t1=np.zeros(len(f1s), np.int64),
        dt13=dts.astype(np.int64),
        f1=f1s.astype(np.float32),
        r=np.full(len(f1s), 0.5, np.float32),
        df12=np.zeros(len(f1s), np.float32),
        df13=np.zeros(len(f1s), np.float32),
    )
    for tr in (real, edge):
        for at in range(0, len(tr), GateTable.MAX_TRIPLETS):
            gate = GateTable(tr.part(at, at + GateTable.MAX_TRIPLETS))
            numpy_table = gate._build()
            assert numpy_table.any()
            assert np.array_equal(gate._compiled_build(), numpy_table)


def test_the_compiled_gate_holds_what_numpy_holds(tmp_path: Path, monkeypatch) -> None:
    index, tr = _speed_mix_index(tmp_path)
    monkeypatch.setattr(GateTable, "TABLE_AFTER", 0)  # the compiled loops need the table
    lo, hi, owner = fp.query_ranges(tr)
    owner = owner.astype(np.int32)
    only_first = np.zeros(3, dtype=bool)
    only_first[1] = True
    every = np.zeros(0, dtype=bool)
    for live_ids, live in ((None, every), (np.array([1]), only_first)):
        gate = GateTable(tr)
        pieces = list(index.range_pieces(lo, hi, max_hits=700))
        assert len(pieces) > 3
        expected = hold(
            Matches.concat(
                [
                    gate.matches(
                        np.repeat(owner[which], counts),
                        vals[expand_ranges(first, counts)],
                        live_ids,
                        3,
                    )
                    for vals, first, counts, which in pieces
                ]
            )
        )
        # Small buffers first, so they grow (keeping what they hold) on the way.
        monkeypatch.setattr(lookup_module, "_BUFFERS", threading.local())
        got = gate.held_in(iter(pieces), owner, live_ids, live, 3)
        # Held a few hundred at a time: more Held a window, the same matches.
        monkeypatch.setattr(GateTable, "HELD_AT_ONCE", 300)
        in_parts = gate.held_in(iter(pieces), owner, live_ids, live, 3)
        monkeypatch.setattr(GateTable, "HELD_AT_ONCE", 1 << 20)
        assert len(in_parts) > 2 * len(got)
        for g in got:
            same = [h for h in in_parts if h.window == g.window]
            for name in ("track", "qt", "rt", "pitch"):
                assert np.array_equal(
                    np.concatenate([getattr(h, name) for h in same]), getattr(g, name)
                )
        # The same windows, and in each the same matches in the same order.
        assert [h.window for h in got] == [h.window for h in expected]
        found = {1: 0, 2: 0}
        for g, e in zip(got, expected, strict=True):
            for name in ("track", "qt", "rt", "pitch"):
                assert getattr(g, name).dtype == getattr(e, name).dtype
                assert np.array_equal(getattr(g, name), getattr(e, name))
            for track in (1, 2):
                found[track] += int(np.sum(g.track == (3 << 28 | track)))
        assert found[1] > 500
        assert (found[2] > 500) == (live_ids is None)
        # The numpy loop holds the same, a piece at a time.
        by_piece = gate.held_in(iter(pieces), owner, live_ids, None, 3)
        assert len(by_piece) > len(got)
        assert sum(len(h) for h in by_piece) == sum(len(h) for h in got)


def test_lookups_on_threads_find_the_same_matches(tmp_path: Path, monkeypatch) -> None:
    index, a, b = _two_songs_indexed(tmp_path, (31, 32), 50.0)
    mix = _to8k(np.concatenate([a[5 * SR : 45 * SR], b[5 * SR : 45 * SR]]))
    # Many small lookups, so several are under way at once.
    monkeypatch.setattr(StreamingMatcher, "LOOKUP_TRIPLETS", 200)
    monkeypatch.setattr(StreamingMatcher, "BIG_LOOKUP_TRIPLETS", 200)
    monkeypatch.setattr(StreamingMatcher, "BIG_BATCH_FRAMES", StreamingMatcher.BATCH_FRAMES)
    plain = StreamingMatcher(index, None)
    assert plain._pool is None  # a small index: no threads
    expected = _stream(plain, mix)
    monkeypatch.setattr(index_mod, "RELEASE_BYTES", 0)
    monkeypatch.setattr(StreamingMatcher, "LOOKUP_THREADS", 2)
    threaded = StreamingMatcher(index, None)
    assert threaded._pool is not None
    got = _stream(threaded, mix)
    assert threaded._pool is None and not threaded._pending  # finish stopped them
    # The same matches; threads hand them over a share of the key ranges at a
    # time, so in another order, which find_plays does not depend on.
    assert len(got) == len(expected) > 100
    assert _sorted_matches(got) == _sorted_matches(expected)
    assert find_plays(got) == find_plays(expected)
    assert [p.track_id for p in find_plays(got)] == [1, 2]


def test_big_index_lookups_are_whole_until_the_last(tmp_path: Path, monkeypatch) -> None:
    index, a, b = _two_songs_indexed(tmp_path, (34, 35), 40.0)
    mix = _to8k(np.concatenate([a[5 * SR : 35 * SR], b[5 * SR : 35 * SR]]))
    size = 300
    monkeypatch.setattr(StreamingMatcher, "LOOKUP_TRIPLETS", size)
    monkeypatch.setattr(StreamingMatcher, "BIG_LOOKUP_TRIPLETS", size)
    monkeypatch.setattr(StreamingMatcher, "BIG_BATCH_FRAMES", int(7 / fp.FRAME_S))
    monkeypatch.setattr(StreamingMatcher, "LOOKUP_THREADS", 1)
    plain = StreamingMatcher(index, None)
    expected = _stream(plain, mix)
    monkeypatch.setattr(index_mod, "RELEASE_BYTES", 0)
    sizes: list[tuple[int | None, int]] = []
    prune = StreamingMatcher._prune

    def recorded(self, shares, complete, triplets):  # type: ignore[no-untyped-def]
        sizes.append((complete, triplets))
        prune(self, shares, complete, triplets)

    monkeypatch.setattr(StreamingMatcher, "_prune", recorded)
    big = StreamingMatcher(index, None)
    got = _stream(big, mix)
    # Every lookup but the last is whole: a batch's remainder waited for the
    # next batch; lookups end between anchor frames, so none is looked up twice.
    per_frame = int(np.bincount(fp.triplets(fp.peaks_from_samples(mix), fp.QUERY_FANOUT).t1).max())
    assert len(sizes) > 4
    assert all(size - per_frame < n <= size for _, n in sizes[:-1])
    assert sizes[-1][0] is None and 0 < sizes[-1][1] <= size
    assert big.triplets == plain.triplets == sum(n for _, n in sizes)
    assert _sorted_matches(got) == _sorted_matches(expected)
    assert [p.track_id for p in find_plays(got)] == [1, 2]


def test_a_failed_lookup_thread_reaches_the_caller(tmp_path: Path, monkeypatch) -> None:
    index = FingerprintIndex(tmp_path)
    index.add([(1, fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(song(33, 30.0)))))])
    monkeypatch.setattr(index_mod, "RELEASE_BYTES", 0)
    monkeypatch.setattr(StreamingMatcher, "LOOKUP_THREADS", 2)

    def broken(*args, **kwargs):
        raise OSError("disk went away")
        yield

    monkeypatch.setattr(FingerprintIndex, "range_pieces", broken)
    monkeypatch.setattr(StreamingMatcher, "BIG_LOOKUP_TRIPLETS", 50)
    monkeypatch.setattr(StreamingMatcher, "BIG_BATCH_FRAMES", StreamingMatcher.BATCH_FRAMES)
    # Failing in finish, and in feed (where a 30-second batch's lookups are waited for).
    for seconds, where in ((20.0, "finish"), (70.0, "feed")):
        matcher = StreamingMatcher(index, None)
        with pytest.raises(OSError, match="disk went away") as failed:
            _stream(matcher, _to8k(song(33, seconds)))
        called = {entry.name for entry in failed.traceback} & {"feed", "finish"}
        assert called == {where}
        assert matcher._pool is None


def test_one_matcher_searches_several_indexes(tmp_path: Path) -> None:
    a, b = song(21, 40.0), song(22, 40.0)
    crate, library = FingerprintIndex(tmp_path / "crate"), FingerprintIndex(tmp_path / "lib")
    # Both databases use track id 1: the play must still say which index it came from.
    crate.add([(1, fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(a))))])
    library.add([(1, fp.reference_fingerprint(fp.iter_blocks_mono(_to8k(b))))])
    mix = np.concatenate([b[5 * SR : 30 * SR], a[5 * SR : 30 * SR]])
    matcher = StreamingMatcher([crate, library], [None, None])
    matcher.feed(fp.peaks_from_samples(_to8k(mix)))
    plays = find_plays(matcher.finish())
    assert [(p.source, p.track_id) for p in plays] == [(1, 1), (0, 1)]
    assert plays[1].start_s == pytest.approx(25.0, abs=3.0)
    with pytest.raises(ValueError, match="one live_ids entry per index"):
        StreamingMatcher([crate, library], [None])


def test_line_fit_finds_a_weak_fast_play_in_dense_chance_matches() -> None:
    rng = np.random.default_rng(9)
    # 40 s at 6.3 % fast with one true match a second, in 20 times as many chance matches.
    q_true = np.sort(rng.uniform(0, 2500, 40))
    r_true = 1.063 * q_true + 3000 + rng.normal(0, 1.5, 40)
    q_bg = rng.uniform(0, 2500, 800)
    r_bg = q_bg + 3000 + rng.uniform(-150, 150, 800)
    slope, icpt = matching._robust_line(
        np.concatenate([q_true, q_bg]), np.concatenate([r_true, r_bg])
    )
    assert slope == pytest.approx(1.063, abs=0.003)
    assert icpt == pytest.approx(3000, abs=10)


def test_overlapping_plays_of_two_tracks_both_kept() -> None:
    # A double drop: a short play mostly under a much stronger one is still real.
    strong = LocalPlay(1, 0.0, 60.0, 1.0, 0.0, 400, 0.0)
    short = LocalPlay(2, 40.0, 70.0, 1.06, 0.0, 60, 10.0)
    assert matching._drop_shadowed([strong, short]) == [strong, short]
    # inside, far weaker and barely above its chance level: an echo or a shared sample
    echo = LocalPlay(3, 10.0, 50.0, 1.0, 0.0, 30, 10.0, expected=10.0)
    assert echo not in matching._drop_shadowed([strong, echo])


def test_club_reverb_has_the_asked_direct_to_reverberant_ratio() -> None:
    from benchmarks.identify_mixgen import crowd_noise, room_reverb

    impulse = np.zeros(3 * SR, np.float32)
    impulse[SR] = 1.0
    out = room_reverb(impulse, np.random.default_rng(1), drr_db=0.0)
    direct = out[SR] ** 2
    reverberant = float(np.sum(out[SR + 1 :] ** 2))
    assert 10 * np.log10(direct / reverberant) == pytest.approx(0.0, abs=0.2)
    noise = crowd_noise(SR * 2, np.random.default_rng(2))
    assert noise.shape == (SR * 2,) and np.isfinite(noise).all() and noise.std() > 0


def _track_matches(q: np.ndarray, r: np.ndarray) -> Matches:
    return Matches(
        np.full(len(q), 7, np.int64),
        q.astype(np.int32),
        r.astype(np.int32),
        np.zeros(len(q), np.float16),
    )


@pytest.mark.parametrize("seed", range(4))
def test_weak_play_beside_a_cloud_of_the_tracks_chance_matches_is_found(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # A minute of chance matches bunched around one offset (a riff that loosely
    # repeats): heavier than the true play in every window, but no line.
    q_c = rng.uniform(0, 3750, 240)
    r_c = q_c + 20000 + rng.uniform(-90, 90, 240)
    # The true play: one inlier a second, 5 % fast, from 9.6 s to 49.6 s.
    q_t = np.sort(rng.uniform(600, 3100, 45))
    r_t = 1.05 * q_t + 5000 + rng.normal(0, 1.0, 45)
    plays = find_plays(_track_matches(np.concatenate([q_c, q_t]), np.concatenate([r_c, r_t])))
    assert len(plays) == 1
    assert plays[0].speed == pytest.approx(1.05, abs=0.004)
    assert plays[0].start_s == pytest.approx(600 * fp.FRAME_S, abs=2.0)  # where it comes in


def _lead_in_play(background: int) -> LocalPlay:
    rng = np.random.default_rng(5)
    # A fade-in: an inlier every 3 s from 10 s to 22 s, then a dense run to 60 s.
    q_sparse = np.arange(10.0, 22.0, 3.0) / fp.FRAME_S
    q_dense = np.sort(rng.uniform(22.0, 60.0, 120)) / fp.FRAME_S
    q = np.concatenate([q_sparse, q_dense])
    r = q + 8000 + rng.normal(0, 1.0, len(q))
    q_b = rng.uniform(0, 70.0 / fp.FRAME_S, background)
    r_b = q_b + 8000 + rng.uniform(-480, 480, background)
    plays = find_plays(_track_matches(np.concatenate([q, q_b]), np.concatenate([r, r_b])))
    assert len(plays) == 1
    return plays[0]


def test_start_reaches_back_over_a_sparse_fade_in_when_chance_is_rare() -> None:
    # Reached back to the first sparse inlier (10 s), then a little before it:
    # the inliers thin out towards it, as a fade's do.
    assert 8.0 <= _lead_in_play(background=20).start_s <= 10.0
    # Where the track's chance matches are dense, a lone inlier seconds before the
    # play proves nothing: the start stays near where the inliers become dense
    # (the inlier at 19 s has three more within 4 s), short of the one at 16 s.
    assert 16.5 <= _lead_in_play(background=1000).start_s <= 19.0


def _faded_in_play(seed: int, fade_s: float) -> tuple[float, float]:
    """(first inlier, reported start) of a play coming in at 20 s whose inliers'
    rate rises linearly over ``fade_s`` (0: a cut) to 4 a second."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(20.0, 60.0, 160))
    if fade_s > 0:
        t = t[rng.uniform(0, 1, len(t)) < np.clip((t - 20.0) / fade_s, 0, 1)]
    q = t / fp.FRAME_S
    r = 1.03 * q + 9000 + rng.normal(0, 1.0, len(q))
    q_b = rng.uniform(0, 70.0 / fp.FRAME_S, 20)
    r_b = q_b + 9000 + rng.uniform(-480, 480, 20)
    plays = find_plays(_track_matches(np.concatenate([q, q_b]), np.concatenate([r, r_b])))
    assert len(plays) == 1
    return float(t[0]), plays[0].start_s


def test_start_of_a_fade_in_is_where_its_inliers_rate_begins_to_rise() -> None:
    fades = np.array([_faded_in_play(seed, 10.0) for seed in range(16)]) - 20.0
    first_err = float(np.median(np.abs(fades[:, 0])))  # ~2.7 s: the first inlier is late
    assert float(np.median(np.abs(fades[:, 1]))) < 0.7 * first_err
    # A cut keeps its first inlier as its start.
    cuts = np.array([_faded_in_play(seed, 0.0) for seed in range(16)]) - 20.0
    assert float(np.median(np.abs(cuts[:, 1]))) <= 0.5
    assert cuts[:, 1].min() >= -1.5


def test_one_recording_in_two_files_is_one_play_with_an_alternative() -> None:
    # Both files matched in the same query triplets: the same piece (a theme
    # and its reprise), however significant the weaker one is.
    anchors = np.arange(0, 4000, 20, dtype=np.int32)
    main = LocalPlay(1, 0.0, 60.0, 1.05, 0.0, 340, 0.0, anchors=anchors)
    copy = LocalPlay(2, 5.0, 55.0, 1.05, 0.0, 120, 0.0, anchors=anchors[20:140])
    assert matching._drop_shadowed([main, copy]) == [main]
    assert main.alternatives == [copy]
    # A double drop's second track gives its own peaks: both plays stay.
    other = LocalPlay(3, 5.0, 55.0, 1.05, 0.0, 120, 0.0, anchors=anchors[20:140] + 7)
    assert matching._drop_shadowed([main, other]) == [main, other]


def test_offset_segments_read_and_merge_like_key_segments(tmp_path: Path, monkeypatch) -> None:
    """Big segments store key offsets instead of keys: same lookups, same merges,
    and merges between the two layouts (either way) lose nothing."""
    monkeypatch.setattr(fp, "KEY_SPACE", 5000)
    monkeypatch.setattr(index_mod, "OFFSETS_MIN_ENTRIES", 1500)
    monkeypatch.setattr(index_mod, "MERGE_CHUNK", 211)
    monkeypatch.setattr(index_mod, "MERGE_KEY_SPAN", 700)
    rng = np.random.default_rng(8)
    index = FingerprintIndex(tmp_path)
    index.add([(1, _fake(rng, 2000))])  # big: offsets
    for track in range(2, 9):
        index.add([(track, _fake(rng, 150))])  # small: keys
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    layouts = [s["layout"] for s in manifest["segments"]]
    assert layouts[0] == "offsets" and set(layouts[1:]) == {"keys"}
    assert not (tmp_path / f"{manifest['segments'][0]['name']}.keys.npy").exists()
    before = _all_entries(index)
    assert len(before) == 2000 + 7 * 150
    # A range lookup returns what point lookups of its keys return.
    lo = rng.integers(0, 4900, 300)
    hi = lo + rng.integers(1, 60, 300)
    probe, vals = index.lookup(np.arange(5000, dtype=np.uint32))
    by_key = {}
    for k, v in zip(probe.tolist(), vals.tolist(), strict=True):
        by_key.setdefault(k, []).append(v)
    got = sorted(
        (i, v)
        for r_probe, r_vals in index.lookup_ranges(lo, hi, max_hits=100)
        for i, v in zip(r_probe.tolist(), r_vals.tolist(), strict=True)
    )
    want = sorted(
        (i, v) for i in range(300) for k in range(lo[i], hi[i]) for v in by_key.get(k, [])
    )
    assert got == want
    # The same when pages are handed back as the walk goes (entries after each
    # piece, the offsets table every few keys).
    monkeypatch.setattr(index_mod, "RELEASE_BYTES", 0)
    monkeypatch.setattr(index_mod, "TABLE_RELEASE_KEYS", 50)
    released = sorted(
        (i, v)
        for r_probe, r_vals in index.lookup_ranges(lo, hi, max_hits=100)
        for i, v in zip(r_probe.tolist(), r_vals.tolist(), strict=True)
    )
    assert released == want
    monkeypatch.setattr(index_mod, "RELEASE_BYTES", 128 << 20)
    # Small segments merge into a keys segment; then everything into offsets.
    index.compact(None)
    assert _all_entries(index) == before
    index.compact({1, 3, 4}, force=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["layout"] for s in manifest["segments"]] == ["offsets"]
    kept = [(k, v) for k, v in before if (v >> 36) in (1, 3, 4)]
    assert _all_entries(index) == kept
    offs = np.load(tmp_path / f"{manifest['segments'][0]['name']}.offs.npy")
    assert len(offs) == 5001 and offs[-1] == len(kept) and (np.diff(offs.astype(int)) >= 0).all()
    # Removing most tracks: the merged segment is small again and stores keys.
    index.compact({3}, force=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["layout"] for s in manifest["segments"]] == ["keys"]
    assert _all_entries(index) == [(k, v) for k, v in before if (v >> 36) == 3]
    assert len(list(tmp_path.glob("*.npy"))) == 2


@pytest.mark.parametrize(
    ("seed_min", "sketch", "compiled"),
    [(matching.SEED_MIN, False, False), (9, True, False), (9, True, True)],
)
def test_pruning_chance_matches_keeps_every_play(
    monkeypatch, seed_min: int, sketch: bool, compiled: bool
) -> None:
    """The streaming pruner drops chance matches far from any seed, and the plays
    found are exactly those found from all matches (with a big library's seed
    threshold and counting sketches too, in numpy or compiled)."""
    from core.identify import prune

    if sketch:
        monkeypatch.setattr(prune, "SKETCH_MIN", 1000)
    if compiled:  # a small table: many collisions, some counts saturating
        monkeypatch.setattr(prune.SeedPruner, "SKETCH_BITS", 12)
        monkeypatch.setattr(prune.SeedPruner, "SKETCH_BITS_RANGE", (10, 12))

    rng = np.random.default_rng(12)
    n_q = int(300 / fp.FRAME_S)
    # Chance matches: 3000 tracks, uniform over mix and reference time.
    chance = 400_000
    track = rng.integers(1, 3000, chance)
    qt = rng.integers(0, n_q, chance)
    rt = rng.integers(0, 15_000, chance)
    # Plays: track 7 at 1.04x from 20 s to 90 s, track 9 at 0.95x from 150 s to 200 s
    # (weak: one match every 0.4 s), with jitter.
    plays = []
    for tid, speed, a, b, every in ((7, 1.04, 20, 90, 8), (9, 0.95, 150, 200, 25)):
        q = np.arange(int(a / fp.FRAME_S), int(b / fp.FRAME_S), every)
        r = np.round(speed * (q - q[0]) + 2000 + rng.integers(-2, 3, len(q)))
        plays.append((np.full(len(q), tid), q, r))
    track = np.concatenate([track] + [p[0] for p in plays])
    qt = np.concatenate([qt] + [p[1] for p in plays])
    rt = np.concatenate([rt] + [p[2] for p in plays])
    order = np.argsort(qt, kind="stable")
    m = matching.Matches(
        track[order].astype(np.int64),
        qt[order].astype(np.int32),
        rt[order].astype(np.int32),
        np.zeros(len(order), np.float16),
    )

    def summary(ms: matching.Matches) -> list[tuple[int, float, float, int, float]]:
        return [
            (p.track_id, round(p.start_s, 2), round(p.end_s, 2), p.inliers, round(p.expected, 3))
            for p in find_plays(ms, None, seed_min)
        ]

    everything = summary(matching.Matches(m.track.copy(), m.qt.copy(), m.rt.copy(), m.pitch))
    assert [p[0] for p in everything] == [7, 9]
    # Seeds searched a track or so at a time find the same.
    with monkeypatch.context() as patch:
        patch.setattr(matching, "SEED_CHUNK", 1)
        copy = matching.Matches(m.track.copy(), m.qt.copy(), m.rt.copy(), m.pitch)
        assert summary(copy) == everything

    def pruned(compiled: bool) -> matching.Matches:
        pruner = prune.SeedPruner(seed_min, compiled=compiled)
        step = int(30 / fp.FRAME_S)
        for lo in range(0, n_q, step):
            sel = (m.qt >= lo) & (m.qt < lo + step)
            pruner.add(m.select(sel), lo + step)
        return pruner.finish()

    kept = pruned(compiled)
    assert len(kept) < len(m) // 3
    assert summary(kept) == everything
    if compiled:  # the same matches kept, in the same order
        by_numpy = pruned(False)
        for name in ("track", "qt", "rt", "pitch"):
            assert np.array_equal(getattr(kept, name), getattr(by_numpy, name))


def test_a_play_with_few_inliers_needs_twice_the_significance() -> None:
    rng = np.random.default_rng(3)
    # 16 inliers over 30 s (under MIN_INLIERS), 4 % fast, from 20 s.
    q = np.sort(rng.uniform(20.0, 50.0, 16)) / fp.FRAME_S
    r = 1.04 * q + 7000 + rng.normal(0, 1.0, len(q))
    w0 = int(q[0]) // matching.WINDOW_FRAMES
    ob = int(np.floor((r[0] - q[0]) / matching.OFFSET_BIN))
    chain = np.array([[7, w0 + k, ob, 10] for k in range(4)], dtype=np.int64)
    alone = matching._fit(_track_matches(q, r), chain)
    assert alone is not None and alone.inliers == 16
    assert alone.significance >= matching.FEW_SIGNIFICANCE
    # The same inliers among the track's chance matches (~3 expected on the
    # line): significant by the usual measure, not by the one few inliers need.
    q_b = rng.uniform(20.0 / fp.FRAME_S, 50.0 / fp.FRAME_S, 200)
    r_b = 1.04 * q_b + 7000 + rng.uniform(-480, 480, 200)
    q_all, r_all = np.concatenate([q, q_b]), np.concatenate([r, r_b])
    order = np.argsort(q_all)  # _fit takes a track's matches in mix order
    assert matching._fit(_track_matches(q_all[order], r_all[order]), chain) is None


def test_start_is_never_before_the_track_itself_begins() -> None:
    # Cut in at its very first frame (reference 0 at 20 s of the mix), with
    # 1.5 inliers a second: the start may come before the first inlier (a
    # fade-in is as likely a priori), but not before the track begins.
    for seed in range(8):
        rng = np.random.default_rng(seed)
        t = np.sort(rng.uniform(20.0, 60.0, 60))
        q = t / fp.FRAME_S
        r = q - 20.0 / fp.FRAME_S + rng.normal(0, 1.0, len(q))
        plays = find_plays(_track_matches(q, np.maximum(r, 0)))
        assert len(plays) == 1
        assert plays[0].start_s >= 20.0 - 0.05
        assert plays[0].ref_start_s >= -0.05


def test_seeds_need_more_matches_only_in_a_big_library() -> None:
    assert matching.seed_min_for(0) == matching.SEED_MIN
    assert matching.seed_min_for(matching.SEED_BASE_ENTRIES) == matching.SEED_MIN
    sizes = [10**k for k in range(5, 11)]
    needs = [matching.seed_min_for(n) for n in sizes]
    assert needs == sorted(needs) and needs[-1] > matching.SEED_MIN
    # Chance seeds per window at 1000 hours (218 M entries) stay at most what
    # SEED_MIN lets through at the base size.
    tail = matching._poisson_tail
    need = matching.seed_min_for(218_000_000)
    chance = matching.SEED_CHANCE
    allowed = tail(matching.SEED_MIN, chance) * matching.SEED_BASE_ENTRIES
    assert 218_000_000 * tail(need, chance) <= allowed < 218_000_000 * tail(need - 1, chance)
    assert tail(0, 2.0) == pytest.approx(1.0) and tail(3, 2.0) == pytest.approx(0.3233, abs=1e-4)


def test_a_matcher_on_a_big_library_asks_more_of_its_seeds(tmp_path: Path, monkeypatch) -> None:
    index = FingerprintIndex(tmp_path)
    assert StreamingMatcher(index, None).seed_min == matching.SEED_MIN
    monkeypatch.setattr(FingerprintIndex, "entries", property(lambda self: 218_000_000))
    matcher = StreamingMatcher(index, None)
    assert matcher.seed_min == matching.seed_min_for(218_000_000) > matching.SEED_MIN
    assert matcher._pruner.seed_min == matcher.seed_min


def test_seed_sketch_never_misses_a_bin_that_scores() -> None:
    from core.identify import prune

    rng = np.random.default_rng(4)
    # Codes (track, offset bin): a few hot bins (one over 255 matches,
    # where the sketch's counts saturate) among many sparse ones.
    sparse = rng.integers(0, 1 << 40, 200_000)
    hot = np.repeat(rng.integers(0, 1 << 40, 40), rng.integers(3, 400, 40))
    code = np.concatenate([sparse, hot, hot + 1]).astype(np.int64)
    uniq, counts = np.unique(code, return_counts=True)
    score = counts.copy()
    score[1:] += np.where(uniq[:-1] == uniq[1:] - 1, counts[:-1], 0)
    score[:-1] += np.where(uniq[1:] == uniq[:-1] + 1, counts[1:], 0)
    for seed_min in (6, 9, 64):
        may = prune._may_seed(code >> prune.B_BITS, code & ((1 << prune.B_BITS) - 1), seed_min)
        scoring = np.isin(code, uniq[score >= seed_min])
        assert scoring.any() and not (scoring & ~may).any()
        if seed_min >= 9:  # and it sets most aside (the sparse codes fill the table)
            assert may.mean() < 0.15


def test_compiled_near_seed_test_keeps_what_numpy_keeps() -> None:
    from core.identify import prune

    rng = np.random.default_rng(6)
    window = 40
    n = 200_000
    track = rng.integers(1, 3000, n).astype(np.uint32)
    qt = rng.integers(0, matching.WINDOW_FRAMES, n).astype(np.uint16)
    base = window * matching.WINDOW_FRAMES
    rt = (base + qt + rng.integers(-3000, 20_000, n)).astype(np.int32)
    held = prune.Held(window, track, qt, rt, np.zeros(n, np.float16))
    # Seeds of a few hundred tracks in windows around (and beyond reach of)
    # this one, some overlapping so that their intervals merge.
    k = 600
    seeds = np.stack(
        [
            rng.integers(1, 3000, k),
            window + rng.integers(-12, 13, k),
            rng.integers(-70, 420, k),
        ],
        axis=1,
    ).astype(np.int64)
    seeds = np.concatenate([seeds, seeds[:50] + [0, 0, 1]])
    expected = prune._near_seeds(held, seeds)
    assert 1000 < expected.sum() < n // 2
    got = prune._compiled_near_seeds(seeds, window)(held)
    assert np.array_equal(got, expected)
    none = prune._compiled_near_seeds(seeds[:0], window)(held)
    assert not none.any() and len(none) == n


def test_seed_sketches_counted_on_many_threads_are_the_same(monkeypatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from core.identify import prune

    monkeypatch.setattr(prune.SeedPruner, "SKETCH_BITS", 14)  # small: threads collide
    rng = np.random.default_rng(6)
    pieces = []
    for i in range(8):
        window, n = 3 + i % 2, 400_000
        qt = rng.integers(0, matching.WINDOW_FRAMES, n).astype(np.uint16)
        rt = (window * matching.WINDOW_FRAMES + qt + rng.integers(0, 500, n)).astype(np.int32)
        track = rng.integers(1, 1 << 20, n).astype(np.uint32)
        pieces.append(prune.Held(window, track, qt, rt, np.zeros(n, np.float16)))
    alone = prune.SeedPruner(9, compiled=True)
    alone.count(pieces)
    # As lookup threads count: pieces of the same windows at once (a lock a table).
    shared = prune.SeedPruner(9, compiled=True)
    shared.count([pieces[0], pieces[1]])  # the tables exist before the threads start
    start = threading.Barrier(3)

    def count(k: int) -> None:
        start.wait()
        shared.count(pieces[2 + k :: 3])

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(count, range(3)))
    assert sorted(shared._sketches) == sorted(alone._sketches) == [3, 4]
    for window, table in alone._sketches.items():
        assert 0 < table.max() < 255  # no saturation hides a lost count
        assert np.array_equal(shared._sketches[window], table)
    # Then added as counted: the same seeds as counting while adding.
    shared.add_held(pieces, None, counted=True)
    fresh = prune.SeedPruner(9, compiled=True)
    fresh.add_held(pieces, None)
    assert np.array_equal(shared._seeds, fresh._seeds)


def test_compiled_seed_sketch_never_misses_a_bin_that_scores() -> None:
    from core.identify import prune
    from core.identify.seed_kernel import sketch_add, sketch_candidates

    rng = np.random.default_rng(5)
    # One window's matches: sparse (track, offset bin) pairs and a few hot bins,
    # in two pieces, as the pruner counts them.
    track = rng.integers(1, 1 << 27, 300_000)
    bins = rng.integers(0, 3000, 300_000)
    hot = rng.integers(0, 300_000, 40)
    reps = rng.integers(3, 400, 40)
    track = np.concatenate([track, np.repeat(track[hot], reps), np.repeat(track[hot], reps)])
    bins = np.concatenate([bins, np.repeat(bins[hot], reps), np.repeat(bins[hot], reps) + 1])
    window = 7
    base = window * matching.WINDOW_FRAMES
    qt = rng.integers(0, matching.WINDOW_FRAMES, len(track)).astype(np.uint16)
    rt = (base + qt + (bins - 100) * matching.OFFSET_BIN + rng.integers(0, 48, len(track))).astype(
        np.int32
    )
    held = prune.Held(window, track.astype(np.uint32), qt, rt, np.zeros(len(qt), np.float16))
    code = (track << prune.B_BITS) | prune._offset_bins(held)
    uniq, counts = np.unique(code, return_counts=True)
    score = counts.copy()
    score[1:] += np.where(uniq[:-1] == uniq[1:] - 1, counts[:-1], 0)
    score[:-1] += np.where(uniq[1:] == uniq[:-1] + 1, counts[1:], 0)
    bits = 18  # a crowded table: collisions and saturated counts
    table = np.zeros(1 << bits, np.uint8)
    half = len(track) // 2
    for part in (slice(0, half), slice(half, None)):
        sketch_add(table, bits, held.track[part], held.qt[part], held.rt[part], base)
    for seed_min in (6, 9, 64):
        may = np.zeros(len(track), dtype=bool)
        may[sketch_candidates(table, bits, held.track, held.qt, held.rt, base, seed_min)] = True
        scoring = np.isin(code, uniq[score >= seed_min])
        assert scoring.any() and not (scoring & ~may).any()
        if seed_min >= 9:
            assert may.mean() < 0.3


@pytest.mark.parametrize("frames", [3000, 3_000_000])  # one sort key, or two
def test_matches_are_sorted_the_same_whatever_order_they_came_in(frames: int) -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    m = Matches(
        rng.integers(0, 50, n) | (rng.integers(0, 2, n) << matching.SOURCE_SHIFT),
        rng.integers(0, frames, n).astype(np.int32),
        rng.integers(frames // 10, frames // 10 + 300, n).astype(np.int32),
        rng.normal(0, 1, n).astype(np.float16),
    )
    m.qt[: n // 2] = m.qt[n // 2 :]  # many equal mix times (and some equal matches)
    m.rt[: n // 4] = m.rt[n // 2 : n // 2 + n // 4]
    order = np.lexsort((m.pitch.view(np.uint16), m.rt, m.qt, m.track))
    for seed in (2, 3):
        perm = np.random.default_rng(seed).permutation(n)
        shuffled = Matches(m.track[perm], m.qt[perm], m.rt[perm], m.pitch[perm])
        matching._sort_canonically(shuffled)
        for name in ("track", "qt", "rt", "pitch"):
            assert np.array_equal(getattr(shuffled, name), getattr(m, name)[order])
