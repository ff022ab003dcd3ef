"""Rekordbox 5/6 XML and Traktor NML read into entries: locations, BPM, key, grid, cues."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest

from core.errors import BadInput
from core.sections.djlibrary import apply_override, load_dj_library
from core.sections.rekordbox import RekordboxCollection
from core.sections.traktor import TraktorCollection, location_path, traktor_key
from tests.analysis.test_cues_select import grid_track
from tests.djlibrary.exports import rekordbox5_mac, rekordbox6_demo, traktor_nml, url


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rekordbox6_windows_export(tmp_path: Path) -> None:
    path = _write(tmp_path, "database.xml", rekordbox6_demo())
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    collection = load_dj_library(path)
    assert isinstance(collection, RekordboxCollection)
    assert len(collection.entries) == 6
    one = collection.match("/srv/music/demo tracks/Demo Track 1.mp3")
    assert one is not None and one.location == "C:/Music/PioneerDJ/Demo Tracks/Demo Track 1.mp3"
    assert (one.average_bpm, one.tonality, len(one.grid)) == (128.0, "Fm", 1)
    assert collection.match(r"C:\Music\PioneerDJ\Demo Tracks\Demo Track 2.mp3").grid[-1].start == (
        52.026
    )
    horn = collection.match("/x/HORN.wav")
    assert horn is not None and horn.average_bpm is None and horn.grid == () and not horn.tonality
    # A one-shot with AverageBpm="0.00" and no grid overrides nothing.
    override = apply_override(grid_track(), horn)
    assert override.fields == () and override.analysis.bpm == 120.0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_rekordbox5_mac_export_names_and_cues(tmp_path: Path) -> None:
    path = _write(tmp_path, "rekordbox.xml", rekordbox5_mac())
    collection = RekordboxCollection.load(path)
    locations = sorted(e.location for e in collection.entries)
    assert locations == [
        "/Users/dj/Music/Samples/Ünïcode loop.wav",
        "/Users/dj/Music/Électro/Café Niño #1 (100%).mp3",
        "/Volumes/USB STICK/DJ/a b+c.aiff",
    ]
    cafe = collection.match("/home/me/Café Niño #1 (100%).mp3")
    assert cafe is not None and cafe.tonality == "10A"
    # Memory cues (-1), a hot cue (1) and a loop's start; the fade-in mark is no cue.
    assert [(c.start, c.num) for c in cafe.cues] == [
        (0.584, -1),
        (31.552, -1),
        (62.52, 1),
        (93.487, -1),
    ]
    track = grid_track(bpm=124.0, bars=100, first=0.1)
    override = apply_override(track, cafe)
    # Battito=4 at 0.100: the first downbeat is one beat later, at 0.584 (the first memory
    # cue, which is not an intro end); the intro cue is the next one.
    assert override.analysis.downbeats[0] == pytest.approx(0.1 + 60 / 124)
    assert override.ini_cue == pytest.approx(31.552)
    assert override.analysis.key == "Bm" and override.analysis.camelot == "10A"
    space = collection.match("/media/usb/DJ/a b+c.aiff")
    assert space is not None and space.intro_cue(None).start == 20.1  # type: ignore[union-attr]
    override = apply_override(grid_track(), space)
    assert set(override.fields) == {"bpm", "key", "cue"}  # no grid: the analysis grid stays


def test_decomposed_mac_names_match_composed_local_names(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "/Users/dj/Music/Électro/Café.mp3")
    text = rekordbox5_mac().replace(url("/Users/dj/Music/Samples/Ünïcode loop.wav"), url(nfd))
    collection = RekordboxCollection.load(_write(tmp_path, "nfd.xml", text))
    assert collection.match(unicodedata.normalize("NFC", "/data/Café.mp3")) is not None


def test_traktor_collection(tmp_path: Path) -> None:
    path = _write(tmp_path, "collection.nml", traktor_nml())
    before = path.read_bytes()
    collection = load_dj_library(path)
    assert isinstance(collection, TraktorCollection)
    assert sorted(e.location for e in collection.entries) == [
        "/Users/dj/Music/Crate/Mac Tráck.flac",
        "C:/Users/dj/Music/Deep House/Deep One.mp3",
    ]
    deep = collection.match("/home/dj/Deep House/Deep One.mp3")
    assert deep is not None
    assert deep.average_bpm == 122.0 and deep.tonality == "Gm"  # MUSICAL_KEY 19
    assert deep.grid == (deep.grid[0],) and deep.grid[0].start == pytest.approx(0.113562)
    assert deep.grid[0].bpm == 122.0 and deep.grid[0].beat == 1
    # The unnamed memory cue on the grid anchor and the "Mix in" hot cue; not the fade.
    assert [(c.name, c.start, c.num) for c in deep.cues] == [
        ("", 0.113562, -1),
        ("Mix in", pytest.approx(15.851267), 1),
    ]
    override = apply_override(grid_track(bpm=121.0, bars=60), deep)
    assert override.ini_cue == pytest.approx(15.851267)
    period = 60 / 122
    assert override.analysis.beats[:2] == pytest.approx([0.113562, 0.113562 + period])
    mac = collection.match("/Users/dj/Music/Crate/Mac Tráck.flac")
    assert mac is not None and mac.tonality == "1d"  # INFO KEY when MUSICAL_KEY is missing
    assert [m.start for m in mac.grid] == [0.25, 60.25] and mac.cues[0].num == 0
    assert path.read_bytes() == before


def test_traktor_keys_and_locations() -> None:
    assert [traktor_key(v) for v in (0, 1, 11, 12, 21, 23, 24)] == [
        "C",
        "Db",
        "B",
        "Cm",
        "Am",
        "Bm",
        None,
    ]
    assert location_path("D:", "/:DJ/:Tracks/:", "a.mp3") == "D:/DJ/Tracks/a.mp3"
    assert location_path("Macintosh HD", "/:Users/:x/:", "b.mp3") == "/Users/x/b.mp3"


def test_unreadable_libraries(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such Rekordbox XML"):
        load_dj_library(tmp_path / "missing.xml")
    with pytest.raises(BadInput, match="no such Traktor collection"):
        load_dj_library(tmp_path / "missing.nml")
    with pytest.raises(BadInput, match="not a Traktor collection NML"):
        load_dj_library(_write(tmp_path, "x.nml", "<NML><oops"))
    with pytest.raises(BadInput, match="not a Traktor collection NML"):
        load_dj_library(_write(tmp_path, "y.nml", "<DJ_PLAYLISTS/>"))
    with pytest.raises(BadInput, match="not a DJ library I can read"):
        load_dj_library(_write(tmp_path, "notes.txt", "hello"))
    with pytest.raises(BadInput, match="no such DJ library file"):
        load_dj_library(tmp_path / "nothing.db")


def test_uploaded_names_match_loosely(tmp_path: Path) -> None:
    collection = load_dj_library(_write(tmp_path, "database.xml", rekordbox6_demo()))
    # A chat upload of "Demo Track 2.mp3" is saved as "Demo_Track_2.mp3".
    entry = collection.match("/home/cratebot/uploads/telegram-1a2b/Demo_Track_2.mp3")
    assert entry is not None and entry.name == "Demo Track 2.mp3"
    assert collection.match("/x/Demo_Track_3.mp3") is None


def test_another_format_of_the_same_title_matches_only_when_unique(tmp_path: Path) -> None:
    collection = load_dj_library(_write(tmp_path, "database.xml", rekordbox6_demo()))
    entry = collection.match("/music/Demo Track 2.wav")
    assert entry is not None and entry.name == "Demo Track 2.mp3"
    two = rekordbox6_demo().replace("HORN.wav", "Demo%20Track%202.aiff")
    collection = load_dj_library(_write(tmp_path, "two.xml", two))
    assert collection.match("/music/Demo Track 2.flac") is None  # .mp3 or .aiff? neither
    assert collection.match("/music/Demo Track 2.aiff").name == "Demo Track 2.aiff"  # type: ignore[union-attr]
