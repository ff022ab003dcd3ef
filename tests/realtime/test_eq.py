"""Deck EQ: band levels measured in rendered audio, in process and through the real server."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from realtime.engine import Cmd, Engine
from realtime.eq import EqDesign, band_index, crowdstream_percent_to_gain, db_to_gain
from realtime.track import build_track

from .signals import SR, level_db, tone, write


def two_tones(seconds: float) -> np.ndarray:
    return 0.6 * tone(60.0, seconds) + 0.6 * tone(3000.0, seconds)  # 0.3 amplitude each


def render(engine: Engine, seconds: float) -> np.ndarray:
    out = np.zeros((engine.block_size, 2), np.float32)
    blocks = []
    for _ in range(int(seconds * SR / engine.block_size)):
        engine.process(out)
        blocks.append(out.copy())
    return np.concatenate(blocks)


def playing(audio: np.ndarray, block: int = 256) -> Engine:
    engine = Engine(SR, block, method="playback_rate")
    engine.commands.post(Cmd.LOAD, 0, payload=build_track("t", audio, SR, 120.0))
    engine.commands.post(Cmd.PLAY, 0)
    return engine


@pytest.mark.parametrize("block", [256, 333, 1024])
def test_band_cuts_and_boosts_in_the_engine(block):
    engine = playing(two_tones(12.0), block)
    flat = render(engine, 1.0)[SR // 4 :]
    engine.commands.post(Cmd.EQ, 0, 0.0, 0.0)  # low band cut
    cut = render(engine, 1.0)[SR // 4 :]
    assert level_db(flat, 60) - level_db(cut, 60) >= 20.0
    assert abs(level_db(flat, 3000) - level_db(cut, 3000)) < 1.0
    engine.commands.post(Cmd.EQ, 0, 0.0, 1.0)
    engine.commands.post(Cmd.EQ, 0, 2.0, 0.0)  # high band cut instead
    high_cut = render(engine, 1.0)[SR // 4 :]
    assert level_db(flat, 3000) - level_db(high_cut, 3000) >= 12.0
    assert abs(level_db(flat, 60) - level_db(high_cut, 60)) < 1.0
    engine.commands.post(Cmd.EQ, 0, 2.0, db_to_gain(6.0))  # +6 dB highs
    boosted = render(engine, 1.0)[SR // 4 :]
    assert level_db(boosted, 3000) - level_db(flat, 3000) == pytest.approx(6.0, abs=1.0)
    assert engine.callback_errors == 0


def test_flat_eq_is_bit_transparent_and_switching_in_and_out_does_not_click():
    x = tone(60.0, 10.0)
    engine = playing(x)
    y = render(engine, 0.5)
    assert np.array_equal(y, x[: len(y)])  # untouched EQ: bypassed, bit-exact
    steady_step = np.abs(np.diff(y[:, 0])).max()
    engine.commands.post(Cmd.EQ, 0, 0.0, 0.0)  # kill the lows: switch in, glide down
    y2 = render(engine, 0.5)
    engine.commands.post(Cmd.EQ, 0, 0.0, 1.0)  # back to flat: glide up, switch out
    y3 = render(engine, 1.0)
    joined = np.concatenate([y, y2, y3])[:, 0]
    # A click is a jump far above what a 60 Hz sine moves between two samples (a step
    # of the gain from 1 to 0 would jump by up to 0.5, over 100 times that).
    assert np.abs(np.diff(joined)).max() <= 1.5 * steady_step
    assert np.sqrt(np.mean(y2[SR // 4 :, 0] ** 2)) < 0.05 * np.sqrt(np.mean(y[:, 0] ** 2))
    assert not engine.decks[0].eq.active  # switched out again once flat and settled
    tail = y3[-SR // 4 :]
    assert np.array_equal(
        tail, x[len(y) + len(y2) + len(y3) - len(tail) : len(y) + len(y2) + len(y3)]
    )


def test_eq_callback_makes_no_audio_sized_allocations():
    engine = Engine(SR, 256, method="playback_rate")
    for deck in range(4):
        engine.commands.post(Cmd.LOAD, deck, payload=build_track("t", two_tones(10.0), SR, 120.0))
        engine.commands.post(Cmd.PLAY, deck)
        engine.commands.post(Cmd.EQ, deck, 0.0, 0.25)
        engine.commands.post(Cmd.EQ, deck, 2.0, 1.5)
    render(engine, 0.3)
    out = np.zeros((256, 2), np.float32)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(200):
        engine.process(out)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current - base < 8_000 and peak - base < 32_000
    assert engine.callback_errors == 0


def test_eq_helpers():
    assert [band_index(b) for b in ("low", "MID", " hi ", "lo", "high")] == [0, 1, 2, 0, 2]
    for bad in ("bass", "", "lowest", "m"):
        with pytest.raises(ValueError, match="low, mid or high"):
            band_index(bad)
    assert crowdstream_percent_to_gain(50) == 1.0 == crowdstream_percent_to_gain(80)
    assert crowdstream_percent_to_gain(0) == 0.0
    assert 20 * np.log10(crowdstream_percent_to_gain(25)) == pytest.approx(-12.0)
    assert db_to_gain(float("-inf")) == 0.0 and db_to_gain(6.0) == pytest.approx(1.995, abs=0.01)
    design = EqDesign(48000)
    assert design.sizes[0] == 64 and design.sizes[-1] == 1


async def test_eq_through_the_server_both_vocabularies(pi_factory, music_dir):
    write(music_dir, "tones.wav", two_tones(30.0))
    pi = pi_factory(music_dir, "--compat", "crowdstream", "--buffer-size", "256", speed=8.0)
    client = pi.client(timeout=30)
    await client.send("/load", "A", "tones.wav", 120.0)
    await client.send("/set_tempo", 120.0)
    await client.send("/bpm_auto", 0)
    await client.send("/play", "a")
    marks = [(await client.status())["engine_time_s"]]
    steps = [
        ("/deck_eq", "A", "low", 0),  # Crowdstream: 0 % = cut
        ("/deck_eq_all", "A", 50, 50, 50),  # flat again
        ("/eq", "A", "low", float("-inf")),  # ours: -inf dB
        ("/eq", 0, "low", 0.0),
    ]
    for address, *args in steps:
        await pi.wait_engine_time(marks[-1] + 1.6)
        assert await client.send(address, *args) in ((), (0,))
        marks.append((await client.status())["engine_time_s"])
    state = await pi.wait_engine_time(marks[-1] + 1.6)
    assert state["decks"][0]["eq"] == {"low": 0.0, "mid": 0.0, "high": 0.0}
    audio, _ = pi.stop()

    def levels(i: int) -> tuple[float, float]:
        part = audio[int((marks[i] + 0.3) * SR) : int((marks[i] + 1.3) * SR)]
        return level_db(part, 60.0), level_db(part, 3000.0)

    flat, cs_cut, cs_flat, our_cut, our_flat = (levels(i) for i in range(5))
    for cut in (cs_cut, our_cut):
        assert flat[0] - cut[0] >= 20.0  # 60 Hz cut by at least 20 dB
        assert abs(flat[1] - cut[1]) <= 1.0  # 3 kHz unchanged within 1 dB
    for back in (cs_flat, our_flat):
        assert abs(flat[0] - back[0]) < 0.5 and abs(flat[1] - back[1]) < 0.5


async def test_eq_refusals(pi):
    from realtime.client import PiCommandError

    client = pi.client()
    cases = [
        (("/eq", 0, "bass", 0.0), "low, mid or high"),
        (("/eq", 0, "low", 7.0), "between -inf and \\+6"),
        (("/eq", 0, "low", float("nan")), "NaN"),
        (("/eq", 0, "low"), "usage: /eq"),
        (("/eq", "E", "low", 0.0), "deck must be 0-3 or A-D"),
    ]
    for (address, *args), message in cases:
        with pytest.raises(PiCommandError, match=message):
            await client.send(address, *args)
    pi.stop()
