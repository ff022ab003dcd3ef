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
from realtime.decks import letter
from realtime.eq import BANDS, DeckEq, design_for, gain_to_db
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
    SCHEDULE = 12  # start decks (mask in a) at engine sample b
    FADE = 13  # deck volume to 0 linearly from engine sample a over b samples
    EQ = 14  # band a of deck to linear gain b
    SET_TEMPO = 15  # tempo a at once, auto tempo left as it is (Crowdstream's /set_tempo)
    RESET = 16  # time zero for scheduled starts and fades := now
    CUE = 17  # stop the deck and park it at source sample a; b = loop flag


NO_SAMPLE = -1


class Deck:
    """One player. Even decks sit on the crossfader's A side, odd decks on B."""

    def __init__(self, index: int, stretchers: dict[str, Stretcher], max_block: int, eq: DeckEq):
        self.index = index
        self.letter = letter(index)
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
        self.loop = False  # Crowdstream's /cue and /play loop the track at its end
        self.park_at = -1.0  # where a /cue of a playing deck leaves it once faded out
        self.start_at = NO_SAMPLE  # engine sample of a scheduled start
        self.fade_start = NO_SAMPLE  # engine sample a scheduled /fade begins
        self.fade_len = 0
        self.fade_from = -1.0  # volume when the fade began (-1: not begun yet)
        self.eq = eq
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
        bpm_auto: bool = False,
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
        self.bpm_auto = bpm_auto
        self.auto_target = self.auto.base_bpm
        self.crossfade = 0.0
        self.eq_design = design_for(sample_rate)
        self.decks = [
            Deck(i, self._make_stretchers(), self.max_block, DeckEq(self.eq_design, self.max_block))
            for i in range(decks)
        ]
        self.reset_sample = 0  # time zero of Crowdstream's start_at arguments (/reset)
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
            block_end = self.engine_samples + frames
            for deck in self.decks:
                offset = 0
                if deck.start_at != NO_SAMPLE and deck.start_at < block_end:
                    offset = max(0, deck.start_at - self.engine_samples)
                    deck.start_at = NO_SAMPLE
                    self._play(deck, self.engine_samples + offset)
                if deck.fade_start != NO_SAMPLE and deck.fade_start < block_end:
                    self._advance_fade(deck, block_end)
                if deck.playing and deck.track is not None:
                    if offset:
                        # A scheduled start inside this block: sample-exact, at the
                        # tempo of that sample.
                        bpm_at = bpm0 + (bpm1 - bpm0) * offset / frames
                        self._render_deck(deck, out[offset:], frames - offset, bpm_at, bpm1)
                    else:
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
        if track.bpm is None:  # no analysable tempo: it plays at its own speed
            rate0 = rate1 = 1.0
        else:
            rate0 = clamp_rate(bpm0 / track.bpm)
            rate1 = clamp_rate(bpm1 / track.bpm)
        buf = deck.scratch[:frames]
        deck.position = deck.stretchers[self.method].render(track, deck.position, buf, rate0, rate1)
        deck.rate = rate1
        deck.eq.process(buf)
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
            if deck.park_at >= 0.0:
                deck.position, deck.park_at = deck.park_at, -1.0
        elif deck.position >= track.frames:
            if deck.loop:
                # Restarts at the block after the end, so a loop point can fall silent
                # for under one block (the padding after the audio).
                deck.position = 0.0
                deck.stretchers[self.method].reset(track, deck.position)
            else:
                deck.playing = False
                deck.ended = True

    def _advance_fade(self, deck: Deck, block_end: int) -> None:
        if deck.fade_from < 0.0:
            deck.fade_from = deck.volume
        done = 1.0 if deck.fade_len <= 0 else (block_end - deck.fade_start) / deck.fade_len
        if done >= 1.0:
            deck.volume = 0.0
            deck.fade_start = NO_SAMPLE
        else:
            deck.volume = deck.fade_from * (1.0 - done)
        self._update_gains()

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
            deck.position = min(max(0.0, a), float(payload.frames))
            deck.loop = b != 0.0
            deck.playing = deck.stopping = deck.ended = False
            deck.started_sample = NO_SAMPLE
            deck.start_at = NO_SAMPLE
            deck.park_at = -1.0
            deck.eq.reset()
        elif code == Cmd.CUE:
            deck = self.decks[d]
            if deck.track is not None:
                where = min(max(0.0, a), float(deck.track.frames))
                deck.loop = b != 0.0
                deck.ended = False
                deck.start_at = NO_SAMPLE
                if deck.playing:
                    deck.stopping = True  # fades out over the next block, then parks
                    deck.park_at = where
                else:
                    deck.position = where
        elif code == Cmd.SCHEDULE:
            start = max(int(b), self.engine_samples)
            for deck in self.decks:
                if int(a) >> deck.index & 1 and deck.track is not None:
                    deck.start_at = start
        elif code == Cmd.FADE:
            deck = self.decks[d]
            deck.fade_start = max(int(a), self.engine_samples)
            deck.fade_len = int(b)
            deck.fade_from = -1.0
        elif code == Cmd.EQ:
            self.decks[d].eq.set_gain(int(a), b)
        elif code == Cmd.SET_TEMPO:
            self.tempo.set_target(a, 0)
        elif code == Cmd.RESET:
            self.reset_sample = self.engine_samples
        elif code == Cmd.PLAY:
            self._play(self.decks[d])
        elif code == Cmd.START_GROUP:
            for deck in self.decks:
                if int(a) >> deck.index & 1:
                    self._play(deck)
        elif code == Cmd.STOP:
            deck = self.decks[d]
            deck.start_at = NO_SAMPLE  # a stop also cancels a scheduled start
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
            self.decks[d].fade_start = NO_SAMPLE  # a level set by hand ends a /fade
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

    def _play(self, deck: Deck, at_sample: int | None = None) -> None:
        if deck.track is None:
            return
        if deck.ended or deck.position >= deck.track.frames:
            deck.position = 0.0
            deck.ended = False
        if not deck.playing or deck.stopping:
            deck.stretchers[self.method].reset(deck.track, deck.position)
            deck.eq.reset()
        if deck.park_at >= 0.0:
            deck.position, deck.park_at = deck.park_at, -1.0
            deck.stretchers[self.method].reset(deck.track, deck.position)
        deck.playing = True
        deck.stopping = False
        deck.gain = deck.target_gain
        deck.start_at = NO_SAMPLE
        deck.started_sample = self.engine_samples if at_sample is None else at_sample

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
            eq = deck.eq
            decks.append(
                {
                    "deck": deck.letter,
                    "index": deck.index,
                    "file": track.name if track else None,
                    "position_s": round(deck.position / self.sample_rate, 4),
                    "duration_s": round(track.duration_s, 3) if track else None,
                    "playing": deck.playing,
                    "volume": deck.volume,
                    "track_bpm": round(track.bpm, 3) if track and track.bpm else None,
                    "bpm_source": track.bpm_source if track else None,
                    "note": track.note if track else "",
                    "rate": round(deck.rate, 6),
                    "started_sample": deck.started_sample,
                    "scheduled_start_sample": deck.start_at,
                    "ended": deck.ended,
                    "loop": deck.loop,
                    # dB per band; null means cut to silence (-inf dB).
                    "eq": {band: gain_to_db(eq.target[i]) for i, band in enumerate(BANDS)},
                    "eq_active": eq.active,
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
            "engine_samples": self.engine_samples,
            "reset_sample": self.reset_sample,
            "since_reset_s": round((self.engine_samples - self.reset_sample) / self.sample_rate, 4),
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
