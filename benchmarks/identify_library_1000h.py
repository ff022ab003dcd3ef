"""Lookup speed against a synthetic 1000-hour library (index size and match time).

    python benchmarks/identify_library_1000h.py [--hours 1000] [--minutes 10] [--warm-runs 3]

Builds a fingerprint index the size of a 1000-hour library in a temporary
folder (``--keep DIR``: in DIR, reused by the next run): the real fingerprints
of ``../shared/audio`` plus synthetic entries. By default synthetic keys draw
each hash feature (time ratio, two frequency differences, anchor band, dt
class) independently from its distribution in the real fingerprints;
synthetic values name 20 000 fake tracks at random times, with the ``t3 - t1``
and anchor band their key says (values that ignored their key let the
lookup's gates reject ~40 times too many chance matches and made lookups look
~2.5 times faster than they are). Real features are not independent (real
buckets are more uneven), so ``--keys-from FOLDER`` draws whole entries (key,
``t3 - t1``, anchor) from the fingerprints of the music in FOLDER
instead (music the mix does not play, e.g. a part of what
``identify_music_folder.py`` gathers): the closer figure for a real library. Prints wall
and CPU time with the load average: wall time on a shared machine is noise. It then identifies a generated mix against that index and
prints the time spent looking up and matching (decode excluded, reported
separately), per minute of mix, and the accuracy, which must not suffer from
the 1000 hours of distractors, and the lookup process's peak RSS (the index is
memory-mapped; pages a lookup touched are handed back, see ``index._Mapped``).
Against an index this big lookups run on two threads (``core/identify/lookup.py``),
so wall time is below CPU time on this 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.identify_mixgen import load_sources, make_mix, score, write_mp3  # noqa: E402
from core.audio import decode_blocks  # noqa: E402
from core.identify import fingerprint as fp  # noqa: E402
from core.identify.index import (  # noqa: E402
    FINGERPRINT_VERSION,
    FingerprintIndex,
    pack_values,
    write_segment,
)
from core.identify.lookup import StreamingMatcher  # noqa: E402
from core.identify.matching import find_plays  # noqa: E402
from core.identify.memory import limit_heap_growth  # noqa: E402

RADICES = (fp.R_LEVELS, fp.DF_LEVELS, fp.DF_LEVELS, fp.F1_LEVELS, fp.DT_LEVELS)


def _features(keys: np.ndarray) -> list[np.ndarray]:
    out = []
    k = keys.astype(np.int64)
    for radix in reversed(RADICES):
        out.append(k % radix)
        k //= radix
    return out[::-1]


def synthetic_segment(
    folder: Path,
    real_keys: np.ndarray,
    entries: int,
    fake_tracks: int,
    rng: np.random.Generator,
    chunk: int = 20_000_000,
) -> str:
    """Write one sorted segment of ``entries`` synthetic entries (in chunks, then merged)."""
    feats = _features(real_keys)
    probs = [np.bincount(f, minlength=r) / len(f) for f, r in zip(feats, RADICES, strict=True)]
    keys = np.empty(entries, dtype=np.uint32)
    for start in range(0, entries, chunk):
        n = min(chunk, entries - start)
        key = np.zeros(n, dtype=np.int64)
        for p, radix in zip(probs, RADICES, strict=True):
            key = key * radix + rng.choice(radix, size=n, p=p)
        keys[start : start + n] = key
    keys.sort()
    # Values agree with their keys, as real ones do (the key holds t3 - t1 and
    # the anchor's band), so they pass the lookup's speed and pitch gates as
    # often as real chance matches do.
    vals = np.empty(entries, dtype=np.uint64)
    for start in range(0, entries, chunk):
        n = min(chunk, entries - start)
        feats_n = _features(keys[start : start + n])
        vals[start : start + n] = pack_values(
            rng.integers(100_000, 100_000 + fake_tracks, n),
            rng.integers(0, 15_000, n),
            feats_n[4] + fp.DT13_MIN,
            np.minimum((feats_n[3] + rng.uniform(0, 1, n)) * fp.F1_BAND, fp.N_BINS - 1),
        )
    return write_segment(folder, "seg-900000", keys, vals, presorted=True)


def sampled_segment(
    folder: Path,
    pool: list[fp.Fingerprint],
    entries: int,
    fake_tracks: int,
    rng: np.random.Generator,
    chunk: int = 20_000_000,
) -> str:
    """Write one segment of ``entries`` entries drawn whole from real fingerprints
    (``pool``), under fake track ids and times; in key order as drawn, so no
    sort of the whole segment is needed."""
    keys = np.concatenate([p.keys for p in pool])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    dt13 = np.concatenate([p.dt13 for p in pool])[order]
    f1 = np.concatenate([p.f1 for p in pool])[order]
    counts = np.zeros(len(keys), dtype=np.int64)
    for start in range(0, entries, chunk):
        n = min(chunk, entries - start)
        counts += np.bincount(rng.integers(0, len(keys), n), minlength=len(keys))
    out_keys = np.repeat(keys, counts)
    vals = np.empty(entries, dtype=np.uint64)
    ends = np.cumsum(counts)
    at = 0
    for lo in range(0, len(keys), 50_000):
        hi = min(lo + 50_000, len(keys))
        c = counts[lo:hi]
        n = int(c.sum())
        vals[at : at + n] = pack_values(
            rng.integers(100_000, 100_000 + fake_tracks, n),
            rng.integers(0, 15_000, n),
            np.repeat(dt13[lo:hi], c),
            np.repeat(f1[lo:hi], c),
        )
        at += n
    assert at == entries == int(ends[-1])
    return write_segment(folder, "seg-900000", out_keys, vals, presorted=True)


def measure(folder: Path, mix_path: Path, audio: Path, warm_runs: int = 3) -> None:
    """Identify the mix against the index (cold, then ``warm_runs`` times warm) and
    print time and peak RSS (and the warm runs' median: one run's wall time on
    this shared machine strays by ~10 %)."""
    import threading

    import psutil

    # Sampled, not ru_maxrss: Linux keeps the parent's high-water mark across
    # fork and exec, and the parent held gigabytes while building the index.
    peak = [0]

    def sample() -> None:
        me = psutil.Process()
        while True:
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.005)

    threading.Thread(target=sample, daemon=True).start()
    # As the identify job does (core/identify/job.py): big arrays in their own
    # mappings, handed back when freed (without it the peak was ~50-70 MB higher).
    limit_heap_growth()
    sources = load_sources(audio)
    truth = json.loads((mix_path.parent / "truth.json").read_text())
    t0 = time.perf_counter()
    peaks_all, frames = fp.peaks_from_blocks(decode_blocks(mix_path, fp.SAMPLE_RATE, 1))
    decode_s = time.perf_counter() - t0
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores; wall figures are noisy)")
    mix_s = frames * fp.FRAME_S
    names = {i + 1: s for i, s in enumerate(sources)}
    warm: list[float] = []
    for label in ["cold"] + ["warm"] * warm_runs:
        index = FingerprintIndex(folder)
        matcher = StreamingMatcher(index, None)
        t0 = time.perf_counter()
        c0 = time.process_time()
        step = int(60 / fp.FRAME_S)
        for lo in range(0, int(peaks_all.t[-1]) + 1, step):
            sel = (peaks_all.t >= lo) & (peaks_all.t < lo + step)
            matcher.feed(fp.Peaks(peaks_all.t[sel], peaks_all.f[sel], peaks_all.m[sel]))
        matches = matcher.finish()
        plays = find_plays(matches, matcher.verifier(), matcher.seed_min)
        took = time.perf_counter() - t0
        cpu = time.process_time() - c0
        if label == "warm":
            warm.append(took)
        result = {
            "tracks": [
                {
                    "start": p.start_s,
                    "end": p.end_s,
                    "artist": names[p.track_id].artist if p.track_id in names else "fake",
                    "title": names[p.track_id].title if p.track_id in names else "fake",
                }
                for p in plays
            ]
        }
        s = score(truth, result)
        print(
            f"{label}: {mix_s / 60:.0f}-minute mix against the index: lookup+match {took:.1f} s "
            f"= {mix_s / took:.0f}x real time, CPU {cpu:.1f} s = {mix_s / cpu:.0f}x "
            f"(load {os.getloadavg()[0]:.1f}) ({matcher.triplets} query triplets, "
            f"{matcher.gated / 1e6:.1f} M gated matches, {len(matches) / 1e6:.2f} M near seeds); with decode+peaks ({decode_s:.1f} s) "
            f"{mix_s / (took + decode_s):.0f}x; recall {s['recall']} precision {s['precision']}"
        )
    if len(warm) > 1:
        mid = float(np.median(warm))
        print(
            f"warm, {len(warm)} runs: median {mid:.2f} s = {mix_s / mid:.0f}x real time "
            f"({mix_s / max(warm):.0f}-{mix_s / min(warm):.0f}x)"
        )
    time.sleep(0.05)
    print(f"peak RSS of the lookup process: {peak[0] / 2**20:.0f} MB")


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--measure":
        measure(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=1000.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--warm-runs", type=int, default=3, help="warm runs after the cold one (median printed)"
    )
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument(
        "--keys-from",
        type=Path,
        help="draw the synthetic entries whole from the fingerprints of this folder's "
        "music (real, uneven buckets) instead of feature by feature",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="build the index and mix in this folder and keep them; reused when it "
        "already holds a current index",
    )
    args = parser.parse_args()
    kept = args.keep
    if (
        kept is not None
        and (kept / "truth.json").is_file()
        and FingerprintIndex(kept / "index").is_current()
    ):
        print(f"reusing the index in {kept}")
        return _measure_in_child(kept / "index", kept / "mix.mp3", args.audio, args.warm_runs)
    sources = load_sources(args.audio)
    rng = np.random.default_rng(5)
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            shutil.rmtree(args.keep, ignore_errors=True)
            args.keep.mkdir(parents=True)
            tmp = str(args.keep)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
        folder = Path(tmp) / "index"
        index = FingerprintIndex(folder)
        prints = [
            (i + 1, fp.reference_fingerprint(decode_blocks(s.file, fp.SAMPLE_RATE, 1)))
            for i, s in enumerate(sources)
        ]
        index.add(prints)
        real_keys = np.concatenate([p.keys for _, p in prints])
        real_s = sum(p.duration_s for _, p in prints)
        per_s = len(real_keys) / real_s
        entries = int(args.hours * 3600 * per_s)
        t0 = time.perf_counter()
        if args.keys_from is not None:
            pool = [
                fp.reference_fingerprint(decode_blocks(f, fp.SAMPLE_RATE, 1))
                for f in sorted(args.keys_from.iterdir())
                if f.suffix.lower() in {".mp3", ".ogg", ".opus", ".flac", ".wav"}
            ]
            pool_s = sum(p.duration_s for p in pool)
            print(
                f"entries drawn from {len(pool)} files ({pool_s / 3600:.2f} h) of {args.keys_from}"
            )
            layout = sampled_segment(
                folder, pool, entries, fake_tracks=int(args.hours * 20), rng=rng
            )
        else:
            layout = synthetic_segment(
                folder, real_keys, entries, fake_tracks=int(args.hours * 20), rng=rng
            )
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["segments"].append({"name": "seg-900000", "entries": entries, "layout": layout})
        assert manifest["version"] == FINGERPRINT_VERSION
        (folder / "manifest.json").write_text(json.dumps(manifest))
        index.close()
        size = sum(p.stat().st_size for p in folder.glob("*.npy"))
        print(
            f"built {entries / 1e6:.0f} M entries ({per_s:.1f}/s of audio) in "
            f"{time.perf_counter() - t0:.0f} s: {size / 1e9:.2f} GB = "
            f"{size / 1e6 / args.hours:.2f} MB per hour"
        )

        mix, placed = make_mix(sources, args.minutes, seed=77)
        mix_path = Path(tmp) / "mix.mp3"
        write_mp3(mix, mix_path)
        del mix
        (Path(tmp) / "truth.json").write_text(json.dumps([asdict(p) for p in placed]))
        return _measure_in_child(folder, mix_path, args.audio, args.warm_runs)


def _measure_in_child(folder: Path, mix_path: Path, audio: Path, warm_runs: int) -> int:
    # Measured in a fresh process, so its peak RSS is the lookup's alone (not
    # this one's, which built two gigabytes of synthetic entries).
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            str(folder),
            str(mix_path),
            str(audio),
            str(max(warm_runs, 1)),
        ],
        check=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
