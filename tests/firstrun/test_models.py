"""`cratebot models`: what is here, importing weights, and stems without any download."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.errors import NotAvailable
from core.stems.model_store import import_folder, list_models
from core.stems.models import load_model
from tests.stems.tiny_models import save_package, tiny_htdemucs

ROOT = Path(__file__).resolve().parents[2]


def cratebot(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRATEBOT_HOME": str(home), "CRATEBOT_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_list_names_every_model_demucs_knows(tmp_path: Path) -> None:
    out = cratebot("models", "list", "--json", home=tmp_path)
    assert out.returncode == 0, out.stderr
    import json

    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert {"htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra", "demucs_unittest"} <= set(rows)
    assert rows["demucs_unittest"]["present"] is True
    assert rows["htdemucs"]["present"] is False
    assert "955717e8-8726e21a.th" in rows["htdemucs"]["where"]


def test_path_lists_the_model_folder_first(tmp_path: Path) -> None:
    out = cratebot("models", "path", home=tmp_path)
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].startswith(f"1. {tmp_path / 'models'}")


def test_unittest_model_loads_without_weights() -> None:
    loaded = load_model("demucs_unittest", allow_download=False)
    assert loaded.sources == ["drums", "bass", "other", "vocals"]
    assert "untrained" in loaded.origin


def test_no_weights_error_is_three_numbered_steps(tmp_path: Path) -> None:
    with pytest.raises(NotAvailable) as info:
        load_model("htdemucs", hf_cache=tmp_path, torch_checkpoints=tmp_path, allow_download=False)
    text = str(info.value)
    for step in ("1. ", "2. ", "3. "):
        assert step in text
    assert "cratebot models fetch htdemucs" in text
    assert "cratebot models import" in text
    assert "demucs_unittest" in text


def test_import_checks_checksums_and_stems_then_finds_the_model(tmp_path: Path) -> None:
    source = tmp_path / "downloads"
    source.mkdir()
    good = save_package(tiny_htdemucs(), source / "tinyht.th")
    bad = source / "deadbeef-00000000.th"
    bad.write_bytes(b"not a model")
    home = tmp_path / "home"

    out = cratebot("models", "import", str(source), home=home)
    assert out.returncode == 0, out.stderr
    assert f"imported {good.name}" in out.stdout
    assert "deadbeef-00000000.th: checksum does not match" in out.stderr
    assert (home / "models" / good.name).is_file()
    assert not (home / "models" / bad.name).exists()

    song = tmp_path / "song.wav"
    t = np.arange(44100 * 3) / 44100
    sf.write(song, np.stack([np.sin(2 * np.pi * 220 * t)] * 2, axis=1) * 0.3, 44100)
    out = cratebot(
        "stems", str(song), "--model", "tinyht", "--out", str(tmp_path / "stems"), home=home
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "stems" / "manifest.json").is_file()


def test_import_refuses_a_folder_without_weights(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = cratebot("models", "import", str(tmp_path / "empty"), home=tmp_path / "home")
    assert out.returncode == 2
    assert "no Demucs files" in out.stderr
    assert "Traceback" not in out.stderr


def test_fetch_offline_says_what_to_do_instead(tmp_path: Path) -> None:
    out = cratebot("models", "fetch", "htdemucs", home=tmp_path)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "cratebot models import" in out.stderr or "cannot be reached" in out.stderr


def test_unknown_name_is_refused(tmp_path: Path) -> None:
    out = cratebot("models", "fetch", "no_such_model", home=tmp_path)
    assert out.returncode == 2
    assert "unknown Demucs model 'no_such_model'" in out.stderr


def test_store_lists_imported_bag_as_present(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    save_package(tiny_htdemucs(), source / "tinyht.th")
    copied, problems = import_folder(source, tmp_path / "repo")
    assert copied and not problems
    assert {r.name for r in list_models(tmp_path / "repo") if r.present} == {"demucs_unittest"}
