"""The ``sections`` job end to end on synthetic tracks: selection, exact cuts, stretch, CSV, zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from core.analysis import analyze_track
from core.audio import decode_array
from core.errors import BadInput
from core.jobs import LocalProgress, run_in_process
from core.sections.job import sections_job
from core.sections.report import CSV_COLUMNS, read_csv
from storage.analysis import AnalysisStore
from tests.analysis.synth import make_track


@pytest.fixture(scope="module")
def crate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crate")
    make_track(folder / "slow one.wav", bpm=120.0, bars=24, intro_bars=8, outro_bars=4)
    make_track(
        folder / "fast.wav",
        bpm=126.0,
        bars=24,
        intro_bars=4,
        outro_bars=4,
        lead_in_s=0.2,
        root_hz=196.0,
    )  # G minor progression
    make_track(folder / "ballad.wav", bpm=100.0, bars=16, intro_bars=4, outro_bars=4)
    return folder


def _run(settings, workdir: Path, **params):
    seen: list[tuple[float, str]] = []
    output = run_in_process(
        sections_job,
        params,
        workdir,
        settings,
        LocalProgress(lambda f, t: seen.append((f, t)), 0.0),
    )
    return output, seen


def test_sections_job(settings, crate: Path, tmp_path: Path) -> None:
    work = tmp_path / "job"
    output, seen = _run(
        settings, work, sources=[str(crate)], bpm=123.0, delta=3.5, target_bpm=122.5, bars=8
    )
    result = output.result
    assert result["count"] == 2
    parts = sorted(
        name for s in result["selected"] for name in (s["part_file"], s["part_file_orig"])
    )
    assert sorted(output.files) == sorted(["sections.csv", "sections.zip", *parts])
    assert all(name.startswith("parts/") for name in parts)
    assert [Path(s["path"]).name for s in result["skipped"]] == ["ballad.wav"]
    assert "outside 119.5-126.5" in result["skipped"][0]["reason"]
    assert seen[-1][0] == 1.0 and any("exporting" in t for _f, t in seen)

    rows = read_csv(work / "sections.csv")
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    for row in rows:
        sr = soundfile.info(str(work / row["part_file"])).samplerate
        bpm, target, speed = float(row["bpm"]), float(row["target_bpm"]), float(row["speed"])
        ini, begin, end = (float(row[c]) for c in ("ini_cue", "begin_cue", "end_cue"))
        assert speed == pytest.approx(target / bpm, rel=1e-12)
        assert float(row["begin_cue_adj"]) == pytest.approx((begin - ini) / speed, rel=1e-12)
        assert float(row["end_cue_adj"]) == pytest.approx((end - ini) / speed, rel=1e-12)
        orig_frames = soundfile.info(str(work / row["part_file_orig"])).frames
        part_frames = soundfile.info(str(work / row["part_file"])).frames
        assert orig_frames == round((end - ini) * sr)
        assert float(row["duration_orig"]) * sr == pytest.approx(orig_frames, abs=1e-6)
        assert float(row["duration_sectioned"]) * sr == pytest.approx(part_frames, abs=1e-6)
        # duration_sectioned == duration_orig / speed, to the sample.
        assert abs(part_frames - orig_frames / speed) <= 0.5
        # The original-speed crop is exactly those samples of the source.
        source = decode_array(row["path"], sr, 2)
        crop, _ = soundfile.read(str(work / row["part_file_orig"]), dtype="float32")
        start = round(ini * sr)
        assert np.abs(source[start : start + orig_frames] - crop).max() < 2.0 / 32768
        # The section starts on the downbeat that ends the intro.
        name = Path(row["path"]).name
        true_start = 8 * 4 * 0.5 if name == "slow one.wav" else 0.2 + 4 * 4 * 60 / 126
        assert ini == pytest.approx(true_start, abs=0.03)
        assert end - ini == pytest.approx(8 * 4 * 60 / bpm, abs=0.03)

    # The stretched part really runs at the target tempo, in the same key (pitch kept).
    fast = next(r for r in rows if Path(r["path"]).name == "fast.wav")
    stretched = analyze_track(work / fast["part_file"])
    assert stretched.bpm == pytest.approx(122.5, rel=0.01)
    assert fast["key"] == "Gm" and stretched.key == "Gm"
    # Adjusted cues land on beats of the stretched audio.
    beats = np.asarray(stretched.beats)
    assert np.abs(beats - float(fast["begin_cue_adj"])).min() < 0.03

    with zipfile.ZipFile(work / "sections.zip") as archive:
        names = set(archive.namelist())
    assert "sections.csv" in names
    assert {r["part_file"] for r in rows} | {r["part_file_orig"] for r in rows} <= names

    # Every analysed file is now in the library, keyed by path and content.
    with AnalysisStore(settings.database_url) as store:
        assert len(store.all()) == 3


def test_library_key_filter_and_rekordbox_override(settings, crate: Path, tmp_path: Path) -> None:
    _run(settings, tmp_path / "first", sources=[str(crate / "slow one.wav")], bpm=120, bars=4)
    xml = tmp_path / "rb.xml"
    xml.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0"><PRODUCT Name="rekordbox" Version="6" Company="AlphaTheta"/>
<COLLECTION Entries="1">
<TRACK TrackID="1" Name="x" Location="file://localhost/D:/DJ/slow%20one.wav" AverageBpm="118.00"
 Tonality="6A" TotalTime="50">
 <TEMPO Inizio="0.0" Bpm="120.00" Metro="4/4" Battito="1"/>
 <POSITION_MARK Name="" Type="0" Start="0.0" Num="-1"/>
 <POSITION_MARK Name="" Type="0" Start="4.0" Num="0"/>
</TRACK></COLLECTION><PLAYLISTS><NODE Type="0" Name="ROOT" Count="0"/></PLAYLISTS>
</DJ_PLAYLISTS>""",
        encoding="utf-8",
    )
    before = xml.read_bytes()
    # Without the XML the track (120 BPM, Am) is neither near 118 nor in G minor.
    with pytest.raises(BadInput, match="no track gave a section"):
        _run(settings, tmp_path / "plain", library=True, bpm=118, delta=0.5, key="Gm")
    output, _ = _run(
        settings,
        tmp_path / "rb",
        library=True,
        bpm=118,
        delta=0.5,
        key="Gm",
        bars=4,
        rekordbox_xml=str(xml),
    )
    (row,) = output.result["selected"]
    assert row["bpm"] == 118.0 and row["key"] == "Gm" and row["camelot"] == "6A"
    assert set(row["rekordbox"]) == {"bpm", "key", "grid", "cue"}
    assert row["ini_cue"] == pytest.approx(4.0, abs=1e-4)  # the hot cue, on the XML grid
    assert row["end_cue"] == pytest.approx(4.0 + 16 * 0.5, abs=1e-4)
    assert row["speed"] == pytest.approx(1.0)
    assert xml.read_bytes() == before
    # --harmonic admits Camelot neighbours: 6A (Gm) is next to 5A (Cm).
    output, _ = _run(
        settings,
        tmp_path / "harm",
        library=True,
        bpm=118,
        delta=0.5,
        key="Cm",
        harmonic=True,
        bars=4,
        rekordbox_xml=str(xml),
    )
    assert output.result["count"] == 1


