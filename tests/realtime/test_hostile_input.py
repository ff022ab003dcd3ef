"""Strict deck ids, path-free error replies, tempo-less tracks, OSC fuzzing, drop summaries."""

from __future__ import annotations

import asyncio
import random
import socket

import numpy as np
import pytest

from realtime.client import PiCommandError, PiTimeout
from realtime.decks import DeckIdError, parse_deck
from realtime.protocol import encode_message, encode_signed

from .conftest import TOKEN
from .signals import SR, tone, write


@pytest.mark.parametrize(
    ("value", "index"),
    [(0, 0), (3, 3), (2.0, 2), ("1", 1), ("A", 0), ("d", 3), (" b ", 1), ("03", 3)],
)
def test_deck_ids_accepted(value, index):
    assert parse_deck(value, 4) == index


@pytest.mark.parametrize(
    "value",
    [True, False, 1.5, "1.5", 4, -1, "E", "AB", "", " ", None, b"A", [0], float("nan"),
     float("inf"), "１", "Ä", "-1", "0x1"],
)  # fmt: skip
def test_deck_ids_refused(value):
    with pytest.raises(DeckIdError, match="deck must be 0-3 or A-D"):
        parse_deck(value, 4)


async def test_decks_by_letter_and_strict_refusals_over_udp(pi_factory, music_dir):
    write(music_dir, "t.wav", tone(300.0, 3.0))
    pi = pi_factory(music_dir)
    client = pi.client(timeout=30)
    assert await client.send("/load", "b", "t.wav", 120.0) == (1,)
    assert await client.send("/volume", "B", 0.5) == (1,)
    for bad in (1.5, True, "1.5", "E", 4):
        with pytest.raises(PiCommandError, match="deck must be 0-3 or A-D"):
            await client.send("/volume", bad, 0.5)
    with pytest.raises(PiCommandError, match="volume must be a number"):
        await client.send("/volume", "A", True)
    state = await client.status()
    assert state["decks"][1]["deck"] == "B" and state["decks"][1]["index"] == 1
    assert state["decks"][1]["volume"] == 0.5 and state["decks"][0]["volume"] == 1.0
    assert state["decks"][1]["loop"] is False  # only Crowdstream's /cue and /play loop
    pi.stop()


async def test_error_replies_never_name_the_music_folder(pi_factory, music_dir, tmp_path):
    (music_dir / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    (music_dir / "sub").mkdir()
    (music_dir / "loop").symlink_to(music_dir / "loop")
    write(music_dir, "ok.wav", tone(300.0, 2.0))
    pi = pi_factory(music_dir, "--compat", "crowdstream")
    client = pi.client(timeout=30)
    secret = str(music_dir.resolve())
    attempts = [
        ("/load", 0, "broken.wav"),
        ("/load", 0, str(music_dir / "broken.wav")),  # absolute, inside: allowed, then fails
        ("/load", 0, "/etc/passwd"),
        ("/load", 0, "sub"),
        ("/load", 0, "loop"),
        ("/load", 0, "x" * 300 + ".wav"),
        ("/load", 0, str(tmp_path / "elsewhere.wav")),
        ("/cue", "A", str(music_dir / "missing.wav")),
        ("/cue", "A", "../" + music_dir.name + "/nothing.wav"),
    ]
    for address, *args in attempts:
        with pytest.raises(PiCommandError) as err:
            await client.send(address, *args)
        assert secret not in err.value.message and str(tmp_path) not in err.value.message
        assert "Traceback" not in err.value.message
    # An absolute path inside the folder works (Crowdstream's controllers send those).
    assert await client.send("/cue", "A", str(music_dir / "ok.wav")) == ()
    assert (await client.status())["decks"][0]["file"] == "ok.wav"
    pi.stop()
    assert "Traceback" not in pi.log_path.read_text()


async def test_a_track_without_tempo_plays_at_rate_one_with_a_note(pi_factory, music_dir):
    write(music_dir, "pad.wav", tone(220.0, 8.0))
    pi = pi_factory(music_dir, "--stretch-method", "playback_rate", speed=8.0)
    client = pi.client(timeout=30)
    reply = await client.send("/load", "A", "pad.wav")
    assert reply[0] == 0 and "rate 1" in reply[1]
    await client.send("/bpm", 140.0)
    await client.send("/play", "A")
    state = await client.status()
    deck = state["decks"][0]
    assert deck["track_bpm"] is None and deck["bpm_source"] == "none" and "rate 1" in deck["note"]
    start = deck["started_sample"]
    state = await pi.wait_engine_time(start / SR + 2.0)
    assert state["decks"][0]["rate"] == 1.0
    audio, _ = pi.stop()
    part = audio[start + SR // 2 : start + int(1.5 * SR), 0]
    spec = np.abs(np.fft.rfft(part * np.hanning(len(part)), n=len(part) * 4))
    peak = np.fft.rfftfreq(len(part) * 4, 1 / SR)[int(np.argmax(spec))]
    assert peak == pytest.approx(220.0, rel=0.005)  # not sped up to 140 BPM


def _garbage(rng: random.Random, signed_sample: bytes) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 200))
    if kind == 1:  # OSC-looking address, junk after it
        return b"/" + rng.randbytes(rng.randrange(0, 60))
    if kind == 2:  # a real signed message, truncated
        return signed_sample[: rng.randrange(1, len(signed_sample))]
    if kind == 3:  # a real signed message with flipped bytes
        data = bytearray(signed_sample)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if kind == 4:  # a bundle
        return b"#bundle\x00" + rng.randbytes(rng.randrange(0, 40))
    if kind == 5:  # valid OSC, unsigned, random types
        args = [rng.choice([1, -7, 2.5, "A", "x" * 50, b"\x00\x01", True, None])]
        return encode_message(rng.choice(["/bpm", "/cue", "/load", "/x", "/"]), args)
    return b"/status\x00,s\x00\x00" + bytes([0xFF, 0xFE, 0x00, 0x00])  # invalid UTF-8


