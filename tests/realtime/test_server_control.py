"""Start groups, loading replies and refusals, the signal flush, through the real server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from realtime.client import PiClient, PiCommandError

from .conftest import ROOT
from .signals import SR, one_sided_impulse, write


async def test_start_group_starts_two_decks_on_the_same_sample(pi_factory, music_dir):
    write(music_dir, "left.wav", one_sided_impulse(0, seconds=20.0))
    write(music_dir, "right.wav", one_sided_impulse(1, seconds=20.0))
    pi = pi_factory(music_dir, "--stretch-method", "playback_rate", speed=4.0)
    client = pi.client(timeout=30)
    loads = [
        asyncio.create_task(client.send("/load", 0, "left.wav", 120.0)),
        asyncio.create_task(client.send("/load", 1, "right.wav", 120.0)),
    ]
    # Send the group while both loads are still in flight: it must wait for them.
    for _ in range(200):
        if (await client.status())["loading"] == ["A", "B"]:
            break
        await asyncio.sleep(0.005)
    else:
        pytest.fail("never saw both decks loading")
    group = await client.send("/start_group", 0, 1)
    assert group == ()
    assert [await t for t in loads] == [(0,), (1,)]
    state = await client.status()
    d0, d1 = state["decks"][0], state["decks"][1]
    assert d0["playing"] or d0["ended"]
    assert d0["started_sample"] == d1["started_sample"] >= 0
    await pi.wait_engine_time(d0["started_sample"] / SR + 0.5)
    audio, _ = pi.stop()
    first_left = int(np.flatnonzero(np.abs(audio[:, 0]) > 0.5)[0])
    first_right = int(np.flatnonzero(np.abs(audio[:, 1]) > 0.5)[0])
    assert first_left == first_right == d0["started_sample"]


async def test_load_outside_music_dir_and_missing_file_reply_error(pi_factory, music_dir, tmp_path):
    (tmp_path / "secret.wav").write_bytes(b"x")
    (music_dir / "escape.wav").symlink_to(tmp_path / "secret.wav")
    pi = pi_factory(music_dir)
    client = pi.client()
    for path in ("../../etc/passwd", "/etc/passwd", "escape.wav", "sub/../../secret.wav"):
        with pytest.raises(PiCommandError, match="outside the music folder|must be relative"):
            await client.send("/load", 0, path)
    with pytest.raises(PiCommandError, match="no such file"):
        await client.send("/load", 0, "missing.wav")
    (music_dir / "broken.wav").write_bytes(b"not audio at all")
    with pytest.raises(PiCommandError, match="cannot decode"):
        await client.send("/load", 0, "broken.wav", timeout=30)
    with pytest.raises(PiCommandError, match="no track loaded"):
        await client.send("/play", 0)
    assert (await client.status())["decks"][0]["file"] is None
    pi.stop()


async def test_bad_arguments_get_specific_errors(pi):
    client = pi.client()
    cases = [
        (("/volume", 0, 1.5), "volume must be between 0 and 1"),
        (("/crossfade", 2.0), "crossfade must be between -1 and 1"),
        (("/bpm", 1000.0), "bpm must be between 40 and 250"),
        (("/bpm", "fast"), "bpm must be a number"),
        (("/play", 9), "deck must be 0-3 or A-D, got 9"),
        (("/method", "chipmunk"), "unknown method 'chipmunk'"),
        (("/bpm_auto", 3), "flag"),
        (("/nope",), "unknown address"),
    ]
    for (address, *args), message in cases:
        with pytest.raises(PiCommandError, match=message):
            await client.send(address, *args)
    pi.stop()


async def test_sigterm_flushes_a_complete_wav(pi):
    state = await pi.wait_engine_time(3.0)
    audio, sr = pi.stop(signal.SIGTERM)
    assert sr == SR and audio.shape[1] == 2
    assert len(audio) / SR >= state["engine_time_s"]
    assert state["underruns"] == state["stream_underflows"] + state["callback_overruns"]
    for key in (
        "bpm",
        "target_bpm",
        "method",
        "buffer_size",
        "decks",
        "dropped_messages",
        "callback_ms_p50",
        "callback_ms_p99",
    ):
        assert key in state
    assert set(state["decks"][0]) >= {"file", "position_s", "playing", "volume"}


def test_refuses_to_start_on_a_network_address_without_a_token(music_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "--host", "0.0.0.0", "--port", "0",
         "--music-dir", str(music_dir), "--offline-render", str(tmp_path / "o.wav")],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
        env={k: v for k, v in os.environ.items() if k != "CRATEBOT_PI_TOKEN"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.stderr


async def test_loopback_without_token_works_and_send_cli_talks_to_it(pi_factory, music_dir):
    pi = pi_factory(music_dir, token="")
    assert (await PiClient("127.0.0.1", pi.port, None).status())["buffer_size"] == 512
    env = {k: v for k, v in os.environ.items() if k != "CRATEBOT_PI_TOKEN"}
    base = [sys.executable, "-m", "realtime.cli", "send", "--port", str(pi.port)]
    out = subprocess.run(
        base + ["/bpm", "124", "0"], cwd=ROOT, capture_output=True, text=True, timeout=30, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "/done /bpm"
    status = subprocess.run(
        base + ["/status"], cwd=ROOT, capture_output=True, text=True, timeout=30, env=env
    )
    assert json.loads(status.stdout)["target_bpm"] == 124.0
    bad = subprocess.run(
        base + ["--token", "wrong", "--timeout", "0.5", "/status"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert bad.returncode == 3 and "no reply" in bad.stderr
    pi.stop()
