"""``cratebot sections`` with a DJ library in and prepared cues out, as a user runs it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import soundfile
from pyrekordbox.rbxml import RekordboxXml

from core.analysis.model import write_struct_file
from core.errors import BadInput
from core.jobs import LocalProgress, run_in_process
from core.sections.job import sections_job
from tests.analysis.synth import make_track
from tests.analysis.test_cli import cratebot
from tests.analysis.test_cues_select import grid_track
from tests.djlibrary.exports import rekordbox6_demo, traktor_nml

SR = 44100
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_crate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MP3s named like the Rekordbox demo tracks, their grids 25 ms in like the export's."""
    folder = tmp_path_factory.mktemp("Demo Tracks")
    for name, bpm, bars, intro in (("Demo Track 2", 120.0, 60, 24), ("Demo Track 1", 128.0, 84, 8)):
        wav = folder / f"{name}.wav"
        make_track(wav, bpm=bpm, bars=bars, intro_bars=intro, outro_bars=8, lead_in_s=0.025)
        audio, rate = soundfile.read(str(wav))
        soundfile.write(str(folder / f"{name}.mp3"), audio, rate, format="MP3")
        wav.unlink()
    return folder


def test_rekordbox6_export_gives_exact_bars_and_cues_xml(
    home: Path, tmp_path: Path, demo_crate: Path
) -> None:
    library = tmp_path / "rekordbox" / "database.xml"
    library.parent.mkdir()
    library.write_text(rekordbox6_demo(), encoding="utf-8")
    digest = hashlib.sha256(library.read_bytes()).hexdigest()
    out, cues_xml = tmp_path / "out", tmp_path / "set" / "prepared.xml"
    args = ["sections", str(demo_crate), "--bpm", "124", "--delta", "5", "--out", str(out)]
    done = cratebot(
        home, *args, "--dj-library", str(library), "--cues-out", str(cues_xml), "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    rows = {Path(r["path"]).stem: r for r in result["selected"]}
    assert set(rows) == {"Demo Track 1", "Demo Track 2"}
    for stem, bpm in (("Demo Track 2", 120.0), ("Demo Track 1", 128.0)):
        row = rows[stem]
        assert row["bpm"] == bpm and row["key"] == "Fm" and row["dj_library"] == "rekordbox"
        assert set(row["rekordbox"]) == {"bpm", "key", "grid"}
        # 16 bars are 64 beats of the export's grid, to the sample: 32.000 s at 120 BPM.
        assert row["duration_orig"] == 64 * 60.0 / bpm
        info = soundfile.info(str(out / row["part_file_orig"]))
        assert info.frames == round(64 * 60.0 / bpm * SR)
        assert soundfile.info(str(out / row["part_file"])).frames == round(64 * 60.0 / 124 * SR)
        beats_in = (row["ini_cue"] - 0.025) * bpm / 60
        assert abs(beats_in - 4 * round(beats_in / 4)) < 1e-3  # the section starts on a downbeat
    assert hashlib.sha256(library.read_bytes()).hexdigest() == digest  # never modified

    xml = RekordboxXml(str(cues_xml))
    tracks = xml.get_tracks()
    assert len(tracks) == 2
    for track in tracks:
        part = Path("/" + track["Location"].lstrip("/"))
        assert part.is_file() and part.parent == out / "parts"
        assert [(t["Inizio"], t["Bpm"], t["Battito"]) for t in track.tempos] == [(0.0, 124.0, 1)]
        marks = sorted((m["Num"], m["Name"], m["Start"]) for m in track.marks)
        assert marks == [
            (-1, "begin", pytest.approx(48 * 60 / 124, abs=1e-3)),
            (-1, "end", pytest.approx(64 * 60 / 124, abs=1e-3)),
            (-1, "ini", 0.0),
            (0, "ini", 0.0),
            (1, "begin", pytest.approx(48 * 60 / 124, abs=1e-3)),
            (2, "end", pytest.approx(64 * 60 / 124, abs=1e-3)),
        ]
    playlist = xml.get_playlist("CrateBot sections 124 BPM")
    assert len(playlist.get_tracks()) == 2

    # The older flag reads the same file the same way (the analyses are reused).
    done = cratebot(
        home, *args[:-1], str(tmp_path / "o2"), "--rekordbox-xml", str(library), "--json"
    )
    assert done.returncode == 0, done.stderr
    again = {Path(r["path"]).stem: r["duration_orig"] for r in json.loads(done.stdout)["selected"]}
    assert again == {"Demo Track 2": 32.0, "Demo Track 1": 30.0}


def test_bad_dj_flags(home: Path, tmp_path: Path, demo_crate: Path) -> None:
    library = tmp_path / "database.xml"
    library.write_text(rekordbox6_demo(), encoding="utf-8")
    base = ["sections", str(demo_crate / "Demo Track 1.mp3"), "--bpm", "128"]
    done = cratebot(home, *base, "--dj-library", str(library), "--cues-out", str(library))
    assert done.returncode != 0 and "must be a new file" in done.stderr
    assert "Traceback" not in done.stderr
    done = cratebot(home, *base, "--cues-out", str(tmp_path / "cues.txt"))
    assert done.returncode != 0 and "give a .xml file" in done.stderr
    done = cratebot(home, *base, "--dj-library", str(tmp_path / "crate.m3u"))
    assert done.returncode != 0 and "crate.m3u" in done.stderr
    assert "Traceback" not in done.stderr
    done = cratebot(home, *base, "--dj-library", str(library), "--rekordbox-xml", str(library))
    assert done.returncode != 0 and "not both" in done.stderr


def test_traktor_grid_and_cue_in_a_job(settings, tmp_path: Path) -> None:
    """A Traktor grid anchor and "Mix in" hot cue decide the cut (analysis from a JSON)."""
    audio = tmp_path / "Deep House"
    audio.mkdir()
    make_track(audio / "Deep One.wav", bpm=122.0, bars=24, intro_bars=8, outro_bars=4)
    analysis = grid_track(bpm=121.0, bars=24, first=0.4)  # a wrong analysis
    analysis.path = "/elsewhere/Deep One.mp3"
    write_struct_file(analysis, tmp_path / "struct")
    nml = tmp_path / "collection.nml"
    nml.write_text(traktor_nml(), encoding="utf-8")
    # The NML names an .mp3; the JSON's path too: matched by name, cut from the WAV next to it.
    (audio / "Deep One.mp3").symlink_to(audio / "Deep One.wav")
    output = run_in_process(
        sections_job,
        {
            "struct_dir": str(tmp_path / "struct"),
            "audio_dir": str(audio),
            "bpm": 122,
            "bars": 4,
            "dj_library": str(nml),
        },
        tmp_path / "work",
        settings,
        LocalProgress(lambda f, t: None, 0.0),
    )
    (row,) = output.result["selected"]
    assert row["dj_library"] == "traktor" and row["ini_source"] == "traktor cue"
    assert row["key"] == "Gm" and row["bpm"] == 122.0
    period = 60 / 122
    # The hot cue at 15.851 s snaps to the grid beat nearest it: anchor + 32 beats.
    assert row["ini_cue"] == pytest.approx(0.113562 + 32 * period, abs=0.5 / SR)
    assert row["duration_orig"] == pytest.approx(16 * period, abs=0.5 / SR)
    with pytest.raises(BadInput, match="not a DJ library I can read"):
        run_in_process(
            sections_job,
            {"struct_dir": str(tmp_path / "struct"), "bpm": 122, "dj_library": str(audio)},
            tmp_path / "work2",
            settings,
            LocalProgress(lambda f, t: None, 0.0),
        )
