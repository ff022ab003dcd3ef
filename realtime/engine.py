"""The audio engine: decks, mixer, tempo and the block callback.

Only :meth:`Engine.process` (and the sounddevice wrapper :meth:`Engine.sd_callback`)
runs on the audio thread. It takes commands from a preallocated single-producer ring,
renders every playing deck into preallocated buffers and hands replaced tracks back
through another ring so their memory is freed elsewhere. It never locks, logs or
touches files. Everything else (status snapshots, posting commands) runs on the
control thread and only reads the callback's plain attributes.
"""

from __future__ import annotations

import math
import time
from enum import IntEnum
from typing import Any

import numpy as np

from realtime.autobpm import AutoBpmConfig
from realtime.ring import CommandRing, ObjectRing
from realtime.stretch import (
    METHODS,
    PlaybackRateStretcher,
    RubberBandStretcher,
    Stretcher,
    WsolaStretcher,
    rubberband_status,
)
from realtime.stretch.base import clamp_rate
from realtime.tempo import TempoClock
from realtime.track import Track

TIMING_WINDOW = 2048


class Cmd(IntEnum):
    LOAD = 1
    PLAY = 2
    STOP = 3
    SEEK = 4
    VOLUME = 5
    CROSSFADE = 6
    START_GROUP = 7
    BPM = 8
    BPM_AUTO = 9
    AUTO_TARGET = 10
    METHOD = 11


class Deck:
    """One player. Even decks sit on the crossfader's A side, odd decks on B."""

    def __init__(self, index: int, stretchers: dict[str, Stretcher], max_block: int):
        self.index = index
        self.side = index % 2
        self.track: Track | None = None
        self.position = 0.0  # source samples from the start of the track
        self.playing = False
        self.stopping = False  # fade out over one block, then stop
        self.volume = 1.0
        self.gain = 1.0  # gain applied at the end of the last block
        self.target_gain = 1.0
        self.started_sample = -1  # engine sample at which the last play began
        self.ended = False
        self.rate = 1.0
        self.stretchers = stretchers
        self.scratch = np.zeros((max_block, 2), dtype=np.float32)
        self.gain_ramp = np.zeros((max_block, 1), dtype=np.float32)


