"""Indexing files into the library: metadata sources, re-indexing, removal, compaction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import BadInput
from core.identify import fingerprint as fp
from core.identify.index import FingerprintIndex, unpack_values
from core.identify.library import (
    find_audio_files,
    index_paths,
    load_metadata,
    names_from_filename,
    open_index,
    remove_tracks,
)
from storage.library import LibraryStore


def test_names_from_filename() -> None:
    assert names_from_filename(Path("Eric_Skiff--We_re_the_Resistors.ogg")) == (
        "Eric Skiff",
        "We re the Resistors",
    )
    assert names_from_filename(Path("Daft Punk - One More Time.mp3")) == (
        "Daft Punk",
        "One More Time",
    )
    assert names_from_filename(Path("untitled_demo.wav")) == (None, "untitled demo")


def test_metadata_json_and_csv(tmp_path: Path) -> None:
    j = tmp_path / "m.json"
    j.write_text(json.dumps([{"file": "a/x.ogg", "artist": "A", "title": "T"}]))
    assert load_metadata(j) == {"x.ogg": ("A", "T")}
    c = tmp_path / "m.csv"
    c.write_text("file,artist,title,licence\ny.mp3,B,U,cc\n")
    assert load_metadata(c) == {"y.mp3": ("B", "U")}
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(BadInput, match="not valid JSON"):
        load_metadata(bad)
    with pytest.raises(BadInput, match="no 'file'"):
        j.write_text(json.dumps([{"artist": "A"}]))
        load_metadata(j)


def test_find_audio_files_recurses_and_rejects_missing(tmp_path: Path, synth_songs) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(synth_songs[0], nested / synth_songs[0].name)
    (tmp_path / "a" / "notes.txt").write_text("x")
    assert [p.name for p in find_audio_files([tmp_path])] == [synth_songs[0].name]
    with pytest.raises(BadInput, match="no such file or folder"):
        find_audio_files([tmp_path / "nope"])


def test_index_reindex_remove(settings, synth_songs, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps([{"file": synth_songs[0].name, "artist": "Meta Artist", "title": "Meta Title"}])
    )
    report = index_paths(settings, synth_songs[:2], meta)
    assert [(a, t) for _, _, a, t in report.added] == [
        ("Meta Artist", "Meta Title"),
        ("Synth Artist 1", "Song 1"),
    ]
    again = index_paths(settings, synth_songs[:2])
    assert again.added == [] and len(again.skipped) == 2
    store = LibraryStore(settings.database_url)
    tracks = store.all()
    assert len(tracks) == 2 and all(t.hashes > 0 for t in tracks)
    index = open_index(settings)
    assert index.entries == sum(t.hashes for t in tracks)
    # A library indexed before the index kept peaks gets them when its files come again.
    assert all(index.peaks.has(t.id) for t in tracks)
    index.peaks.clear()
    again = index_paths(settings, synth_songs[:2])
    assert again.added == [] and len(again.skipped) == 2
    assert all(index.peaks.has(t.id) for t in tracks)

    # a non-audio file fails with its own reason, the rest still goes in
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 10)
    report = index_paths(settings, [junk, synth_songs[2]])
    assert len(report.added) == 1 and "junk.mp3" in report.failed[0][1]

    assert remove_tracks(settings, [tracks[0].id]) == 1
    assert {t.id for t in store.all()} == {tracks[1].id, report.added[0][0]}
    # ids are never reused, so stale index entries cannot name a new track
    report = index_paths(settings, [synth_songs[0]])
    assert report.added[0][0] > max(t.id for t in store.all() if t.id != report.added[0][0])


def test_compaction_drops_removed_tracks(tmp_path: Path) -> None:
    from core.identify import fingerprint as fp

    index = FingerprintIndex(tmp_path)
    rng = np.random.default_rng(1)

    def fake(n: int) -> fp.Fingerprint:
        return fp.Fingerprint(
            rng.integers(0, 1000, n).astype(np.uint32),
            rng.integers(0, 5000, n),
            rng.integers(10, 60, n),
            rng.uniform(0, 100, n).astype(np.float32),
            5000,
        )

    for track in range(1, 9):  # one segment each: more than MAX_SEGMENTS
        index.add([(track, fake(100))])
    index.compact({1, 2, 3})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["segments"]) <= 6
    index.compact({1, 2, 3}, force=True)
    _, vals = index.lookup(np.arange(1000, dtype=np.uint32))
    assert set(unpack_values(vals).track) == {1, 2, 3}
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_an_index_from_an_older_version_is_rebuilt_from_the_files(
    settings, synth_songs, tmp_path: Path
) -> None:
    """After an upgrade that changes the hashes, `cratebot id` says what to do in one
    line, and the next `cratebot index` re-fingerprints every track from its file."""
    songs = []
    for song in synth_songs[:3]:
        shutil.copy(song, tmp_path / song.name)
        songs.append(tmp_path / song.name)
    first = index_paths(settings, songs[:2])
    index = open_index(settings)
    entries = index.entries
    manifest_path = index.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"] = "triplet-v1/old"
    manifest_path.write_text(json.dumps(manifest))
    index.close()
    assert not index.is_current()
    with pytest.raises(BadInput, match="another version.*cratebot index"):
        index.lookup(np.arange(10, dtype=np.uint32))
    songs[1].unlink()  # one file gone since
    report = index_paths(settings, [songs[2]])
    assert index.is_current()
    assert [Path(p).name for p, _ in report.failed] == [songs[1].name]
    assert "gone or changed" in report.failed[0][1]
    store = LibraryStore(settings.database_url)
    kept_id, gone_id = first.added[0][0], first.added[1][0]
    assert set(store.live_ids()) == {kept_id, report.added[0][0]}
    assert gone_id not in store.live_ids()
    tracks = store.get_many(store.live_ids())
    assert index.entries == sum(t.hashes for t in tracks.values())
    assert index.entries > entries // 2
    everything = [v for _, v in index.lookup_ranges(np.array([0]), np.array([fp.KEY_SPACE]))]
    assert set(unpack_values(np.concatenate(everything)).track) == set(store.live_ids())
    # The gone file, indexed again from elsewhere, comes back.
    shutil.copy(synth_songs[1], songs[1])
    again = index_paths(settings, [songs[1]])
    assert len(again.added) == 1


def test_two_files_at_once_give_the_serial_index(
    synth_songs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cratebot index` fingerprints two files at a time; the result (ids, reports and the
    index bytes) is the one-at-a-time result, and known files are never decoded."""
    from core.identify import library
    from core.settings import load_settings

    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all" * 10)
    files = [synth_songs[0], junk, synth_songs[1], synth_songs[2]]
    results = {}
    for threads in (1, 2):
        monkeypatch.setattr(library, "INDEX_THREADS", threads)
        settings = load_settings(home=tmp_path / f"home{threads}")
        report = index_paths(settings, files)
        folder = open_index(settings).folder
        index_bytes = {p.name: p.read_bytes() for p in sorted(folder.glob("*.npy"))}
        results[threads] = (
            report.added,
            [(Path(p).name, r) for p, r in report.failed],
            index_bytes,
        )
    assert results[1] == results[2]
    added, failed, index_bytes = results[2]
    assert [Path(p).name for _, p, _, _ in added] == [f.name for f in files if f != junk]
    assert len(failed) == 1 and failed[0][0] == "junk.mp3" and index_bytes

    decoded: list[Path] = []
    real = library._fingerprint_file

    def counting(path: Path, settings: object) -> fp.Fingerprint:
        decoded.append(path)
        return real(path, settings)  # type: ignore[arg-type]

    monkeypatch.setattr(library, "_fingerprint_file", counting)
    again = index_paths(load_settings(home=tmp_path / "home2"), files)
    assert again.added == [] and len(again.skipped) == 3
    assert decoded == [junk]  # only the file that failed before is tried again
