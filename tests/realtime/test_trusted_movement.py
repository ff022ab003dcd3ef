"""``--trust-movement-from``: a movement detector's unsigned messages drive auto tempo."""

from __future__ import annotations

import asyncio
import json
import socket

import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from realtime.protocol import encode_message

from .signals import SR, click_track, onset_times, write
from .test_crowdstream import send_raw


async def test_unsigned_total_movement_from_a_trusted_host_drives_auto_bpm(
    pi_factory, music_dir, tmp_path
):
    write(music_dir, "click.wav", click_track(120.0, 40.0))
    config = tmp_path / "auto.json"
    config.write_text(json.dumps({"transition_s": 4}))
    pi = pi_factory(
        music_dir,
        "--compat", "crowdstream",
        "--trust-movement-from", "127.0.0.1",
        "--auto-bpm-config", str(config),
        "--stretch-method", "playback_rate",
        speed=10.0,
    )  # fmt: skip
    client = pi.client(timeout=30)
    await client.send("/cue", "A", "click.wav")
    await client.send("/start_group", 0.0, "A")
    started = (await client.status())["decks"][0]["started_sample"]
    await pi.wait_engine_time(started / SR + 3.0)
    # Exactly what Crowdstream's detector sends: float32, no signature, from this host.
    builder = OscMessageBuilder("/dance/total_movement")
    builder.add_arg(0.01, OscMessageBuilder.ARG_TYPE_FLOAT)
    reply = send_raw(pi.port, builder.build().dgram)
    assert reply is not None and b"/done" in reply
    sent_at = (await client.status())["engine_time_s"]
    # Other unsigned messages from the trusted host are still refused.
    assert send_raw(pi.port, encode_message("/set_tempo", [150.0])) is None
    assert send_raw(pi.port, encode_message("/dance/person_count", [3])) is None
    state = await pi.wait_engine_time(sent_at + 8.0)
    assert state["bpm"] == pytest.approx(105.0) and state["target_bpm"] == pytest.approx(105.0)
    assert state["movement_messages"] == 1
    assert state["last_movement"] == pytest.approx(0.01, abs=1e-6)
    assert state["dropped_by_reason"]["unsigned"] == 2
    assert state["trusted_movement_from"] == ["127.0.0.1/32"]
    audio, _ = pi.stop()
    onsets = onset_times(audio[started:]) + started / SR
    bpm_per_beat = 60.0 / np.diff(onsets)
    times = onsets[1:]
    assert np.all(np.abs(bpm_per_beat[times < sent_at - 0.1] - 120.0) < 0.5)
    assert np.all(np.abs(bpm_per_beat[times > sent_at + 4.6] - 105.0) < 0.5)


async def test_our_movement_unsigned_from_trusted_and_values_clamped(pi_factory, music_dir):
    pi = pi_factory(music_dir, "--trust-movement-from", "localhost,10.0.0.0/8")
    client = pi.client()
    await client.send("/bpm_auto", 1)
    assert b"/done" in send_raw(pi.port, encode_message("/movement", [0.6]))
    assert (await client.status())["auto_target_bpm"] == pytest.approx(130.0)
    # Crowdstream's scale: above 1 is full movement, below 0 none.
    assert b"/done" in send_raw(pi.port, encode_message("/dance/total_movement", [7.5]))
    assert (await client.status())["last_movement"] == 1.0
    assert b"/done" in send_raw(pi.port, encode_message("/dance/total_movement", [-2.0]))
    assert (await client.status())["auto_target_bpm"] == pytest.approx(105.0)
    # Ours stays strict about its 0..1 range; garbage gets a specific error.
    assert b"between 0 and 1" in send_raw(pi.port, encode_message("/movement", [1.5]))
    assert b"finite" in send_raw(pi.port, encode_message("/dance/total_movement", [float("inf")]))
    # A flood of the same value takes no ring slots and no log lines.
    flood = encode_message("/dance/total_movement", [0.0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(500):
            sock.sendto(flood, ("127.0.0.1", pi.port))
    # The kernel may drop datagrams sent while the socket's buffer is full; wait it out.
    await asyncio.sleep(0.5)
    state = await client.status()
    assert state["callback_errors"] == 0 and state["dropped_messages"] == 0
    pi.stop()


async def test_unsigned_movement_from_an_untrusted_host_is_dropped(pi_factory, music_dir):
    pi = pi_factory(music_dir, "--compat", "crowdstream", "--trust-movement-from", "10.9.9.9")
    client = pi.client()
    for address in ("/dance/total_movement", "/movement"):
        assert send_raw(pi.port, encode_message(address, [0.01])) is None
    state = await client.status()
    assert state["dropped_by_reason"]["unsigned"] == 2
    assert state["movement_messages"] == 0 and state["auto_target_bpm"] == 120.0
    pi.stop()


def test_bad_trust_list_is_refused_at_start(music_dir, tmp_path):
    import subprocess
    import sys

    from .conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "--host", "127.0.0.1", "--port", "0",
         "--music-dir", str(music_dir), "--offline-render", str(tmp_path / "o.wav"),
         "--trust-movement-from", "no-such-host.invalid"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot resolve 'no-such-host.invalid'" in result.stderr
    assert "Traceback" not in result.stderr
