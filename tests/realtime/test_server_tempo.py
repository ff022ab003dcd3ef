"""Tempo and pitch through the real server: offline render, commands over loopback UDP."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.stretch import rubberband_status

from .signals import SR, click_track, onset_times, peak_frequency, tempo_from_onsets, tone, write

METHODS = ["playback_rate", "wsola"] + (["rubberband"] if rubberband_status()[0] else [])


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
async def test_click_track_at_120_plays_at_126_after_bpm_126(pi_factory, music_dir, method):
    write(music_dir, "click120.wav", click_track(120.0, 40.0))
    pi = pi_factory(music_dir, "--stretch-method", method, speed=12.0)
    client = pi.client()
    # No BPM given: the server analyses the track's tempo on load.
    assert await client.send("/load", 0, "click120.wav", timeout=30) == (0,)
    await client.send("/bpm", 126.0)
    await client.send("/play", 0)
    state = await client.status()
    assert state["decks"][0]["bpm_source"] == "analysed"
    assert state["decks"][0]["track_bpm"] == pytest.approx(120.0, rel=0.002)
    start = state["decks"][0]["started_sample"]
    await pi.wait_engine_time(start / SR + 16.0)
    audio, sr = pi.stop()
    onsets = onset_times(audio[start + SR // 2 : start + 15 * SR])
    assert len(onsets) >= 25
    assert tempo_from_onsets(onsets) == pytest.approx(126.0, rel=0.005)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["playback_rate", "wsola"])
async def test_beat_phase_survives_a_tempo_change(pi_factory, music_dir, method):
    write(music_dir, "click.wav", click_track(120.0, 30.0))
    pi = pi_factory(music_dir, "--stretch-method", method, speed=12.0)
    client = pi.client()
    await client.send("/load", 0, "click.wav", 120.0, timeout=30)
    await client.send("/play", 0)
    started = (await client.status())["decks"][0]["started_sample"]
    await pi.wait_engine_time(started / SR + 4.3)
    await client.send("/bpm", 132.0)
    changed_at = (await client.status())["engine_time_s"]
    await pi.wait_engine_time(changed_at + 4.0)
    audio, _ = pi.stop()
    onsets = onset_times(audio[started:]) + 0.0
    intervals = np.diff(onsets)
    # Every interval is one beat at the old or the new tempo, or in between for the
    # beat that spans the change; a reset beat clock would show a short or long one.
    assert np.all(intervals > 60 / 132 - 0.01) and np.all(intervals < 60 / 120 + 0.01)
    assert np.sum(np.abs(intervals - 60 / 132) < 0.006) >= 5
    assert np.sum(np.abs(intervals - 60 / 120) < 0.006) >= 5


@pytest.mark.slow
async def test_wsola_keeps_pitch_and_playback_rate_moves_it(pi_factory, music_dir):
    write(music_dir, "tone.wav", tone(440.0, 20.0))
    pi = pi_factory(music_dir, "--stretch-method", "wsola", speed=12.0)
    client = pi.client()
    await client.send("/load", 0, "tone.wav", 120.0, timeout=30)
    await client.send("/bpm", 132.0)  # rate 1.1
    await client.send("/play", 0)
    wsola_start = (await client.status())["decks"][0]["started_sample"]
    await pi.wait_engine_time(wsola_start / SR + 4.0)
    await client.send("/method", "playback_rate")
    switched = (await client.status())["engine_time_s"]
    await pi.wait_engine_time(switched + 4.0)
    audio, _ = pi.stop()
    wsola_part = audio[wsola_start + SR // 2 : wsola_start + 3 * SR]
    rate_part = audio[int((switched + 0.5) * SR) : int((switched + 3.0) * SR)]
    assert peak_frequency(wsola_part) == pytest.approx(440.0, rel=0.005)
    assert peak_frequency(rate_part) == pytest.approx(484.0, rel=0.005)
