"""Auto-BPM mapping, tempo clock, rings, track loading, tempo analysis, requirements."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from realtime.autobpm import AutoBpmConfig
from realtime.bpm_analysis import estimate_bpm
from realtime.requirements import requirements
from realtime.ring import CommandRing, ObjectRing, RingFull
from realtime.tempo import TempoClock
from realtime.track import PAD, TrackError, build_track, load_track, resample, resolve_music_path

from .conftest import ROOT
from .signals import SR, click_track, tone, write


@pytest.mark.parametrize(
    ("level", "bpm"),
    [(0.0, 105), (0.019, 105), (0.02, 110), (0.049, 110), (0.05, 115), (0.12, 118),
     (0.15, 118), (0.375, 124), (0.6, 130), (1.0, 130)],
)  # fmt: skip
def test_default_movement_mapping_follows_crowdstream(level, bpm):
    assert AutoBpmConfig().target_for(level) == pytest.approx(bpm)


def test_auto_bpm_config_from_json(tmp_path):
    path = tmp_path / "auto.json"
    path.write_text(json.dumps({"transition_s": 10, "bands": [{"below": 0.5, "bpm": 90}]}))
    cfg = AutoBpmConfig.from_json(path)
    assert cfg.transition_s == 10 and cfg.target_for(0.2) == 90 and cfg.base_bpm == 120
    path.write_text(json.dumps({"bandz": []}))
    with pytest.raises(ValueError, match="unknown key"):
        AutoBpmConfig.from_json(path)
    path.write_text(json.dumps({"bands": [{"below": 0.5, "bpm": 900}]}))
    with pytest.raises(ValueError, match="between 20 and 300"):
        AutoBpmConfig.from_json(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        AutoBpmConfig.from_json(path)


@pytest.mark.parametrize("block", [256, 1024, 333])
def test_tempo_ramp_lasts_its_engine_time_whatever_the_block_size(block):
    clock = TempoClock(120.0, SR)
    clock.set_target(105.0, 30 * SR)
    samples = 0
    while clock.ramping:
        clock.advance(block)
        samples += block
    assert samples / SR == pytest.approx(30.0, abs=block / SR)
    assert clock.bpm == 105.0
    # The beat counter integrates the tempo: a linear ramp 120 -> 105 over 30 s is 56.25 beats.
    assert clock.beats == pytest.approx(56.25, abs=0.05)


def test_command_ring_is_fifo_and_bounded():
    ring = CommandRing(4)
    seqs = [ring.post(1, deck=i) for i in range(4)]
    assert seqs == [1, 2, 3, 4]
    with pytest.raises(RingFull):
        ring.post(1)
    got = []
    while (cmd := ring.peek()) is not None:
        got.append(cmd.deck)
        ring.release()
    assert got == [0, 1, 2, 3]
    objects = ObjectRing(2)
    assert objects.put("a") and objects.put("b") and not objects.put("c")
    assert objects.drain() == 2 and objects.put("c")


def test_resolve_music_path_refuses_escapes(tmp_path):
    music = tmp_path / "m"
    (music / "sub").mkdir(parents=True)
    (music / "sub" / "a.wav").write_bytes(b"")
    assert resolve_music_path(music, "sub/../sub/a.wav") == (music / "sub" / "a.wav").resolve()
    for bad, message in [("../x", "outside"), ("/etc/passwd", "absolute"), ("", "empty"),
                         ("sub", "no such file"), ("nope.wav", "no such file")]:  # fmt: skip
        with pytest.raises(TrackError, match=message):
            resolve_music_path(music, bad)


def test_load_track_decodes_pads_resamples_and_analyses(tmp_path):
    mono = click_track(128.0, 12.0, sr=48000)[:, 0]
    write(tmp_path, "c48.wav", mono, sr=48000)  # mono file at another rate
    track = load_track(str(tmp_path), "c48.wav", SR)
    assert track.sample_rate == SR and track.frames == pytest.approx(12 * SR, abs=1)
    assert track.audio.shape == (track.frames + 2 * PAD, 2)
    assert not track.audio[:PAD].any() and not track.audio[PAD + track.frames :].any()
    assert track.bpm_source == "analysed" and track.bpm == pytest.approx(128.0, rel=0.002)
    with pytest.raises(TrackError, match="BPM 500 outside"):
        build_track("x", tone(440, 1.0), SR, 500.0)
    silence = build_track("silence", np.zeros((SR * 5, 2), np.float32), SR)
    assert silence.bpm is None and silence.bpm_source == "none"
    assert "no onsets" in silence.note and "rate 1" in silence.note


def test_resample_keeps_a_tone_at_its_frequency():
    x = tone(1000.0, 1.0, sr=48000)
    y = resample(x, 48000, SR)
    spec = np.abs(np.fft.rfft(y[:, 0]))
    assert len(y) == SR and np.argmax(spec) == 1000  # 1 Hz bins over one second


@pytest.mark.parametrize("bpm", [92.0, 120.5, 140.0, 174.0])
def test_tempo_analysis_of_click_tracks(bpm):
    assert estimate_bpm(click_track(bpm, 30.0)[:, 0], SR) == pytest.approx(bpm, rel=0.002)


def test_requirements_module_prints_the_pi_list():
    out = subprocess.run([sys.executable, "-m", "realtime.requirements"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    names = [r.split(">")[0] for r in out.stdout.split()]
    assert names == ["numpy", "soundfile", "python-osc", "sounddevice"]
    assert requirements(with_rubberband=True)[-1].startswith("pylibrb")


def test_realtime_imports_nothing_from_the_bot():
    code = (
        "import sys, realtime.cli, realtime.server, realtime.engine, realtime.client\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('bot', 'core', 'storage', 'sounddevice', 'scipy', 'librosa')]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=30)  # fmt: skip
    assert out.stdout.strip() == "[]", out.stderr