def test_struct_dir_and_bad_requests(settings, crate: Path, tmp_path: Path) -> None:
    from core.analysis.model import write_struct_file

    structs = tmp_path / "struct"
    analysis = analyze_track(crate / "fast.wav")
    analysis.path = "C:/elsewhere/fast.wav"  # a path from another machine: found by name
    write_struct_file(analysis, structs)
    output, _ = _run(
        settings, tmp_path / "s", struct_dir=str(structs), audio_dir=str(crate), bpm=126, bars=4
    )
    assert output.result["count"] == 1
    with pytest.raises(BadInput, match="needs --bpm"):
        _run(settings, tmp_path / "b1", sources=[str(crate)])
    with pytest.raises(BadInput, match="give tracks"):
        _run(settings, tmp_path / "b2", bpm=120)
    with pytest.raises(BadInput, match="too short for 64 bars"):
        _run(settings, tmp_path / "b3", sources=[str(crate / "fast.wav")], bpm=126, bars=64)
    with pytest.raises(BadInput, match="no tracks|the library holds no"):
        _run(
            settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}/e.db"}),
            tmp_path / "b4",
            library=True,
            bpm=120,
        )


def test_alternative_tempo_is_honoured(settings, crate: Path, tmp_path: Path) -> None:
    """An ambiguous track (126 BPM, or 63) asked for at 63 is cut on a 63 BPM grid."""
    from core.analysis.model import write_struct_file

    structs = tmp_path / "struct"
    analysis = analyze_track(crate / "fast.wav")
    assert analysis.bpm == pytest.approx(126.0, rel=0.01)
    analysis.bpm_alternatives = [analysis.bpm / 2]
    write_struct_file(analysis, structs)
    output, _ = _run(
        settings, tmp_path / "alt", struct_dir=str(structs), audio_dir=str(crate), bpm=63, bars=2
    )
    [row] = output.result["selected"]
    assert row["alternative_tempo"] is True
    assert row["bpm"] == pytest.approx(analysis.bpm / 2, rel=1e-3)
    assert row["bpm_alternatives"][0] == pytest.approx(analysis.bpm, abs=0.01)
    # Two bars at 63 BPM: 8 beats of the half-tempo grid, 16 of the track's own beats.
    assert row["end_cue"] - row["ini_cue"] == pytest.approx(8 * 60.0 / row["bpm"], rel=0.01)
    # Without the alternative the same request finds nothing, and says why.
    analysis.bpm_alternatives = []
    write_struct_file(analysis, structs)
    with pytest.raises(BadInput, match="is outside 61-65"):
        _run(settings, tmp_path / "none", struct_dir=str(structs), audio_dir=str(crate), bpm=63)
