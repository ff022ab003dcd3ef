"""100+ generated bad and odd files through ``id``, ``stems`` and ``analyze``.

The jobs run in-process (the same functions a worker runs), each file through all three;
a representative subset goes through the real ``cratebot`` CLI as a subprocess. Every
outcome is either success or one clean line (a ``CrateBotError``); any other exception,
a hang, a multi-line message or a file left in the work folder fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.audio.decode import decode_blocks
from core.audio.fetch import resolve_source
from core.errors import CrateBotError
from core.jobs import run_in_process
from core.settings import Settings, load_settings
from tests.hostile.files import CASES, Case, make_base, music

ROOT = Path(__file__).resolve().parents[2]
BY_ID = {case.id: case for case in CASES}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose library holds one song, so ``identify`` really decodes its input."""
    import soundfile as sf

    from core.identify.library import index_paths

    folder = tmp_path_factory.mktemp("hostile-home")
    song = folder / "known--song.wav"
    sf.write(song, music(20.0, seed=7), 44100)
    home = folder / "home"
    settings = load_settings(home=home, max_duration_s=600)
    settings.ensure_dirs()
    index_paths(settings, [song])
    return home


@pytest.fixture
def settings(hostile_home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("CRATEBOT_") and key != "CRATEBOT_FFMPEG":
            monkeypatch.delenv(key)
    return load_settings(home=hostile_home, max_duration_s=600)


def _build(case: Case, tmp_path: Path, base: dict[str, Path], monkeypatch) -> str:
    folder = tmp_path / "in"
    folder.mkdir()
    source = case.build(folder, base)
    monkeypatch.chdir(folder)  # relative names are relative to where the user is
    return source


def _outcome(run: Callable[[], object]) -> str | None:
    """``None`` on success, else the message; anything but a CrateBotError propagates."""
    try:
        run()
    except CrateBotError as exc:
        message = str(exc)
        assert message.strip(), "empty error message"
        assert "\n" not in message, f"multi-line message: {message!r}"
        assert "Traceback" not in message
        assert len(message) < 400, f"overlong message: {message!r}"
        return message
    return None


def _check(case: Case, message: str | None) -> None:
    if case.kind == "bad":
        assert message is not None, f"{case.id} was accepted"


def _empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_decode_path(case, base, settings, tmp_path, monkeypatch):
    """Probe + full decode: the path every job takes first."""
    source = _build(case, tmp_path, base, monkeypatch)

    def run() -> None:
        info = resolve_source(source, tmp_path / "work", settings)
        for _ in decode_blocks(info.path, 22050, 1):
            pass

    _check(case, _outcome(run))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_analyze(case, base, settings, tmp_path, monkeypatch):
    from core.sections.sources import analysis_for_file, local_path

    source = _build(case, tmp_path, base, monkeypatch)
    message = _outcome(lambda: analysis_for_file(local_path(source), settings, None))
    _check(case, message)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_identify(case, base, settings, tmp_path, monkeypatch):
    from core.identify.job import identify_job

    source = _build(case, tmp_path, base, monkeypatch)
    work = tmp_path / "job"
    message = _outcome(
        lambda: run_in_process(
            identify_job, {"source": source, "recognizers": ["local"]}, work, settings
        )
    )
    _check(case, message)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_stems(case, base, settings, tmp_path, monkeypatch, model_repo):
    from core.stems.job import stems_job

    source = _build(case, tmp_path, base, monkeypatch)
    # ``summix`` (the tiny pass-through model) keeps the odd-but-valid files fast; every
    # other step of the stems pipeline (decode, windows, writers, zip) runs for real.
    params = {"source": source, "model": "summix", "model_repo": str(model_repo), "format": "wav"}
    message = _outcome(lambda: run_in_process(stems_job, params, tmp_path / "job", settings))
    _check(case, message)


# -- a representative subset through the real CLI ------------------------------------

CLI_CASES = [
    "corrupt-throughout-90s-mp3",
    "nan-middle",
    "symlink-loop",
    "name-300-bytes",
    "fifo",
]


def _cli(args: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "CRATEBOT_HOME": str(home),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_cli_subset(case_id, base, hostile_home, tmp_path, monkeypatch, model_repo):
    case = BY_ID[case_id]
    source = _build(case, tmp_path, base, monkeypatch)
    cwd = tmp_path / "in"
    home = tmp_path / "clihome"
    import shutil

    shutil.copytree(hostile_home, home)
    commands = [
        ["id", source, "--recognizers", "local"],
        ["analyze", source],
        ["stems", source, "--model", "summix", "--model-repo", str(model_repo), "--out", "o"],
    ]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(commands)) as pool:
        runs = list(pool.map(lambda command: _cli(command, home, cwd), commands))
    for run in runs:
        assert "Traceback" not in run.stderr, run.stderr
        assert run.returncode != 0
        lines = [line for line in run.stderr.splitlines() if line.startswith("cratebot:")]
        assert len(lines) == 1, run.stderr
    assert _empty(home / "work"), list((home / "work").iterdir())


def test_cli_relative_name_with_colon_is_a_file(base, tmp_path, monkeypatch, hostile_home):
    """``Live:Set.wav`` is a file in the working folder, not an ffmpeg protocol."""
    source = _build(BY_ID["name-colon"], tmp_path, base, monkeypatch)
    run = _cli(["analyze", source, "--json"], tmp_path / "clihome", tmp_path / "in")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
