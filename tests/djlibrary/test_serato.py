"""Serato grids and cues from real file tags (MP3 GEOB, FLAC Vorbis) and database V2.

The tag payloads are built here byte by byte from the documented formats, so the
reader (mutagen + serato-tools) is checked against an independent writer.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
from mutagen.flac import FLAC
from mutagen.id3 import GEOB, ID3, TBPM, TKEY

from core.errors import BadInput
from core.sections.djlibrary import apply_override, load_dj_library
from core.sections.serato import SeratoLibrary, read_tags
from tests.analysis.test_cues_select import grid_track


def beatgrid_payload(markers: list[tuple[float, int]], last: tuple[float, float]) -> bytes:
    """``Serato BeatGrid``: version 1.0, count, (pos, beats to next)..., (pos, BPM), footer."""
    out = b"\x01\x00" + struct.pack(">I", len(markers) + 1)
    for position, beats in markers:
        out += struct.pack(">fI", position, beats)
    return out + struct.pack(">ff", *last) + b"\x00"


def markers2_payload(cues: list[tuple[int, int, str]], loop: tuple[int, int, str]) -> bytes:
    """``Serato Markers2``: version 1.1, then base64 of version 1.1 and typed entries."""
    body = b"\x01\x01"
    for index, ms, name in cues:
        data = b"\x00" + struct.pack(">BI", index, ms) + b"\x00" + b"\xcc\x00\x00" + b"\x00\x00"
        data += name.encode() + b"\x00"
        body += b"CUE\x00" + struct.pack(">I", len(data)) + data
    index, start, name = loop
    data = b"\x00" + struct.pack(">BII", index, start, start + 4000) + b"\xff\xff\xff\xff"
    data += b"\x00\xaa\xe1\xff\x00" + b"\x00" + name.encode() + b"\x00"  # colour, locked
    body += b"LOOP\x00" + struct.pack(">I", len(data)) + data
    body += b"BPMLOCK\x00" + struct.pack(">I", 1) + b"\x00"
    encoded = base64.b64encode(body).replace(b"=", b"A")
    lines = b"\n".join(encoded[i : i + 72] for i in range(0, len(encoded), 72))
    return (b"\x01\x01" + lines).ljust(470, b"\x00")


GRID = beatgrid_payload([(0.05, 32), (16.05, 16)], (23.55, 128.0))
CUES = markers2_payload([(0, 50, ""), (2, 16050, "Mix in")], (1, 40050, "Drop loop"))


def _audio(path: Path, seconds: float = 2.0) -> Path:
    tone = np.sin(np.arange(int(44100 * seconds)) / 44100 * 2 * np.pi * 220.0) * 0.2
    fmt = "MP3" if path.suffix == ".mp3" else "FLAC"
    soundfile.write(str(path), np.stack([tone, tone], 1), 44100, format=fmt)
    return path


@pytest.fixture
def tagged_mp3(tmp_path: Path) -> Path:
    path = _audio(tmp_path / "Serato Track.mp3")
    tags = ID3()
    tags.add(GEOB(encoding=0, mime="application/octet-stream", desc="Serato BeatGrid", data=GRID))
    tags.add(GEOB(encoding=0, mime="application/octet-stream", desc="Serato Markers2", data=CUES))
    tags.add(TBPM(encoding=3, text=["128"]))
    tags.add(TKEY(encoding=3, text=["Am"]))
    tags.save(str(path))
    return path


def _check(entry) -> None:
    assert entry is not None
    # 32 beats over 16 s (120 BPM), then 16 beats over 7.5 s (128 BPM), then 128 BPM on.
    assert [round(m.start, 4) for m in entry.grid] == [0.05, 16.05, 23.55]
    assert [round(m.bpm, 4) for m in entry.grid] == [120.0, 128.0, 128.0]
    assert [m.beat for m in entry.grid] == [1, 1, 1]
    assert [(c.name, c.start, c.num) for c in entry.cues] == [
        ("", 0.05, 0),
        ("Mix in", 16.05, 2),
        ("Drop loop", 40.05, -1),
    ]


def test_mp3_geob_tags(tagged_mp3: Path) -> None:
    before = tagged_mp3.read_bytes()
    entry = read_tags(tagged_mp3)
    _check(entry)
    assert entry is not None and entry.average_bpm == 128.0 and entry.tonality == "Am"
    beats, positions = entry.beat_grid(60.0)
    assert beats[31:34] == pytest.approx([0.05 + 31 * 0.5, 16.05, 16.05 + 60 / 128], abs=1e-5)
    override = apply_override(grid_track(bpm=126.0, bars=30), entry)
    assert override.ini_cue == pytest.approx(16.05)  # named "Mix in"
    assert tagged_mp3.read_bytes() == before


def test_flac_vorbis_tags(tmp_path: Path) -> None:
    path = _audio(tmp_path / "Serato Track.flac")
    audio = FLAC(str(path))
    head = b"application/octet-stream\x00\x00"
    audio["SERATO_BEATGRID"] = base64.b64encode(head + b"Serato BeatGrid\x00" + GRID).decode()
    audio["SERATO_MARKERS_V2"] = base64.b64encode(head + b"Serato Markers2\x00" + CUES).decode()
    audio["BPM"] = "128"
    audio.save()
    _check(read_tags(path))


def test_untagged_and_broken_files(tmp_path: Path) -> None:
    assert read_tags(_audio(tmp_path / "plain.mp3")) is None
    broken = _audio(tmp_path / "broken.mp3")
    tags = ID3()
    tags.add(GEOB(encoding=0, mime="x", desc="Serato BeatGrid", data=b"\x01\x00\xff"))
    tags.save(str(broken))
    assert read_tags(broken) is None  # a truncated payload is ignored, not a crash
    assert read_tags(tmp_path / "missing.mp3") is None


def _field(tag: str, payload: bytes) -> bytes:
    return tag.encode() + struct.pack(">I", len(payload)) + payload


def test_database_v2_selects_tracks(tmp_path: Path, tagged_mp3: Path) -> None:
    def text(tag: str, value: str) -> bytes:
        return _field(tag, value.encode("utf-16-be"))

    track = text("ttyp", "mp3") + text("pfil", "Users/dj/Music/Serato Track.mp3")
    track += text("tbpm", "127.90") + text("tkey", "Am")
    other = text("pfil", "Users/dj/Music/Other.mp3")
    serato = tmp_path / "_Serato_"
    serato.mkdir()
    (serato / "database V2").write_bytes(
        text("vrsn", "2.0/Serato Scratch LIVE Database")
        + _field("otrk", track)
        + _field("otrk", other)
    )
    library = load_dj_library(serato)
    assert isinstance(library, SeratoLibrary)
    assert sorted(e.location for e in library.entries) == [
        "/Users/dj/Music/Other.mp3",
        "/Users/dj/Music/Serato Track.mp3",
    ]
    entry = library.match(str(tagged_mp3))
    _check(entry)
    assert entry is not None and entry.average_bpm == 128.0  # the file's own tag wins
    # A tagged file Serato does not list is left alone; the word "serato" reads any file.
    unknown = tmp_path / "Unknown.mp3"
    unknown.write_bytes(tagged_mp3.read_bytes())
    assert library.match(str(unknown)) is None
    _check(load_dj_library("serato").match(str(unknown)))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "database V2").write_bytes(b"vrsn\x00\x00\x00\x09abc")
    with pytest.raises(BadInput, match="not a Serato database V2"):
        load_dj_library(tmp_path / "bad" / "database V2")


def test_mp4_freeform_atoms(tmp_path: Path) -> None:
    import subprocess

    import imageio_ffmpeg
    from mutagen.mp4 import MP4, MP4FreeForm

    path = tmp_path / "Serato Track.m4a"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi"]
        + ["-i", "sine=frequency=220:duration=1", "-c:a", "aac", str(path)],
        check=True,
        timeout=60,
    )
    audio = MP4(str(path))
    head = b"application/octet-stream\x00\x00"
    for atom, name, data in (
        ("beatgrid", b"Serato BeatGrid", GRID),
        ("markersv2", b"Serato Markers2", CUES),
    ):
        encoded = base64.b64encode(head + name + b"\x00" + data)
        audio[f"----:com.serato.dj:{atom}"] = [MP4FreeForm(encoded)]
    audio.save()
    _check(read_tags(path))
