"""Frame features computed from a stream of audio blocks in constant memory.

The audio is decoded once at 22.05 kHz; each block updates the loudness meter,
an STFT whose frames continue seamlessly across block edges (the unconsumed tail
is carried over), and 36-bin constant-Q chromas (core/analysis/chroma.py). Only small per-frame summaries
are kept, so memory grows by ~60 bytes per 23 ms of audio and the samples
themselves are dropped block by block.

The onset envelope is the one librosa's ``beat_track`` computes by default (log-power
128-band mel spectral flux, median over bands, delayed so a peak sits on the onset
rather than where the window first touches it), computed block by block:
on real music it places beats and tempo better than the mean over bands we used
before (benchmarks/analysis_real.py), because one loud band (a sustained pad, a
vocal) cannot dominate the median. librosa clips the log spectrum 80 dB under its
global maximum; streaming, the maximum is the running one.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from core.analysis.chroma import ChromaMapper
from core.analysis.loudness import LoudnessMeter

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512  # onset/beat frame: 23.2 ms
CHROMA_HOP = 4096  # chroma frame: 186 ms
N_MELS = 128  # librosa's default for its onset envelope
# Mel bands (of 128, 0..11 kHz) grouped into coarse bands for energy and downbeat cues.
BAND_EDGES = (0, 8, 16, 28, 44, 64, 88, 128)  # band 0: below ~200 Hz (kick and bass)
TOP_DB = 80.0  # dynamic range of the onset log-spectrogram under the loudest bin so far
# Lowest floor ever used (librosa's amin): only reached while the track is near silence.
FLOOR_DB = -100.0
# A frame's window reaches an onset up to n_fft/2 samples (2 frames) early; librosa delays its
# envelope by those 2 frames. On sharp clicks that puts beats ~30 ms late and on the annotated
# excerpts of benchmarks/analysis_real.py it is no better on average, so we delay by 1.
ONSET_DELAY = 1


@dataclass
class Features:
    """Everything the analysis steps need, at two frame rates."""

    sample_rate: int
    hop: int
    onset: np.ndarray  # (n,) spectral-flux onset strength, median over bands
    onset_mean: np.ndarray  # (n,) the same flux averaged over bands (hi-hats and bass count)
    bass_onset: np.ndarray  # (n,) onset strength of the lowest band
    band_db: np.ndarray  # (n_bands, n) log energy per coarse band
    chroma_hop: int
    chroma36: np.ndarray  # (36, m) constant-Q chroma, third-of-a-semitone bins, unnormalised
    key_chroma36: np.ndarray  # (36, m) the same, sub-bass played down, for the key (chroma.py)
    duration_s: float
    loudness_lufs: float | None
    peak: float

    @property
    def frame_times(self) -> np.ndarray:
        return np.arange(len(self.onset)) * self.hop / self.sample_rate

    @property
    def chroma_times(self) -> np.ndarray:
        return np.arange(self.chroma36.shape[1]) * self.chroma_hop / self.sample_rate


class FeatureStream:
    """Feed stereo (or mono) float32 blocks at :data:`SAMPLE_RATE`; call :meth:`finish` once."""

    def __init__(self, channels: int = 2) -> None:
        self._meter = LoudnessMeter(SAMPLE_RATE, channels)
        self._mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(
            np.float32
        )
        self._window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann
        # Centre the first frame on t=0, as librosa's center=True does.
        self._tail = np.zeros(N_FFT // 2, dtype=np.float32)
        self._prev_db: np.ndarray | None = None
        self._max_db = FLOOR_DB
        self._onset: list[np.ndarray] = []
        self._onset_mean: list[np.ndarray] = []
        self._bass: list[np.ndarray] = []
        self._bands: list[np.ndarray] = []
        self._chroma: list[np.ndarray] = []
        self._key_chroma: list[np.ndarray] = []
        self._chroma_mapper = ChromaMapper(SAMPLE_RATE, CHROMA_HOP)
        self._chroma_buf = np.zeros(0, dtype=np.float32)
        self._frames = 0
        self._peak = 0.0

    # -- public -------------------------------------------------------------
    def add(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1:
            block = block[:, None]
        if block.size == 0:
            return
        self._meter.add(block)
        self._peak = max(self._peak, float(np.abs(block).max()))
        mono = block.mean(axis=1)
        self._frames += len(mono)
        self._spectral(np.concatenate([self._tail, mono]))
        self._chroma_buf = np.concatenate([self._chroma_buf, mono])
        # librosa rebuilds its constant-Q filters on every call, so chroma runs on long
        # chunks (256 frames, 48 s); CQT edge effects at chunk joins are negligible.
        chunk = CHROMA_HOP * 256
        if len(self._chroma_buf) >= chunk:
            usable = len(self._chroma_buf) // chunk * chunk
            self._cqt(self._chroma_buf[:usable])
            self._chroma_buf = self._chroma_buf[usable:]

    def finish(self) -> Features:
        self._spectral(np.concatenate([self._tail, np.zeros(N_FFT // 2, np.float32)]), last=True)
        if len(self._chroma_buf):
            # Pad short remainders: the lowest constant-Q filters span about 1.5 s.
            pad = max(
                CHROMA_HOP * 16 - len(self._chroma_buf), (-len(self._chroma_buf)) % CHROMA_HOP
            )
            frames = int(np.ceil(len(self._chroma_buf) / CHROMA_HOP))
            self._cqt(np.concatenate([self._chroma_buf, np.zeros(pad, np.float32)]), frames)
        n_frames = 1 + self._frames // HOP
        delay = np.zeros(ONSET_DELAY, np.float32)
        onset = np.concatenate([delay, *self._onset])
        bass = np.concatenate([delay, *self._bass])
        onset_mean = np.concatenate([delay, *self._onset_mean])
        bands = (
            np.concatenate(self._bands, axis=1)
            if self._bands
            else np.zeros((len(BAND_EDGES) - 1, 0), np.float32)
        )
        chroma = (
            np.concatenate(self._chroma, axis=1) if self._chroma else np.zeros((36, 0), np.float32)
        )
        key_chroma = (
            np.concatenate(self._key_chroma, axis=1)
            if self._key_chroma
            else np.zeros((36, 0), np.float32)
        )
        chroma_frames = int(np.ceil(self._frames / CHROMA_HOP))
        return Features(
            sample_rate=SAMPLE_RATE,
            hop=HOP,
            onset=onset[:n_frames],
            onset_mean=onset_mean[:n_frames],
            bass_onset=bass[:n_frames],
            band_db=bands[:, :n_frames],
            chroma_hop=CHROMA_HOP,
            chroma36=chroma[:, :chroma_frames],
            key_chroma36=key_chroma[:, :chroma_frames],
            duration_s=self._frames / SAMPLE_RATE,
            loudness_lufs=self._meter.integrated(),
            peak=self._peak,
        )

    # -- steps ----------------------------------------------------------------
    def _spectral(self, buffer: np.ndarray, last: bool = False) -> None:
        if len(buffer) < N_FFT:
            self._tail = buffer
            return
        count = 1 + (len(buffer) - N_FFT) // HOP
        frames = np.lib.stride_tricks.sliding_window_view(buffer, N_FFT)[::HOP][:count]
        spectrum = np.fft.rfft(frames * self._window, axis=1)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
        mel = power @ self._mel.T  # (count, n_mels)
        db = 10.0 * np.log10(np.maximum(mel, 1e-10))
        self._max_db = max(self._max_db, float(db.max()))
        db = np.maximum(db, max(FLOOR_DB, self._max_db - TOP_DB))
        previous = db[:1] if self._prev_db is None else self._prev_db
        flux = np.maximum(0.0, np.diff(np.concatenate([previous, db]), axis=0))
        self._prev_db = db[-1:]
        self._onset.append(np.median(flux, axis=1).astype(np.float32))
        self._onset_mean.append(flux.mean(axis=1).astype(np.float32))
        self._bass.append(flux[:, BAND_EDGES[0] : BAND_EDGES[1]].mean(axis=1))
        band_power = np.stack(
            [mel[:, a:b].sum(axis=1) for a, b in zip(BAND_EDGES[:-1], BAND_EDGES[1:], strict=True)]
        )
        self._bands.append((10.0 * np.log10(np.maximum(band_power, 1e-10))).astype(np.float32))
        self._tail = buffer[count * HOP :] if not last else np.zeros(0, np.float32)

    def _cqt(self, audio: np.ndarray, frames: int | None = None) -> None:
        chroma, key_chroma = self._chroma_mapper(audio)
        # Frame k of a chunk is centred on k*hop; keep one frame per hop of input.
        keep = len(audio) // CHROMA_HOP if frames is None else frames
        self._chroma.append(chroma[:, :keep])
        self._key_chroma.append(key_chroma[:, :keep])