class Engine:
    def __init__(
        self,
        sample_rate: int = 44100,
        block_size: int = 512,
        decks: int = 4,
        method: str = "wsola",
        auto: AutoBpmConfig | None = None,
    ):
        if block_size <= 0 or sample_rate <= 0:
            raise ValueError("block size and sample rate must be positive")
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.auto = auto or AutoBpmConfig()
        self.rubberband_available, self.rubberband_reason = rubberband_status()
        self.methods = tuple(m for m in METHODS if m != "rubberband" or self.rubberband_available)
        if method not in self.methods:
            raise ValueError(self.method_error(method))
        # sounddevice may hand a larger block than asked for; size buffers generously.
        self.max_block = max(block_size, 4096)
        self.method = method
        self.tempo = TempoClock(self.auto.base_bpm, sample_rate)
        self.bpm_auto = False
        self.auto_target = self.auto.base_bpm
        self.crossfade = 0.0
        self.decks = [Deck(i, self._make_stretchers(), self.max_block) for i in range(decks)]
        self.commands = CommandRing(256)
        self.retired = ObjectRing(64)
        self.applied_seq = 0
        self.engine_samples = 0
        self.blocks = 0
        self.stream_underflows = 0
        self.callback_overruns = 0
        self.callback_errors = 0
        self.last_error = ""
        self._budget_s = block_size / sample_rate
        self._timings_ms = np.zeros(TIMING_WINDOW, dtype=np.float64)
        self._i = np.arange(self.max_block, dtype=np.float32)

    def method_error(self, method: str) -> str:
        if method == "rubberband" and not self.rubberband_available:
            return self.rubberband_reason + "; use playback_rate or wsola"
        return f"unknown method {method!r}; available: {', '.join(self.methods)}"

    def _make_stretchers(self) -> dict[str, Stretcher]:
        out: dict[str, Stretcher] = {
            "playback_rate": PlaybackRateStretcher(self.max_block),
            "wsola": WsolaStretcher(self.max_block),
        }
        if self.rubberband_available:
            out["rubberband"] = RubberBandStretcher(self.max_block, self.sample_rate)
        return out

    # ---- audio thread ---------------------------------------------------------------

    def sd_callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """sounddevice ``OutputStream`` callback."""
        self.process(outdata, bool(status.output_underflow))

    def process(self, out: np.ndarray, underflow: bool = False) -> None:
        """Render one block into ``out`` (frames, 2) float32, in place."""
        t0 = time.perf_counter()
        frames = out.shape[0]
        if underflow:
            self.stream_underflows += 1
        try:
            self._apply_commands()
            bpm0, bpm1 = self.tempo.advance(frames)
            out.fill(0.0)
            for deck in self.decks:
                if deck.playing and deck.track is not None:
                    self._render_deck(deck, out, frames, bpm0, bpm1)
            np.clip(out, -1.0, 1.0, out=out)
        except Exception as exc:  # a bug must not kill the venue's sound; count it
            out.fill(0.0)
            self.callback_errors += 1
            self.last_error = repr(exc)
        self.engine_samples += frames
        elapsed = time.perf_counter() - t0
        self._timings_ms[self.blocks % TIMING_WINDOW] = elapsed * 1000.0
        self.blocks += 1
        if elapsed > frames / self.sample_rate:
            self.callback_overruns += 1

    def _render_deck(
        self, deck: Deck, out: np.ndarray, frames: int, bpm0: float, bpm1: float
    ) -> None:
        track = deck.track
        assert track is not None
        rate0 = clamp_rate(bpm0 / track.bpm)
        rate1 = clamp_rate(bpm1 / track.bpm)
        buf = deck.scratch[:frames]
        deck.position = deck.stretchers[self.method].render(track, deck.position, buf, rate0, rate1)
        deck.rate = rate1
        g0 = deck.gain
        g1 = 0.0 if deck.stopping else deck.target_gain
        if g0 == g1:
            if g0 != 1.0:
                buf *= g0
        else:
            ramp = deck.gain_ramp[:frames]
            np.multiply(self._i[:frames, None], (g1 - g0) / frames, out=ramp)
            ramp += g0
            buf *= ramp
        deck.gain = g1
        out += buf
        if deck.stopping:
            deck.playing = False
            deck.stopping = False
        elif deck.position >= track.frames:
            deck.playing = False
            deck.ended = True

    def _apply_commands(self) -> None:
        ring = self.commands
        cmd = ring.peek()
        while cmd is not None:
            self._apply(cmd.code, cmd.deck, cmd.a, cmd.b, cmd.payload)
            cmd.payload = None
            self.applied_seq = cmd.seq
            ring.release()
            cmd = ring.peek()

    def _apply(self, code: int, d: int, a: float, b: float, payload: Any) -> None:
        if code == Cmd.LOAD:
            deck = self.decks[d]
            if deck.track is not None:
                self.retired.put(deck.track)
            deck.track = payload
            deck.position = 0.0
            deck.playing = deck.stopping = deck.ended = False
            deck.started_sample = -1
        elif code == Cmd.PLAY:
            self._play(self.decks[d])
        elif code == Cmd.START_GROUP:
            for deck in self.decks:
                if int(a) >> deck.index & 1:
                    self._play(deck)
        elif code == Cmd.STOP:
            deck = self.decks[d]
            if deck.playing:
                deck.stopping = True
        elif code == Cmd.SEEK:
            deck = self.decks[d]
            if deck.track is not None:
                deck.position = min(max(0.0, a * self.sample_rate), float(deck.track.frames))
                deck.ended = False
                deck.stretchers[self.method].reset(deck.track, deck.position)
        elif code == Cmd.VOLUME:
            self.decks[d].volume = a
            self._update_gains()
        elif code == Cmd.CROSSFADE:
            self.crossfade = a
            self._update_gains()
        elif code == Cmd.BPM:
            self.bpm_auto = False
            self.tempo.set_target(a, int(b * self.sample_rate))
        elif code == Cmd.BPM_AUTO:
            self.bpm_auto = a != 0.0
        elif code == Cmd.AUTO_TARGET:
            self.auto_target = a
            if self.bpm_auto and abs(a - self.tempo.target) > self.auto.deadband_bpm:
                self.tempo.set_target(a, int(self.auto.transition_s * self.sample_rate))
        elif code == Cmd.METHOD:
            self.method = payload
            for deck in self.decks:
                if deck.track is not None:
                    deck.stretchers[payload].reset(deck.track, deck.position)

    def _play(self, deck: Deck) -> None:
        if deck.track is None:
            return
        if deck.ended or deck.position >= deck.track.frames:
            deck.position = 0.0
            deck.ended = False
        if not deck.playing or deck.stopping:
            deck.stretchers[self.method].reset(deck.track, deck.position)
        deck.playing = True
        deck.stopping = False
        deck.gain = deck.target_gain
        deck.started_sample = self.engine_samples

    def _update_gains(self) -> None:
        # Full level at the centre, fading one side out towards the other end.
        x = self.crossfade
        side_gain = (math.cos(max(0.0, x) * math.pi / 2), math.cos(max(0.0, -x) * math.pi / 2))
        for deck in self.decks:
            deck.target_gain = deck.volume * side_gain[deck.side]

    # ---- control thread -------------------------------------------------------------

    def callback_ms_percentiles(self) -> tuple[float, float]:
        n = min(self.blocks, TIMING_WINDOW)
        if n == 0:
            return 0.0, 0.0
        p50, p99 = np.percentile(self._timings_ms[:n], [50, 99])
        return float(p50), float(p99)

    def snapshot(self) -> dict[str, Any]:
        p50, p99 = self.callback_ms_percentiles()
        decks = []
        for deck in self.decks:
            track = deck.track
            decks.append(
                {
                    "deck": deck.index,
                    "file": track.name if track else None,
                    "position_s": round(deck.position / self.sample_rate, 4),
                    "duration_s": round(track.duration_s, 3) if track else None,
                    "playing": deck.playing,
                    "volume": deck.volume,
                    "track_bpm": round(track.bpm, 3) if track else None,
                    "bpm_source": track.bpm_source if track else None,
                    "rate": round(deck.rate, 6),
                    "started_sample": deck.started_sample,
                    "ended": deck.ended,
                }
            )
        return {
            "bpm": round(self.tempo.bpm, 4),
            "target_bpm": round(self.tempo.target, 4),
            "ramp_remaining_s": round(self.tempo.ramp_remaining_s, 3),
            "beat": round(self.tempo.beats, 4),
            "bpm_auto": self.bpm_auto,
            "auto_target_bpm": round(self.auto_target, 4),
            "method": self.method,
            "methods": list(self.methods),
            "buffer_size": self.block_size,
            "sample_rate": self.sample_rate,
            "engine_time_s": round(self.engine_samples / self.sample_rate, 4),
            "crossfade": self.crossfade,
            "decks": decks,
            "underruns": self.stream_underflows + self.callback_overruns,
            "stream_underflows": self.stream_underflows,
            "callback_overruns": self.callback_overruns,
            "callback_errors": self.callback_errors,
            "last_callback_error": self.last_error,
            "callback_ms_p50": round(p50, 4),
            "callback_ms_p99": round(p99, 4),
        }
