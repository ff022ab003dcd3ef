"""``--compat crowdstream``: Crowdstream's vocabulary, signed and unsigned, over real UDP."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from realtime.client import PiCommandError
from realtime.protocol import encode_message

from .signals import SR, one_sided_impulse, tone, write

# Every Crowdstream address with arguments that succeed once decks A and B hold
# left.wav / right.wav (and the folder holds pad.wav).
CROWDSTREAM_CALLS = [
    ("/reset",),
    ("/cue", "A", "left.wav", 0.0),
    ("/cue", "B", "right.wav"),
    ("/start_group", 0.0, "A", "B"),
    ("/start_group", "A", "B", 0.0),
    ("/play", "C", "pad.wav", 0.5),
    ("/fade", "C", 0.0, 0.5),
    ("/deck_levels", 1.0, 0.8, 0.5, 1.0),
    ("/crossfade_levels", 1.0, 0.9),
    ("/deck_eq", "A", "low", 25),
    ("/deck_eq_all", "B", 50, 40, 50),
    ("/set_tempo", 124.0),
    ("/get_status",),
    ("/dance/total_movement", 0.3),
]


def send_raw(port: int, data: bytes, wait: float = 0.4) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(wait)
        sock.sendto(data, ("127.0.0.1", port))
        try:
            return sock.recv(65536)
        except TimeoutError:
            return None


def music(folder) -> None:
    write(folder, "left.wav", one_sided_impulse(0, seconds=20.0))
    write(folder, "right.wav", one_sided_impulse(1, seconds=20.0))
    write(folder, "pad.wav", tone(220.0, 4.0))


async def test_every_crowdstream_address_signed_works_and_unsigned_is_refused(
    pi_factory, music_dir
):
    music(music_dir)
    pi = pi_factory(music_dir, "--compat", "crowdstream", speed=8.0)
    client = pi.client(timeout=30)
    # Unsigned first: every one dropped, unanswered, counted; nothing changes.
    for address, *args in CROWDSTREAM_CALLS:
        assert send_raw(pi.port, encode_message(address, args)) is None, address
    state = await client.status()
    assert state["dropped_by_reason"]["unsigned"] == len(CROWDSTREAM_CALLS)
    assert all(d["file"] is None for d in state["decks"])
    assert state["movement_messages"] == 0
    # Signed: every one answered /done.
    for address, *args in CROWDSTREAM_CALLS:
        reply = await client.send(address, *args)
        if address == "/get_status":
            assert json.loads(reply[0])["compat"] == "crowdstream"
        else:
            assert reply == (), address
    state = await client.status()
    a, b, c, d = state["decks"]
    assert [x["deck"] for x in state["decks"]] == ["A", "B", "C", "D"]
    assert (a["file"], b["file"], c["file"]) == ("left.wav", "right.wav", "pad.wav")
    assert a["loop"] and b["loop"] and c["loop"]
    assert a["started_sample"] == b["started_sample"] >= 0
    assert (a["volume"], b["volume"], d["volume"]) == (1.0, 0.9, 1.0)
    assert a["eq"] == {"low": -12.0, "mid": 0.0, "high": 0.0}
    assert b["eq"]["mid"] == pytest.approx(-4.8)
    # /set_tempo 124, then movement 0.3 retargets auto tempo (on from the start, as in
    # Crowdstream): 118 + (0.3 - 0.15) / 0.45 * 12 = 122 BPM.
    assert state["bpm_auto"] is True and state["auto_target_bpm"] == pytest.approx(122.0)
    assert state["target_bpm"] == pytest.approx(122.0)
    assert state["movement_messages"] == 1 and state["last_movement"] == 0.3
    pi.stop()


async def test_without_compat_crowdstream_addresses_are_unknown(pi):
    client = pi.client()
    for address in ("/cue", "/deck_eq", "/reset", "/get_status", "/set_tempo", "/fade"):
        with pytest.raises(PiCommandError, match="unknown address"):
            await client.send(address, "A")
    with pytest.raises(PiCommandError, match="usage: /play deck"):
        await client.send("/play", "A", "x.wav", 0.0)
    pi.stop()


async def test_start_group_both_orders_start_on_one_sample_timed_from_reset(pi_factory, music_dir):
    music(music_dir)
    pi = pi_factory(
        music_dir, "--compat", "crowdstream", "--stretch-method", "playback_rate", speed=4.0
    )
    client = pi.client(timeout=30)
    await client.send("/cue", "A", "left.wav", 0.0)
    await client.send("/cue", "b", "right.wav", 0.0)
    # start_at first: already in the past (seconds after server start), so at once.
    await client.send("/start_group", 0.0, "A", "B")
    first = await client.status()
    s1 = first["decks"][0]["started_sample"]
    assert s1 == first["decks"][1]["started_sample"] >= 0
    # Re-cue (same files: no reload), reset time zero, start_at last, 3 s ahead.
    await client.send("/cue", "A", "left.wav", 0.0)
    await client.send("/cue", 1, "right.wav", 0.0)
    await client.send("/reset")
    await client.send("/start_group", "a", 1, 3.0)
    state = await client.status()
    reset = state["reset_sample"]
    expected = reset + int(3.0 * SR)
    assert state["decks"][0]["scheduled_start_sample"] == expected or (
        state["decks"][0]["started_sample"] == expected
    )
    await pi.wait_engine_time(expected / SR + 0.5)
    state = await client.status()
    assert state["decks"][0]["started_sample"] == state["decks"][1]["started_sample"] == expected
    audio, _ = pi.stop()
    for channel in (0, 1):
        hits = np.flatnonzero(np.abs(audio[:, channel]) > 0.5)
        assert hits[0] == s1
        assert hits[hits > s1 + SR][0] == expected  # same sample on both decks


async def test_play_with_start_at_fade_and_cue_position_in_the_audio(pi_factory, music_dir):
    write(music_dir, "tone.wav", tone(440.0, 12.0))
    ramp = np.linspace(0.0, 0.9, 10 * SR, dtype=np.float32)
    write(music_dir, "ramp.wav", np.stack([ramp, ramp], axis=1))
    pi = pi_factory(
        music_dir, "--compat", "crowdstream", "--stretch-method", "playback_rate", speed=4.0
    )
    client = pi.client(timeout=30)
    await client.send("/cue", "A", "tone.wav")  # loaded ahead, so /play needs no decoding
    await client.send("/reset")
    # Seconds after the reset; generous, so a busy test machine still sends in time.
    start, fade_at, fade_len = 3.0, 4.0, 1.0
    await client.send("/play", "A", "tone.wav", start)
    await client.send("/fade", "A", fade_at, fade_len)  # level to 0 from 4 s to 5 s
    state = await client.status()
    reset = state["reset_sample"]
    assert state["decks"][0]["scheduled_start_sample"] == reset + int(start * SR)
    await pi.wait_engine_time(reset / SR + fade_at + fade_len + 0.5)
    # A cue at 50 % of a 10 s ramp starts at its middle (value 0.45).
    await client.send("/deck_levels", 0.0, 1.0)
    await client.send("/cue", "B", "ramp.wav", 0.5)
    await client.send("/start_group", "B", 0.0)
    b_start = (await client.status())["decks"][1]["started_sample"]
    await pi.wait_engine_time(b_start / SR + 0.3)
    audio, _ = pi.stop()
    level = np.abs(audio[:, 0])

    def peak(t0: float, t1: float) -> float:
        return float(level[reset + int(t0 * SR) : reset + int(t1 * SR)].max())

    assert np.flatnonzero(level > 0.1)[0] == pytest.approx(reset + start * SR, abs=5)
    assert peak(0.0, start) == 0.0
    assert peak(start + 0.5, fade_at) == pytest.approx(0.5, abs=0.01)
    mid = fade_at + fade_len / 2
    assert peak(mid - 0.05, mid + 0.05) == pytest.approx(0.25, abs=0.03)  # halfway down
    assert peak(fade_at + fade_len + 0.05, fade_at + fade_len + 0.4) < 1e-3
    assert audio[b_start + 10, 0] == pytest.approx(0.45, abs=0.01)


async def test_crowdstream_refusals_are_specific(pi_factory, music_dir):
    pi = pi_factory(music_dir, "--compat", "crowdstream")
    client = pi.client()
    cases = [
        (("/cue", "E", "x.wav"), "deck must be 0-3 or A-D, got 'E'"),
        (("/cue", "A"), "usage: /cue deck path"),
        (("/cue", "A", "missing.wav"), "no such file in the music folder: 'missing.wav'"),
        (("/start_group", "A", "B"), "no track loaded"),
        (("/start_group", 0.5), "usage: /start_group"),
        (("/start_group", 0.5, "A", 1.5), "deck must be"),
        (("/deck_eq", "A", "bass", 0), "low, mid or high"),
        (("/deck_eq", "A", "low", "loud"), "percent must be a number"),
        (("/deck_eq_all", "A", 50, 50), "usage: /deck_eq_all"),
        (("/set_tempo", 500.0), "bpm must be between 40 and 250"),
        (("/deck_levels", 1.0, 1.0, 1.0, 1.0, 1.0), "at most 4 levels"),
        (("/crossfade_levels", 1.0), "usage: /crossfade_levels"),
        (("/fade", "A"), "usage: /fade"),
        (("/dance/total_movement", "lots"), "movement value must be a number"),
    ]
    for (address, *args), message in cases:
        with pytest.raises(PiCommandError, match=message):
            await client.send(address, *args)
    pi.stop()
