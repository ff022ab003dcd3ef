"""All-in-one JSON I/O and the analysis store (sync and async, through migrations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.analysis.model import TrackAnalysis, load_struct_dir, write_struct_file
from core.errors import BadInput
from storage.analysis import AnalysisStore, get_analysis, list_analyses, save_analysis
from storage.db import open_database
from tests.analysis.test_cues_select import grid_track

# What the allin1 analyser writes (no key, integer BPM, 'start'/'end' labels).
ALLIN1 = {
    "path": "/data/tracks/song.wav",
    "bpm": 124,
    "beats": [0.33, 0.82, 1.3, 1.78, 2.26, 2.75, 3.23, 3.71],
    "downbeats": [0.33, 2.26],
    "beat_positions": [1, 2, 3, 4, 1, 2, 3, 4],
    "segments": [
        {"start": 0.0, "end": 0.33, "label": "start"},
        {"start": 0.33, "end": 2.26, "label": "intro"},
        {"start": 2.26, "end": 4.0, "label": "chorus"},
    ],
}


def test_struct_round_trip(tmp_path: Path) -> None:
    track = grid_track()
    track.path = str(tmp_path / "a.wav")
    track.sha256 = "0" * 64
    track.loudness_lufs = -9.5
    struct = track.to_struct()
    for field in (
        "path",
        "bpm",
        "beats",
        "downbeats",
        "beat_positions",
        "segments",
        "key",
        "camelot",
    ):
        assert field in struct
    assert struct["segments"][0] == {
        "start": 0.0,
        "end": round(track.segments[0].end, 4),
        "label": "intro",
    }
    again = TrackAnalysis.from_struct(json.loads(json.dumps(struct)))
    assert again.bpm == pytest.approx(track.bpm)
    assert again.beats == pytest.approx(track.beats, abs=1e-4)
    assert again.key == "Gm" and again.camelot == "6A"
    assert again.loudness_lufs == -9.5
    written = write_struct_file(track, tmp_path / "out")
    assert written.name == "a.json"
    assert load_struct_dir(tmp_path / "out")[0].path == track.path


def test_reads_allin1_output(tmp_path: Path) -> None:
    (tmp_path / "song.json").write_text(json.dumps(ALLIN1))
    (tmp_path / "keyed.json").write_text(json.dumps({**ALLIN1, "key": "G minor"}))
    keyed, song = load_struct_dir(tmp_path)
    assert song.bpm == 124.0 and song.key is None
    assert keyed.key == "Gm" and keyed.camelot == "6A"
    assert song.segment_at("intro")[0].end == 2.26
    assert song.duration == 4.0


def test_struct_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such folder"):
        load_struct_dir(tmp_path / "nope")
    with pytest.raises(BadInput, match="holds no .json"):
        load_struct_dir(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BadInput, match="bad.json: not a readable JSON"):
        load_struct_dir(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"bpm": 120}))
    with pytest.raises(BadInput, match="bad.json: no 'path'"):
        load_struct_dir(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({**ALLIN1, "beats": ["x"]}))
    with pytest.raises(BadInput, match="malformed"):
        load_struct_dir(tmp_path)


def _struct(path: Path, sha: str, bpm: float) -> dict:
    track = grid_track(bpm)
    track.path = str(path)
    track.sha256 = sha
    return track.to_struct()


def test_sync_store(settings, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"x" * 10)
    with AnalysisStore(settings.database_url) as store:
        store.save(_struct(audio, "a" * 64, 120.0))
        assert store.get(audio)["bpm"] == 120.0
        assert store.get(audio, "a" * 64) is not None
        assert store.get(audio, "b" * 64) is None  # the file changed since
        store.save(_struct(audio, "b" * 64, 125.0))  # replaces, does not duplicate
        assert [s["bpm"] for s in store.all()] == [125.0]
        with pytest.raises(ValueError, match="absolute path"):
            store.save({**_struct(audio, "c" * 64, 1.0), "path": "a.wav"})
        assert store.delete(audio) and not store.delete(audio)


async def test_async_helpers_after_migrations(settings, tmp_path: Path) -> None:
    db = await open_database(settings.database_url)
    try:
        audio = tmp_path / "b.wav"
        audio.write_bytes(b"y")
        async with db.session() as session:
            await save_analysis(session, _struct(audio, "d" * 64, 128.0))
        async with db.session() as session:
            assert (await get_analysis(session, audio))["bpm"] == 128.0
            assert await get_analysis(session, audio, "e" * 64) is None
            assert len(await list_analyses(session)) == 1
    finally:
        await db.dispose()
    # The sync store sees what the async side wrote, on the same database.
    with AnalysisStore(settings.database_url) as store:
        assert store.get(audio)["sha256"] == "d" * 64
