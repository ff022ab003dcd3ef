"""`cratebot-pi send` as README writes it: options before or after the address and its
arguments; negative numbers and -inf stay arguments. `cratebot-pi` without a sound card
points at --offline-render."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from realtime.cli import split_send_argv

ROOT = Path(__file__).resolve().parents[2]


def test_split_keeps_osc_arguments_and_finds_options_anywhere() -> None:
    assert split_send_argv(["--host", "h", "/load", "0", "a.ogg", "--timeout", "30"]) == (
        ["--host", "h", "--timeout", "30"],
        ["/load", "0", "a.ogg"],
    )
    assert split_send_argv(["/eq", "A", "low", "-inf", "--port=9"]) == (
        ["--port=9"],
        ["/eq", "A", "low", "-inf"],
    )
    assert split_send_argv(["/crossfade", "-0.5"]) == ([], ["/crossfade", "-0.5"])
    assert split_send_argv(["/x", "--", "--timeout"]) == ([], ["/x", "--timeout"])


async def test_readme_load_command_with_trailing_timeout(pi_factory, music_dir: Path) -> None:
    folder = music_dir / "set1"
    folder.mkdir()
    t = np.arange(44100 * 4) / 44100
    sf.write(folder / "track.ogg", 0.3 * np.sin(2 * np.pi * 440 * t), 44100)
    pi = pi_factory(music_dir, token="")
    env = {k: v for k, v in os.environ.items() if k != "CRATEBOT_PI_TOKEN"}
    out = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "send", "--host", "127.0.0.1", "--port",
         str(pi.port), "/load", "0", "set1/track.ogg", "--timeout", "30"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("/done /load 0")


def test_no_sound_card_hint(music_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CRATEBOT_PI_TOKEN"}
    env["SD_ENABLE_ASIO"] = "0"
    out = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "--host", "127.0.0.1", "--port", "0",
         "--music-dir", str(music_dir), "--device", "no-such-device-xyz"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 2
    assert "--offline-render" in out.stderr
    assert "Traceback" not in out.stderr
