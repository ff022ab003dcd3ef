"""Auto-BPM from movement: a transition takes 30 s of engine time, measured in the audio."""

from __future__ import annotations

import numpy as np
import pytest

from .signals import SR, click_track, onset_times, write


@pytest.mark.slow
async def test_auto_bpm_transition_takes_30_seconds_of_engine_time(pi_factory, music_dir):
    write(music_dir, "click.wav", click_track(120.0, 60.0))
    pi = pi_factory(music_dir, "--stretch-method", "playback_rate", speed=20.0)
    client = pi.client()
    await client.send("/load", 0, "click.wav", 120.0, timeout=30)
    await client.send("/play", 0)
    await client.send("/bpm_auto", 1)
    started = (await client.status())["decks"][0]["started_sample"]
    await pi.wait_engine_time(started / SR + 3.0)
    await client.send("/movement", 0.01)  # < 2 %: target 105 BPM
    sent_at = (await client.status())["engine_time_s"]
    state = await pi.wait_engine_time(sent_at + 36.0, wall_limit=60)
    assert state["bpm"] == pytest.approx(105.0)
    assert state["bpm_auto"] is True
    audio, _ = pi.stop()
    onsets = onset_times(audio[started:]) + started / SR
    bpm_per_beat = 60.0 / np.diff(onsets)
    times = onsets[1:]
    leaving = times[np.flatnonzero(bpm_per_beat < 119.7)[0]]
    arrived = times[np.flatnonzero(bpm_per_beat < 105.3)[0]]
    assert leaving == pytest.approx(sent_at, abs=1.5)
    assert arrived - leaving == pytest.approx(30.0, abs=3.0)
    # Once there, it stays there.
    assert np.all(np.abs(bpm_per_beat[times > arrived + 1.0] - 105.0) < 0.5)
