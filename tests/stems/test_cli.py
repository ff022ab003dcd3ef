"""``cratebot stems`` end to end, and the job function the runner calls."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.audio import decode_array
from core.jobs import LocalProgress, run_in_process
from core.stems.job import stems_job
from core.stems.loudness import LoudnessMeter
from core.stems.package import zip_matches_manifest
from tests.stems.conftest import RATE, music_like, write_wav

ROOT = Path(__file__).resolve().parents[2]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRATEBOT_HOME": str(home), "CRATEBOT_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "stems", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_minus_equals_input_minus_that_stem(home: Path, tmp_path: Path, model_repo: Path) -> None:
    song = write_wav(tmp_path / "song.wav", music_like(7.0, seed=2, peak=0.4))
    out = tmp_path / "out"
    proc = _cli(
        home,
        str(song),
        "--model",
        "summix",
        "--model-repo",
        str(model_repo),
        "--minus",
        "vocals",
        "--format",
        "wav",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    manifest = printed["manifest"]
    assert Path(printed["zip"]).parent == out.resolve()
    assert [Path(f).name for f in printed["files"]] == [
        "drums.wav",
        "bass.wav",
        "other.wav",
        "vocals.wav",
        "no_vocals.wav",
    ]
    assert all(f["gain_db"] == 0.0 for f in manifest["files"])  # no rescaling happened
    mix = decode_array(song)
    vocals, _ = sf.read(out / "vocals.wav", dtype="float32")
    backing, _ = sf.read(out / "no_vocals.wav", dtype="float32")
    assert backing.shape == mix.shape
    # SumToMix's stems add up to its input, so the backing track is the input minus vocals
    np.testing.assert_allclose(backing, mix - vocals, atol=2e-4)
    assert np.abs(vocals).max() > 0.01  # and the vocals stem is not trivially empty
    # manifest: input hash and duration, per-file durations, zip contents
    assert manifest["input"]["sha256"] == hashlib.sha256(song.read_bytes()).hexdigest()
    assert manifest["input"]["duration_s"] == pytest.approx(7.0)
    assert all(f["duration_s"] == pytest.approx(7.0) for f in manifest["files"])
    assert zip_matches_manifest(Path(printed["zip"])) == []
    with zipfile.ZipFile(printed["zip"]) as archive:
        assert json.loads(archive.read("manifest.json")) == manifest
    assert manifest["software"]["demucs"] == "4.1.0"


@pytest.mark.slow
def test_two_stems_mp3_prints_the_zip_path(
    home: Path, tmp_path: Path, model_repo: Path, song6: Path
) -> None:
    out = tmp_path / "o"
    proc = _cli(
        home,
        str(song6),
        "--model",
        "tinybag",
        "--model-repo",
        str(model_repo),
        "--two-stems",
        "vocals",
        "--bitrate",
        "192",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    zip_path = Path(proc.stdout.strip())
    assert zip_path == (out / "song6-stems.zip").resolve()
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "no_vocals.mp3", "vocals.mp3"]
        manifest = json.loads(archive.read("manifest.json"))
    assert zip_matches_manifest(zip_path) == []
    assert manifest["parameters"]["bitrate_kbps"] == 192
    decoded = decode_array(out / "vocals.mp3")
    assert abs(len(decoded) / RATE - 6.0) < 0.1
    assert manifest["files"][0]["exceeds_discord_limit"] is False


@pytest.mark.slow
def test_silent_input(home: Path, tmp_path: Path, model_repo: Path) -> None:
    song = write_wav(tmp_path / "silence.wav", np.zeros((RATE * 5, 2), dtype=np.float32))
    out = tmp_path / "out"
    proc = _cli(
        home,
        str(song),
        "--model",
        "tinyht",
        "--model-repo",
        str(model_repo),
        "--format",
        "flac",
        "--normalize",
        "-14",
        "--hpss",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)["manifest"]
    assert len(manifest["files"]) == 6
    for entry in manifest["files"]:
        assert entry["integrated_lufs"] is None
        assert entry["gain_db"] == 0.0
        data, _ = sf.read(out / entry["file"], dtype="float32")
        assert len(data) == RATE * 5 and np.isfinite(data).all()
        assert np.abs(data).max() < 1e-3
    assert "NaN" not in proc.stdout and "Infinity" not in proc.stdout


def test_non_audio_input_is_refused(home: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp3"
    bogus.write_text("this is not audio\n" * 50)
    proc = _cli(home, str(bogus), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "notes.mp3" in proc.stderr and "not an audio file" in proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


def test_bad_flag_value_is_refused_before_any_work(home: Path, tmp_path: Path) -> None:
    proc = _cli(home, str(tmp_path / "whatever.wav"), "--bitrate", "333")
    assert proc.returncode == 2 and "MP3 bitrates" in proc.stderr


@pytest.mark.slow
def test_job_function_progress_and_outputs(
    settings, tmp_path: Path, model_repo: Path, song6: Path
) -> None:
    seen: list[tuple[float, str]] = []
    work = tmp_path / "job"
    output = run_in_process(
        stems_job,
        {
            "source": str(song6),
            "model": "tinyht",
            "model_repo": str(model_repo),
            "stems": ["bass", "drums"],
            "format": "flac",
            "normalize": -20,
        },
        work,
        settings,
        LocalProgress(lambda f, t: seen.append((f, t)), min_interval_s=0),
    )
    json.dumps(output.result)  # JSON-safe
    assert output.files[0] == output.result["zip"]
    assert set(output.files) == {"song6-stems.zip", "bass.flac", "drums.flac", "manifest.json"}
    assert all((work / name).is_file() for name in output.files)
    assert not (work / "scratch").exists()
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("% of the audio" in text for _, text in seen)
    # the loudness stated in the manifest is the loudness of the file written
    for entry in output.result["manifest"]["files"]:
        data, _ = sf.read(work / entry["file"], dtype="float32")
        meter = LoudnessMeter(RATE, 2)
        meter.feed(data)
        assert meter.report().integrated_lufs == pytest.approx(entry["integrated_lufs"], abs=0.05)
        if not entry["peak_limited"]:
            assert entry["integrated_lufs"] == pytest.approx(-20, abs=0.05)


@pytest.mark.slow
@pytest.mark.shared
def test_real_track_excerpt(
    shared_audio: Path, shared_tracks: list[dict], settings, tmp_path: Path, model_repo: Path
) -> None:
    from core.audio.ffmpeg import ffmpeg_exe

    track = shared_audio / shared_tracks[0]["file"]
    excerpt = tmp_path / "excerpt.ogg"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-ss",
            "20",
            "-t",
            "8",
            "-i",
            str(track),
            "-c:a",
            "libvorbis",
            str(excerpt),
        ],
        check=True,
    )
    output = run_in_process(
        stems_job,
        {
            "source": str(excerpt),
            "model": "summix",
            "model_repo": str(model_repo),
            "hpss": True,
            "format": "wav",
            "two_stems": "vocals",
        },
        tmp_path / "job",
        settings,
    )
    mix = decode_array(excerpt)
    harmonic, _ = sf.read(tmp_path / "job" / "harmonic.wav", dtype="float32")
    percussive, _ = sf.read(tmp_path / "job" / "percussive.wav", dtype="float32")
    gain = 10 ** (output.result["manifest"]["files"][-1]["gain_db"] / 20)
    np.testing.assert_allclose((harmonic + percussive) / gain, mix, atol=5e-3)
    assert zip_matches_manifest(tmp_path / "job" / output.result["zip"]) == []