async def test_osc_fuzzing_server_stays_up_counts_drops_logs_summaries(pi_factory, music_dir):
    pi = pi_factory(music_dir, "--compat", "crowdstream", "--drop-log-interval", "0.5")
    client = pi.client()
    rng = random.Random(18)
    # Signed with the wrong token, so no mutation of it can ever be a valid message.
    signed_sample = encode_signed("wrong-" + TOKEN, "/set_tempo", [128.0])
    n = 1500
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.0)
        for i in range(n):
            sock.sendto(_garbage(rng, signed_sample), ("127.0.0.1", pi.port))
            if i % 50 == 49:
                # A round trip: the server has read all before it, so the socket buffer
                # never overflows and every datagram is counted.
                await client.status()
        await asyncio.sleep(0.3)
        with pytest.raises(BlockingIOError):
            sock.recv(65536)  # not one reply to any of it
    state = await client.status()
    assert state["dropped_messages"] == n
    assert state["target_bpm"] == 120.0 and state["callback_errors"] == 0
    await asyncio.sleep(1.0)  # let the summary interval end
    log = pi.log_path.read_text()
    summaries = [line for line in log.splitlines() if "dropped" in line]
    assert 1 <= len(summaries) <= 6, summaries  # one line per 0.5 s, not one per datagram
    assert sum(int(line.split("dropped ")[1].split()[0]) for line in summaries) == n
    assert "Traceback" not in log
    pi.stop()


async def test_signed_fuzzing_every_address_gets_a_clean_reply(pi_factory, music_dir):
    write(music_dir, "t.wav", tone(300.0, 2.0))
    pi = pi_factory(music_dir, "--compat", "crowdstream", "--trust-movement-from", "127.0.0.1")
    client = pi.client(timeout=5)
    rng = random.Random(10)
    values = [0, 1, 3, 4, -1, 2**40, 0.5, -0.0, 1e300, float("inf"), float("nan"), "A", "d",
              "t.wav", "../t.wav", "", "\u00e9\u4e2d", "x" * 500, True, False, None, b"\x00\xff",
              ["A", 1], []]  # fmt: skip
    addresses = sorted(
        {"/load", "/play", "/stop", "/seek", "/volume", "/crossfade", "/start_group", "/bpm",
         "/bpm_auto", "/movement", "/method", "/eq", "/status", "/cue", "/fade", "/deck_levels",
         "/crossfade_levels", "/deck_eq", "/deck_eq_all", "/set_tempo", "/get_status", "/reset",
         "/dance/total_movement", "/nope"}
    )  # fmt: skip
    answered = 0
    for _ in range(250):
        address = rng.choice(addresses)
        args = [rng.choice(values) for _ in range(rng.randrange(0, 5))]
        try:
            await client.send(address, *args)
        except PiCommandError as exc:
            assert "internal error" not in exc.message, (address, args, exc.message)
        except PiTimeout:
            pytest.fail(f"no reply to signed {address} {args!r}")
        answered += 1
    assert answered == 250
    state = await client.status()
    assert state["callback_errors"] == 0
    pi.stop()
    log = pi.log_path.read_text()
    assert "Traceback" not in log and "failed (error id" not in log


def test_trusted_host_lists_and_display_names(tmp_path):
    from realtime.cli import resolve_trusted
    from realtime.server import parse_trusted_hosts
    from realtime.track import display_name

    nets = parse_trusted_hosts(",".join(resolve_trusted("127.0.0.1, 10.0.0.0/8,localhost,::1")))
    assert [str(n) for n in nets] == ["127.0.0.1/32", "10.0.0.0/8", "127.0.0.1/32", "::1/128"]
    for bad in ("", " , ", "300.1.1.1/8"):
        with pytest.raises(ValueError):
            parse_trusted_hosts(bad)
    music = tmp_path / "m"
    music.mkdir()
    assert display_name(music, "set/a.wav") == "set/a.wav"
    assert display_name(music, str(music / "set" / "a.wav")) == "set/a.wav"
    assert display_name(music, "/etc/passwd") == "(an absolute path)"
