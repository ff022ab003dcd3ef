"""Decoding never deadlocks: ffmpeg's stderr is drained while it runs, and a stalled
ffmpeg is stopped after a time proportional to the audio it produced."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.audio import decode
from core.errors import BadInput

# Stands in for an ffmpeg that writes 100 kB of warnings (more than a pipe holds) before
# its audio, then hangs: the two ways a damaged file used to block a worker for hours.
FAKE_FFMPEG = """#!/bin/sh
head -c 100000 /dev/zero | tr '\\0' 'w' | fold -w 2000 >&2
head -c 705600 /dev/zero
exec sleep 600
"""


@pytest.fixture
def hanging_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "ffmpeg"
    script.write_text(FAKE_FFMPEG)
    script.chmod(0o755)
    monkeypatch.setattr(decode, "ffmpeg_exe", lambda: str(script))
    monkeypatch.setattr(decode, "STALL_BASE_S", 4.0)
    return script


def test_stderr_flood_then_hang_ends_in_one_message(hanging_ffmpeg, tmp_path):
    source = tmp_path / "mix.mp3"
    source.write_bytes(b"x")
    frames = 0
    began = time.monotonic()
    with pytest.raises(BadInput, match="decoding stalled") as err:
        for block in decode.decode_blocks(source, 44100, 2, block_frames=4096):
            frames += len(block)
    assert frames >= 705600 // 8 - 4096  # all full blocks before the hang arrived
    assert "\n" not in str(err.value)
    # the hang is cut after the base allowance plus half the 2 s of audio produced
    assert time.monotonic() - began < 60  # generous: only proves it did end


def test_abandoned_decode_kills_ffmpeg(hanging_ffmpeg, tmp_path):
    import psutil

    source = tmp_path / "mix.mp3"
    source.write_bytes(b"x")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    blocks = decode.decode_blocks(source, 44100, 2, block_frames=4096)
    next(blocks)
    blocks.close()  # the consumer stops early (a cancelled job, an error downstream)
    after = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not [
        pid
        for pid in after
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
