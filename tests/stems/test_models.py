"""Loading models by name through demucs' own repo code, and failing fast without weights."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from demucs.apply import BagOfModels
from demucs.htdemucs import HTDemucs

from core.errors import BadInput, NotAvailable
from core.stems import models
from core.stems.models import hub_reachable, known_model_names, load_model
from tests.stems.tiny_models import save_package, tiny_htdemucs, write_bag

ROOT = Path(__file__).resolve().parents[2]


def test_known_names_cover_demucs_pretrained() -> None:
    names = known_model_names()
    for name in ("htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra", "mdx_extra_q"):
        assert name in names


def test_loads_single_model_by_signature(model_repo: Path) -> None:
    loaded = load_model("tinyht", model_repo)
    assert isinstance(loaded.model, HTDemucs)
    assert loaded.sources == ["drums", "bass", "other", "vocals"]
    assert not loaded.model.training
    assert str(model_repo) in loaded.origin
    # The half-precision state demucs saves was loaded into the same architecture.
    reference = tiny_htdemucs()
    for (key, saved), (_, original) in zip(
        loaded.model.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.allclose(saved.float(), original.float().half().float()), key


def test_loads_bag_by_yaml_name(model_repo: Path) -> None:
    loaded = load_model("tinybag", model_repo)
    assert isinstance(loaded.model, BagOfModels)
    assert len(loaded.submodels) == 1
    assert loaded.describe()["segment_s"] == [2.0]


def test_corrupt_package_is_refused_by_checksum(tmp_path: Path) -> None:
    path = save_package(tiny_htdemucs(), tmp_path / "broken.th")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(NotAvailable, match="checksum"):
        load_model("broken", tmp_path)


def test_bag_with_missing_member_names_the_file(tmp_path: Path) -> None:
    write_bag(tmp_path, "halfbag", ["abc12345"])
    with pytest.raises(NotAvailable, match=r"abc12345"):
        load_model("halfbag", tmp_path)


def test_missing_repo_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        load_model("htdemucs", tmp_path / "nope")


def test_unknown_name_lists_the_pretrained_names(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="htdemucs_ft"):
        load_model("no_such_model", tmp_path, hf_cache=tmp_path, torch_checkpoints=tmp_path)


def test_unreachable_hub_fails_fast_with_instructions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loopback port nobody listens on stands in for a hub that cannot be reached.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("CRATEBOT_OFFLINE", raising=False)
    monkeypatch.setattr(models, "_HUB_HOST", "127.0.0.1")
    monkeypatch.setattr(models, "_HUB_PORT", port)
    started = time.monotonic()
    with pytest.raises(NotAvailable) as info:
        load_model("htdemucs", None, hf_cache=tmp_path / "hf", torch_checkpoints=tmp_path / "th")
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "'htdemucs'" in message
    assert str(tmp_path / "hf") in message and str(tmp_path / "th") in message
    assert "--model-repo" in message and "CRATEBOT_DEMUCS_REPO" in message
    assert "955717e8-8726e21a.th" in message  # the file to fetch, by name


def test_torch_hub_cache_is_used_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file already in torch hub's cache under htdemucs' signature file name is loaded."""
    monkeypatch.setenv("CRATEBOT_OFFLINE", "1")
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    saved = save_package(tiny_htdemucs(seed=3), tmp_path / "tmp.th")
    saved.rename(checkpoints / "955717e8-8726e21a.th")
    loaded = load_model("htdemucs", None, hf_cache=tmp_path / "hf", torch_checkpoints=checkpoints)
    assert isinstance(loaded.model, BagOfModels)
    assert "torch hub cache" in loaded.origin
    assert loaded.describe()["parameters"] == sum(p.numel() for p in tiny_htdemucs().parameters())


def test_hub_probe_sees_a_listening_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert hub_reachable("127.0.0.1", port, timeout_s=2)
    assert not hub_reachable("127.0.0.1", port, timeout_s=2)


@pytest.mark.slow
def test_cli_without_weights_exits_quickly(tmp_path: Path, home: Path) -> None:
    from tests.stems.conftest import music_like, write_wav

    song = write_wav(tmp_path / "song.wav", music_like(2.0))
    env = {
        **os.environ,
        "CRATEBOT_HOME": str(home),
        "CRATEBOT_OFFLINE": "1",
        "TORCH_HOME": str(tmp_path / "torch"),
        "HF_HOME": str(tmp_path / "hf"),
    }
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "stems", str(song), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 60  # the import of torch dominates; no hub retries
    assert proc.returncode == 2, proc.stderr
    assert "htdemucs" in proc.stderr and str(tmp_path / "torch") in proc.stderr
    assert "--model-repo" in proc.stderr
    assert proc.stdout == ""
