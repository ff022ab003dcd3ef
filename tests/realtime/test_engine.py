"""The engine and its stretchers, in process: tempo, pitch, continuity, allocation."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import realtime.stretch.rubberband as rb
from realtime.engine import Cmd, Engine
from realtime.stretch import rubberband_status
from realtime.track import build_track

from .signals import SR, click_track, onset_times, peak_frequency, tempo_from_onsets, tone

METHODS = ["playback_rate", "wsola"] + (["rubberband"] if rubberband_status()[0] else [])


def render(engine: Engine, seconds: float) -> np.ndarray:
    out = np.zeros((engine.block_size, 2), np.float32)
    blocks = []
    for _ in range(int(seconds * SR / engine.block_size)):
        engine.process(out)
        blocks.append(out.copy())
    return np.concatenate(blocks)


def playing_engine(method: str, audio: np.ndarray, bpm: float, block: int = 512) -> Engine:
    engine = Engine(SR, block, method=method)
    engine.commands.post(Cmd.LOAD, 0, payload=build_track("t", audio, SR, bpm))
    engine.commands.post(Cmd.PLAY, 0)
    return engine


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("block", [256, 1024])
def test_tempo_ramp_inside_blocks_reaches_the_target(method, block):
    engine = playing_engine(method, click_track(120.0, 40.0), 120.0, block)
    engine.commands.post(Cmd.BPM, 0, 100.0, 2.0)
    y = render(engine, 14.0)
    assert engine.tempo.bpm == 100.0 and engine.callback_errors == 0
    assert tempo_from_onsets(onset_times(y[4 * SR :])) == pytest.approx(100.0, rel=0.005)


def test_wsola_at_rate_one_reproduces_the_input():
    x = tone(330.0, 5.0) * np.linspace(0.2, 1.0, 5 * SR, dtype=np.float32)[:, None]
    y = render(playing_engine("wsola", x, 120.0, 256), 3.0)
    assert np.max(np.abs(y[: SR * 2] - x[: SR * 2])) < 1e-3  # no fade-in, no seams


@pytest.mark.parametrize("method", ["wsola"] + (["rubberband"] if rubberband_status()[0] else []))
def test_pitch_preserving_methods_keep_a_tone(method):
    engine = playing_engine(method, tone(440.0, 10.0), 120.0)
    engine.commands.post(Cmd.BPM, 0, 96.0, 0.0)  # rate 0.8
    y = render(engine, 3.0)
    assert peak_frequency(y[SR // 2 :]) == pytest.approx(440.0, rel=0.005)
    assert np.sqrt(np.mean(y[SR // 2 :] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def test_stop_fades_and_play_resumes_where_it_stopped():
    engine = playing_engine("playback_rate", tone(200.0, 10.0), 120.0)
    render(engine, 1.0)
    engine.commands.post(Cmd.STOP, 0)
    y = render(engine, 0.5)
    assert np.abs(y[:512]).max() > 0.1 and not y[512:].any()  # faded over one block
    pos = engine.decks[0].position
    engine.commands.post(Cmd.SEEK, 0, 2.0)
    engine.commands.post(Cmd.PLAY, 0)
    render(engine, 0.1)
    assert pos == pytest.approx(1.0 * SR, abs=1024)
    assert engine.decks[0].position == pytest.approx(2.1 * SR, abs=1024)


def test_crossfader_and_volume():
    engine = Engine(SR, 512, method="playback_rate")
    for deck in (0, 1):
        engine.commands.post(Cmd.LOAD, deck, payload=build_track("t", tone(300.0, 5.0), SR, 120.0))
    engine.commands.post(Cmd.START_GROUP, 0, 3.0)
    engine.commands.post(Cmd.CROSSFADE, 0, -1.0)
    engine.commands.post(Cmd.VOLUME, 0, 0.5)
    y = render(engine, 0.5)
    assert np.abs(y[SR // 4 :]).max() == pytest.approx(0.25, rel=0.02)  # deck 0 alone, half


def test_steady_state_callback_makes_no_audio_sized_allocations():
    for method in METHODS:
        engine = Engine(SR, 256, method=method)
        for deck in (0, 1):
            engine.commands.post(
                Cmd.LOAD, deck, payload=build_track("c", click_track(120, 20), SR, 120.0)
            )
            engine.commands.post(Cmd.PLAY, deck)
        engine.commands.post(Cmd.BPM, 0, 126.0, 5.0)
        render(engine, 0.5)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        render_blocks = np.zeros((256, 2), np.float32)
        for _ in range(200):
            engine.process(render_blocks)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Python floats and numpy's small temporaries only: nothing grows, nothing big.
        assert current - base < 8_000, method
        assert peak - base < 32_000, method


def test_rubberband_is_refused_with_a_reason_when_the_binding_is_missing(monkeypatch):
    def missing():
        raise ImportError("No module named 'pylibrb'")

    monkeypatch.setattr(rb, "_import_pylibrb", missing)
    ok, reason = rb.rubberband_status()
    assert not ok and "pylibrb" in reason
    with pytest.raises(ValueError, match="rubberband method unavailable"):
        Engine(SR, 512, method="rubberband")
    engine = Engine(SR, 512, method="wsola")
    assert engine.methods == ("playback_rate", "wsola")


def test_cued_deck_loops_and_scheduled_start_lands_mid_block():
    engine = Engine(SR, 256, method="playback_rate")
    click = np.zeros((SR, 2), np.float32)
    click[0] = 0.9  # one impulse at the start of a 1 s track
    engine.commands.post(Cmd.LOAD, 0, 0.0, 1.0, payload=build_track("c", click, SR, 120.0))
    engine.commands.post(Cmd.SCHEDULE, 0, 1.0, 1000.0)  # deck 0 at engine sample 1000
    y = render(engine, 3.5)[:, 0]
    hits = np.flatnonzero(y > 0.5)
    assert hits[0] == 1000 and engine.decks[0].started_sample == 1000
    # Looping: the impulse comes back about once a second (the wrap waits for the
    # block that crosses the end, so each lap may be late by under one block).
    assert len(hits) == 4 and np.all(np.abs(np.diff(hits) - SR) < 256)
    assert engine.decks[0].playing and not engine.decks[0].ended


def test_track_without_tempo_ignores_the_master_tempo():
    engine = Engine(SR, 512, method="playback_rate")
    pad = build_track("pad", tone(220.0, 5.0), SR)
    assert pad.bpm is None
    engine.commands.post(Cmd.LOAD, 0, payload=pad)
    engine.commands.post(Cmd.PLAY, 0)
    engine.commands.post(Cmd.BPM, 0, 150.0, 0.0)
    y = render(engine, 2.0)
    assert engine.decks[0].rate == 1.0
    assert peak_frequency(y[SR // 2 :]) == pytest.approx(220.0, rel=0.005)
