"""Generate DJ-style test mixes with a ground-truth tracklist, and score identifications.

A mix is a chain of excerpts (40–100 s by default) of reference tracks, each
played at its own speed, either "vinyl" (resampled: tempo and pitch change) or
"keylock" (time-stretched, pitch kept), with random shelving EQ, joined by
equal-power crossfades of 6–14 s, with noise added and encoded as 128 kbit/s
MP3. The truth lists each excerpt's mix start (where its fade-in begins), end,
speed and mode.

``--club`` makes it sound like a phone video of a club set: 25–70 s plays,
filter sweeps (high-pass out, low-pass in) and an echo tail on transitions,
one transition in three a 20–30 s double drop (both tracks at full level),
room reverb with a direct-to-reverberant ratio of 0 dB, crowd noise at 15 dB
SNR, and Opus at 64 kbit/s instead of MP3.

    python benchmarks/identify_mixgen.py OUT_DIR [--minutes 10] [--seed 1]
        [--audio ../shared/audio] [--unknown 0] [--club]

writes ``OUT_DIR/mix.mp3`` (``mix.opus`` with ``--club``) and ``OUT_DIR/truth.json``. ``score(truth, result)``
compares a ``cratebot id --json`` result with the truth.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.audio import decode_array, ffmpeg_exe  # noqa: E402

SR = 44100


@dataclass
class Source:
    file: Path
    artist: str | None
    title: str | None
    duration_s: float


@dataclass
class Placed:
    file: str
    artist: str | None
    title: str | None
    start: float  # mix seconds where the fade-in begins
    end: float  # mix seconds where the fade-out ends
    speed: float
    mode: str  # vinyl | keylock
    ref_start: float  # reference seconds played at ``start``
    known: bool  # in the library the mix is identified against
    # How it came in: first | crossfade | sweep (club: low-pass opening, echo
    # on the outgoing track) | double_drop (club: both at full level)
    transition: str = "crossfade"


def load_sources(audio_dir: Path, min_duration_s: float = 20.0) -> list[Source]:
    meta = json.loads((audio_dir / "tracks.json").read_text())
    return [
        Source(audio_dir / t["file"], t.get("artist"), t.get("title"), float(t["duration_s"]))
        for t in meta
        if float(t["duration_s"]) >= min_duration_s
    ]


def _play(x: np.ndarray, speed: float, mode: str) -> np.ndarray:
    if abs(speed - 1.0) < 1e-6:
        return x
    if mode == "vinyl":
        import soxr

        # Played ``speed`` times faster: the same samples at a higher rate.
        return soxr.resample(x, SR * speed, SR).astype(np.float32)
    import pedalboard

    return pedalboard.time_stretch(x[None, :], SR, stretch_factor=speed)[0].astype(np.float32)


def _eq(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import pedalboard

    board = pedalboard.Pedalboard(
        [
            pedalboard.LowShelfFilter(cutoff_frequency_hz=200, gain_db=float(rng.uniform(-6, 6))),
            pedalboard.HighShelfFilter(cutoff_frequency_hz=4000, gain_db=float(rng.uniform(-6, 6))),
        ]
    )
    return board(x[None, :], SR)[0].astype(np.float32)


def _sweep(x: np.ndarray, kind: str, f_from: float, f_to: float) -> np.ndarray:
    """A filter whose cutoff glides log-linearly from ``f_from`` to ``f_to`` over ``x``."""
    from scipy.signal import butter, sosfilt

    block = 1024
    out = np.empty_like(x)
    zi = np.zeros((2, 2))
    n = max(len(x) // block, 1)
    for i in range(0, len(x), block):
        frac = min(i / block / n, 1.0)
        fc = float(np.clip(f_from * (f_to / f_from) ** frac, 20.0, SR / 2 * 0.95))
        sos = butter(4, fc, btype=kind, fs=SR, output="sos")
        out[i : i + block], zi = sosfilt(sos, x[i : i + block], zi=zi)
    return out.astype(np.float32)


def _echo(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import pedalboard

    delay = pedalboard.Delay(
        delay_seconds=float(rng.choice([0.25, 0.375, 0.5])), feedback=0.55, mix=0.45
    )
    return delay(x[None, :], SR)[0].astype(np.float32)


def room_reverb(x: np.ndarray, rng: np.random.Generator, drr_db: float = 0.0) -> np.ndarray:
    """Convolve with a diffuse exponential tail (RT60 0.8–1.4 s) at the given direct-to-reverberant ratio."""
    from scipy.signal import oaconvolve

    rt60 = float(rng.uniform(0.8, 1.4))
    t = np.arange(int(rt60 * SR)) / SR
    tail = rng.normal(0, 1, len(t)) * np.exp(-6.9 * t / rt60)
    tail[: int(0.01 * SR)] = 0  # early reflections start ~10 ms after the direct sound
    tail *= 10 ** (-drr_db / 20) / np.sqrt(np.sum(tail**2))
    ir = tail.astype(np.float32)
    ir[0] = 1.0
    out = np.empty_like(x)
    step = SR * 60  # a minute at a time keeps a long mix's convolution small
    carry = np.zeros(len(ir) - 1, dtype=np.float32)
    for i in range(0, len(x), step):
        y = oaconvolve(x[i : i + step], ir).astype(np.float32)
        y[: len(carry)] += carry
        n = min(step, len(x) - i)
        out[i : i + n] = y[:n]
        carry = np.zeros(len(ir) - 1, dtype=np.float32)
        rest = y[n:]
        carry[: len(rest)] = rest[: len(carry)]
    return out


def crowd_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Babble: a few dozen voice-band noise sources, each with a syllable-rate envelope."""
    from scipy.signal import butter, sosfilt

    sos = butter(2, [250, 3500], btype="band", fs=SR, output="sos")
    env_sr = 100
    out = np.zeros(n, dtype=np.float32)
    voices = 24
    for _ in range(voices):
        env = np.abs(rng.normal(0, 1, n // (SR // env_sr) + 2))
        env = np.convolve(env, np.ones(25) / 25, mode="same")  # ~4 Hz syllables
        env = np.interp(np.arange(n) / SR * env_sr, np.arange(len(env)), env)
        out += (sosfilt(sos, rng.normal(0, 1, n)) * env).astype(np.float32)
    return out


# A second whose level stays under this is silence (a track's tail, a gap).
SILENT_RMS = 1e-3  # -60 dBFS
SILENT_SHARE = 0.25


def _quiet_seconds(x: np.ndarray) -> np.ndarray:
    n = len(x) // SR
    if n == 0:
        return np.zeros(0, dtype=bool)
    return np.sqrt(np.mean(x[: n * SR].reshape(n, SR) ** 2, axis=1)) < SILENT_RMS


def _excerpt(src: Source, ref_start: float, ref_len: float) -> tuple[float, np.ndarray]:
    """The excerpt at ``ref_start``, or, when a quarter of it is silence, the one at
    the same relative place within the track's audible span: a DJ plays music, and
    a normalised stretch of silence is amplified noise nothing can identify."""
    x = decode_array(src.file, SR, 1, start_s=ref_start, duration_s=ref_len)[:, 0]
    quiet = _quiet_seconds(x)
    if len(quiet) == 0 or quiet.mean() <= SILENT_SHARE:
        return ref_start, x
    loud = np.flatnonzero(~_quiet_seconds(decode_array(src.file, SR, 1)[:, 0]))
    if len(loud) == 0:
        return ref_start, x
    lo, hi = float(loud[0]), float(loud[-1] + 1)
    frac = ref_start / max(src.duration_s - ref_len - 0.5, 1e-9)
    start = lo + min(max(frac, 0.0), 1.0) * max(hi - lo - ref_len, 0.0)
    return start, decode_array(src.file, SR, 1, start_s=start, duration_s=ref_len)[:, 0]


def make_mix(
    sources: list[Source],
    minutes: float,
    seed: int = 1,
    excerpt_s: tuple[float, float] = (40.0, 100.0),
    speeds: tuple[float, float] = (0.92, 1.08),
    crossfade_s: tuple[float, float] = (6.0, 14.0),
    snr_db: float = 25.0,
    unknown: list[Source] | None = None,
    repeat_first: bool = False,
    club: bool = False,
) -> tuple[np.ndarray, list[Placed]]:
    """A mono float32 mix at 44.1 kHz and its truth.

    Tracks cycle through ``sources`` in a shuffled order; ``unknown`` tracks (not
    in the library) are slotted in every few excerpts; ``repeat_first`` plays the
    first track again at the end. ``club`` adds the club conditions of ``--club``
    (and overrides ``excerpt_s`` and ``snr_db``).
    """
    if club:
        excerpt_s, snr_db = (25.0, 70.0), 15.0
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(sources)))
    total = int(minutes * 60 * SR)
    mix = np.zeros(total + SR * 120, dtype=np.float32)
    placed: list[Placed] = []
    cursor = 0
    k = 0
    unknown = list(unknown or [])
    while cursor < total - 20 * SR:
        if unknown and k % 4 == 2:
            src, known = unknown[(k // 4) % len(unknown)], False
        elif repeat_first and cursor > total - 60 * SR and placed:
            src, known = sources[order[0]], True
        else:
            src, known = sources[order[k % len(order)]], True
        k += 1
        speed = float(rng.uniform(*speeds))
        mode = "vinyl" if rng.random() < 0.5 else "keylock"
        length = float(rng.uniform(*excerpt_s))
        length = min(length, (src.duration_s - 1.0) / speed, (total - cursor) / SR + 5)
        if length < 15:
            continue
        ref_len = length * speed
        ref_start = float(rng.uniform(0, max(src.duration_s - ref_len - 0.5, 0)))
        ref_start, x = _excerpt(src, ref_start, ref_len)
        y = _eq(_play(x, speed, mode), rng)
        y *= 0.25 / (np.sqrt(np.mean(y**2)) + 1e-9)  # similar loudness, like a DJ's gain
        double_drop = club and bool(placed) and rng.random() < 1 / 3
        if double_drop:
            before = int((placed[-1].end - placed[-1].start) * SR)
            xf = min(int(rng.uniform(20.0, 30.0) * SR), int(len(y) * 0.6), int(before * 0.6))
        else:
            xf = min(int(rng.uniform(*crossfade_s) * SR), len(y) // 3)
        ramp = np.linspace(0, 1, xf, dtype=np.float32)
        if placed and double_drop:
            # Both tracks at full level; the outgoing one is cut in the last 2 s.
            start = cursor - xf
            cut = min(2 * SR, xf)
            mix[cursor - cut : cursor] *= np.linspace(1, 0, cut, dtype=np.float32)
        elif placed:
            start = cursor - xf
            if club:
                # Low-pass opens on the way in; high-pass and an echo on the way out.
                y[:xf] = _sweep(y[:xf], "lowpass", 200.0, 16000.0)
                mix[start:cursor] = _sweep(_echo(mix[start:cursor], rng), "highpass", 30.0, 3000.0)
            y[:xf] *= np.sqrt(ramp)
            mix[start:cursor] *= np.sqrt(1 - ramp)[: cursor - start]
        else:
            start = 0
        end = start + len(y)
        mix[start:end] += y[: len(mix) - start]
        placed.append(
            Placed(
                str(src.file.name),
                src.artist,
                src.title,
                start / SR,
                end / SR,
                speed,
                mode,
                ref_start,
                known,
                "double_drop" if double_drop else "sweep" if club and placed else "crossfade",
            )
        )
        if len(placed) == 1:
            placed[0].transition = "first"
        cursor = end
    mix = mix[:cursor]
    placed[-1].end = cursor / SR
    noise_rms = 0.25 * 10 ** (-snr_db / 20)
    if club:
        mix = room_reverb(mix, rng, drr_db=0.0)
        noise = crowd_noise(len(mix), rng)
        signal_rms = float(np.sqrt(np.mean(mix**2)))
        mix += noise * (signal_rms * 10 ** (-snr_db / 20) / (np.sqrt(np.mean(noise**2)) + 1e-9))
        mix *= 0.3 / (np.sqrt(np.mean(mix**2)) + 1e-9)
    else:
        mix += rng.normal(0, noise_rms, len(mix)).astype(np.float32)
    np.clip(mix, -1, 1, out=mix)
    return mix, placed


def write_mp3(mix: np.ndarray, path: Path, bitrate: str = "128k") -> None:
    """Encode mono float PCM through ffmpeg (MP3, or Opus when ``path`` ends in .opus)."""
    codec = ["-c:a", "libopus"] if path.suffix == ".opus" else []
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "f32le",
            "-ar",
            str(SR),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            *codec,
            "-b:a",
            bitrate,
            str(path),
        ],
        input=mix.astype(np.float32).tobytes(),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace"))


def _norm(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "", (text or "").lower())


def score(truth: list[dict], result: dict, tolerance_s: float = 10.0) -> dict:
    """Recall, precision and start errors of a ``cratebot id --json`` result.

    A truth entry is found when a reported entry names the same track and its
    start lies within ``tolerance_s`` of the truth start or inside the excerpt;
    each reported entry can find one truth entry. A reported (non-null) entry is
    correct when it found a truth entry.
    """
    known = [t for t in truth if t["known"]]
    reported = [r for r in result["tracks"] if r.get("title") is not None]
    used: set[int] = set()
    errors = []
    signed = []  # reported minus true start: > 0 when a start is reported late
    missed = []
    for t in known:
        key = (_norm(t["artist"]), _norm(t["title"]))
        best = None
        for i, r in enumerate(reported):
            if i in used or (_norm(r["artist"]), _norm(r["title"])) != key:
                continue
            err = abs(r["start"] - t["start"])
            near = err <= tolerance_s or t["start"] <= r["start"] <= t["end"]
            if near and (best is None or err < best[1]):
                best = (i, err)
        if best is not None:
            used.add(best[0])
            errors.append(best[1])
            signed.append(round(reported[best[0]]["start"] - t["start"], 2))
        else:
            missed.append(t)
    recall = len(errors) / len(known) if known else 1.0
    precision = len(used) / len(reported) if reported else 1.0
    return {
        "known": len(known),
        "found": len(errors),
        "reported": len(reported),
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "median_start_error_s": round(statistics.median(errors), 2) if errors else math.nan,
        "max_start_error_s": round(max(errors), 2) if errors else math.nan,
        "missed": missed,
        "start_errors_signed": signed,
        "wrong": [r for i, r in enumerate(reported) if i not in used],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--audio", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument(
        "--unknown",
        type=int,
        default=0,
        help="hold out this many tracks from the library (written to truth)",
    )
    parser.add_argument("--club", action="store_true", help="club conditions (see above)")
    args = parser.parse_args()
    sources = load_sources(args.audio)
    held = sources[: args.unknown]
    lib = sources[args.unknown :]
    mix, placed = make_mix(lib, args.minutes, args.seed, unknown=held, club=args.club)
    args.out.mkdir(parents=True, exist_ok=True)
    mix_path = args.out / ("mix.opus" if args.club else "mix.mp3")
    write_mp3(mix, mix_path, "64k" if args.club else "128k")
    (args.out / "truth.json").write_text(
        json.dumps(
            {
                "library": [str(s.file) for s in lib],
                "tracks": [asdict(p) for p in placed],
            },
            indent=1,
        )
    )
    print(f"{mix_path}: {len(mix) / SR / 60:.1f} min, {len(placed)} excerpts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
