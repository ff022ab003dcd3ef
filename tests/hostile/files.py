"""Generate bad and odd input files: truncated, corrupted throughout, wrong extensions,
NaN samples, huge headers, odd names, non-audio, odd-but-valid audio.

Each case is ``(id, kind, build)``: ``kind`` is ``"bad"`` (must be refused with one clear
line) or ``"odd"`` (may work or be refused, but cleanly); ``build(folder, base)`` writes
the file and returns the path string to hand to CrateBot.
"""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from core.audio.ffmpeg import ffmpeg_exe

RATE = 44100
SECONDS = 5.0
FORMATS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "96k"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "2"],
    "m4a": ["-c:a", "aac", "-b:a", "96k"],
    "opus": ["-c:a", "libopus", "-b:a", "64k"],
    "wav": ["-c:a", "pcm_s16le"],
}


def music(seconds: float = SECONDS, rate: int = RATE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(np.float32)
    tone = np.sin(2 * np.pi * 220 * t) * 0.3 + np.sin(2 * np.pi * 330 * t) * 0.2
    noise = rng.standard_normal(t.size) * 0.05 * beat
    left = (tone + noise).astype(np.float32)
    return np.stack([left, np.roll(left, 50)], axis=1)


def make_base(folder: Path) -> dict[str, Path]:
    """One good file per format, each ``SECONDS`` long."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "base-src.wav"
    sf.write(src, music(), RATE, subtype="PCM_16")
    out = {}
    for ext, args in FORMATS.items():
        target = folder / f"base.{ext}"
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), *args]
            + [str(target)],
            check=True,
            timeout=60,
        )
        out[ext] = target
    return out


Build = Callable[[Path, dict[str, Path]], str]


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "bad" | "odd"
    build: Build


def _bytes_case(name: str, make: Callable[[dict[str, Path]], bytes]) -> Build:
    def build(folder: Path, base: dict[str, Path]) -> str:
        path = folder / name
        path.write_bytes(make(base))
        return str(path)

    return build


def _truncate(ext: str, keep: Callable[[int], int]) -> Callable[[dict[str, Path]], bytes]:
    def make(base: dict[str, Path]) -> bytes:
        data = base[ext].read_bytes()
        return data[: keep(len(data))]

    return make


def _corrupt_every(ext: str, step: int, seed: int, start: int = 1024):
    def make(base: dict[str, Path]) -> bytes:
        data = bytearray(base[ext].read_bytes())
        rng = np.random.default_rng(seed)
        for i in range(start, len(data), step):
            data[i : i + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        return bytes(data)

    return make


def _scramble_fraction(ext: str, fraction: float, seed: int):
    def make(base: dict[str, Path]) -> bytes:
        data = np.frombuffer(base[ext].read_bytes(), dtype=np.uint8).copy()
        rng = np.random.default_rng(seed)
        picks = rng.choice(data.size, int(data.size * fraction), replace=False)
        data[picks] = rng.integers(0, 256, picks.size, dtype=np.uint8)
        return data.tobytes()

    return make


def _zero_header(ext: str, n: int):
    def make(base: dict[str, Path]) -> bytes:
        data = bytearray(base[ext].read_bytes())
        data[:n] = bytes(n)
        return bytes(data)

    return make


def _float_wav(name: str, fill: Callable[[np.ndarray], None], seconds: float = SECONDS) -> Build:
    def build(folder: Path, base: dict[str, Path]) -> str:
        audio = music(seconds)
        fill(audio)
        path = folder / name
        sf.write(path, audio, RATE, subtype="FLOAT")
        return str(path)

    return build


def _wav_bytes(rate: int, channels: int, bits: int, frames: int, data_size: int | None = None):
    def make(base: dict[str, Path]) -> bytes:
        block = channels * bits // 8
        payload = (np.random.default_rng(0).integers(-2000, 2000, frames * channels)).astype(
            "<i2" if bits == 16 else "u1"
        )
        body = payload.tobytes()
        size = len(body) if data_size is None else data_size
        header = b"RIFF" + struct.pack("<I", (36 + size) & 0xFFFFFFFF) + b"WAVE"
        header += b"fmt " + struct.pack(
            "<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits
        )
        return header + b"data" + struct.pack("<I", size & 0xFFFFFFFF) + body

    return make


def _wav_with_chunk(junk_size: int, claimed: int | None = None):
    """A valid WAV with an extra chunk before the audio (huge, or lying about its size)."""

    def make(base: dict[str, Path]) -> bytes:
        data = base["wav"].read_bytes()
        fmt_end = data.index(b"data")
        junk = b"LIST" + struct.pack("<I", claimed if claimed is not None else junk_size)
        junk += bytes(junk_size)
        return data[:fmt_end] + junk + data[fmt_end:]

    return make


def _id3_prefix(size: int, claimed: int | None = None):
    def make(base: dict[str, Path]) -> bytes:
        want = claimed if claimed is not None else size
        syncsafe = bytes(((want >> s) & 0x7F) for s in (21, 14, 7, 0))
        return b"ID3\x04\x00\x00" + syncsafe + os.urandom(size) + base["mp3"].read_bytes()

    return make


def _encoded(name: str, seconds: float, rate: int, channels: int, args: list[str], make=None):
    def build(folder: Path, base: dict[str, Path]) -> str:
        audio = make(seconds, rate) if make else music(seconds, rate)[:, :1]
        if audio.shape[1] != channels:
            audio = np.repeat(audio[:, :1], channels, axis=1)
        src = folder / f"{name}.src.wav"
        sf.write(src, audio, rate, subtype="FLOAT")
        path = folder / name
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), *args]
            + [str(path)],
            check=True,
            timeout=60,
        )
        src.unlink()
        return str(path)

    return build


def _copy_as(name: str, ext: str) -> Build:
    return _bytes_case(name, lambda base: base[ext].read_bytes())


def _named(name: str, ext: str = "wav") -> Build:
    def build(folder: Path, base: dict[str, Path]) -> str:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base[ext].read_bytes())
        return str(path)

    return build


def _relative(name: str) -> Build:
    """A relative name (resolved against the working directory, the case folder)."""

    def build(folder: Path, base: dict[str, Path]) -> str:
        (folder / name).write_bytes(base["wav"].read_bytes())
        return name

    return build


def _special(kind: str) -> Build:
    def build(folder: Path, base: dict[str, Path]) -> str:
        path = folder / f"{kind}.mp3"
        if kind == "folder":
            path.mkdir()
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "loop":
            os.symlink(folder / "loop-b.mp3", path)
            os.symlink(path, folder / "loop-b.mp3")
        elif kind == "dangling":
            os.symlink(folder / "nowhere.mp3", path)
        elif kind == "devnull":
            os.symlink("/dev/null", path)
        elif kind == "missing":
            pass
        elif kind == "under-file":
            (folder / "plain.txt").write_text("x")
            return str(folder / "plain.txt" / "x.mp3")
        return str(path)

    return build


def _long_corrupt_mp3(folder: Path, base: dict[str, Path]) -> str:
    """The report's case: a 90-second MP3 with a few bytes overwritten every 300 bytes
    (ffmpeg writes hundreds of kilobytes of warnings decoding it)."""
    src = folder / "long.wav"
    sf.write(src, np.tile(music(), (18, 1)), RATE, subtype="PCM_16")
    mp3 = folder / "long-good.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
        + ["-b:a", "128k", str(mp3)],
        check=True,
        timeout=60,
    )
    data = bytearray(mp3.read_bytes())
    rng = np.random.default_rng(5)
    for i in range(2000, len(data), 300):
        data[i : i + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
    path = folder / "damaged mix.mp3"
    path.write_bytes(bytes(data))
    src.unlink()
    mp3.unlink()
    return str(path)


def _video_only(folder: Path, base: dict[str, Path]) -> str:
    path = folder / "video-only.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
        + ["color=c=black:s=32x32:d=2", "-c:v", "mpeg4", str(path)],
        check=True,
        timeout=60,
    )
    return str(path)


def _nan_at(index: slice) -> Callable[[np.ndarray], None]:
    def fill(audio: np.ndarray) -> None:
        audio[index] = np.nan

    return fill


def _set(index: slice, value: float) -> Callable[[np.ndarray], None]:
    def fill(audio: np.ndarray) -> None:
        audio[index] = value

    return fill


def _silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros((int(seconds * rate), 1), dtype=np.float32)


def _square(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sign(np.sin(2 * np.pi * 100 * t)) * 1.0).astype(np.float32)[:, None]


def _dc(seconds: float, rate: int) -> np.ndarray:
    return np.full((int(seconds * rate), 1), 0.9, dtype=np.float32)


def cases() -> list[Case]:
    out: list[Case] = []
    exts = list(FORMATS)
    for ext in exts:
        for label, keep in [
            ("10b", lambda n: 10),
            ("100b", lambda n: 100),
            ("1k", lambda n: 1024),
            ("half", lambda n: n // 2),
            ("minus1", lambda n: n - 1),
        ]:
            kind = "bad" if label in {"10b", "100b"} else "odd"
            out.append(
                Case(f"trunc-{label}-{ext}", kind, _bytes_case(f"t.{ext}", _truncate(ext, keep)))
            )
    for ext in exts:
        out.append(
            Case(
                f"corrupt-every300-{ext}",
                "odd",
                _bytes_case(f"c.{ext}", _corrupt_every(ext, 300, 1)),
            )
        )
        out.append(
            Case(
                f"scramble-5pct-{ext}",
                "odd",
                _bytes_case(f"s.{ext}", _scramble_fraction(ext, 0.05, 2)),
            )
        )
        out.append(
            Case(f"zero-header-{ext}", "odd", _bytes_case(f"z.{ext}", _zero_header(ext, 64)))
        )
    out += [
        Case("mp3-named-wav", "odd", _copy_as("song.wav", "mp3")),
        Case("wav-named-mp3", "odd", _copy_as("song.mp3", "wav")),
        Case("flac-named-ogg", "odd", _copy_as("song.ogg", "flac")),
        Case("ogg-named-m4a", "odd", _copy_as("song.m4a", "ogg")),
        Case("m4a-no-extension", "odd", _copy_as("song", "m4a")),
        Case(
            "text-named-mp3", "bad", _bytes_case("notes.mp3", lambda b: b"just some notes\n" * 50)
        ),
        Case(
            "html-named-mp3",
            "bad",
            _bytes_case("page.mp3", lambda b: b"<html><body>hi</body></html>"),
        ),
        Case(
            "json-named-flac", "bad", _bytes_case("data.flac", lambda b: b'{"a": [1, 2, 3]}' * 20)
        ),
        Case(
            "png-named-flac",
            "bad",
            _bytes_case("pic.flac", lambda b: b"\x89PNG\r\n\x1a\n" + bytes(2000)),
        ),
        Case(
            "zip-named-m4a", "bad", _bytes_case("a.m4a", lambda b: b"PK\x03\x04" + os.urandom(3000))
        ),
        Case("elf-named-wav", "bad", _bytes_case("a.wav", lambda b: b"\x7fELF" + os.urandom(3000))),
        Case("empty", "bad", _bytes_case("empty.mp3", lambda b: b"")),
        Case("one-byte", "bad", _bytes_case("one.mp3", lambda b: b"\xff")),
        Case("zeros-100k", "bad", _bytes_case("zeros.mp3", lambda b: bytes(100_000))),
        Case("random-100k", "bad", _bytes_case("random.wav", lambda b: os.urandom(100_000))),
        Case(
            "random-ogg-magic", "bad", _bytes_case("r.ogg", lambda b: b"OggS" + os.urandom(20_000))
        ),
        Case(
            "riff-header-only", "bad", _bytes_case("h.wav", lambda b: b"RIFF\x24\x00\x00\x00WAVE")
        ),
        Case("folder", "bad", _special("folder")),
        Case("fifo", "bad", _special("fifo")),
        Case("symlink-loop", "bad", _special("loop")),
        Case("dangling-symlink", "bad", _special("dangling")),
        Case("dev-null", "bad", _special("devnull")),
        Case("missing", "bad", _special("missing")),
        Case("path-under-a-file", "bad", _special("under-file")),
        Case("video-only", "bad", _video_only),
        Case("corrupt-throughout-90s-mp3", "bad", _long_corrupt_mp3),
        Case("nan-start", "bad", _float_wav("nan1.wav", _nan_at(slice(0, 10)))),
        Case("nan-middle", "bad", _float_wav("nan2.wav", _nan_at(slice(100_000, 100_003)))),
        Case("nan-all", "bad", _float_wav("nan3.wav", _nan_at(slice(None)))),
        Case("inf-plus", "bad", _float_wav("inf1.wav", _set(slice(5000, 5001), np.inf))),
        Case("inf-minus", "bad", _float_wav("inf2.wav", _set(slice(200_000, 200_100), -np.inf))),
        Case("huge-finite", "odd", _float_wav("big.wav", _set(slice(1000, 2000), 1e30))),
        Case("denormals", "odd", _float_wav("den.wav", _set(slice(None), 1e-40))),
        Case(
            "wav-size-lies-4g",
            "odd",
            _bytes_case("lie.wav", _wav_bytes(RATE, 2, 16, RATE * 5, 0xFFFFFFF0)),
        ),
        Case("wav-zero-channels", "bad", _bytes_case("c0.wav", _wav_bytes(RATE, 0, 16, 1000))),
        Case("wav-rate-1hz", "odd", _bytes_case("r1.wav", _wav_bytes(1, 1, 16, 6))),
        Case("wav-rate-0", "bad", _bytes_case("r0.wav", _wav_bytes(0, 1, 16, 1000))),
        Case("wav-8bit", "odd", _bytes_case("u8.wav", _wav_bytes(22050, 1, 8, 22050 * 5))),
        Case("wav-huge-list-chunk", "odd", _bytes_case("list.wav", _wav_with_chunk(2_000_000))),
        Case(
            "wav-chunk-size-lies", "odd", _bytes_case("list2.wav", _wav_with_chunk(16, 0x7FFFFFF0))
        ),
        Case("mp3-2mb-id3", "odd", _bytes_case("id3.mp3", _id3_prefix(2_000_000))),
        Case("mp3-id3-claims-256mb", "odd", _bytes_case("id3b.mp3", _id3_prefix(1000, 0x0FFFFFFF))),
        Case("tiny-50ms", "odd", _encoded("tiny.wav", 0.05, RATE, 2, ["-c:a", "pcm_s16le"])),
        Case("one-sample", "odd", _encoded("one.wav", 1 / RATE, RATE, 1, ["-c:a", "pcm_s16le"])),
        Case(
            "silence", "odd", _encoded("silent.flac", SECONDS, RATE, 1, ["-c:a", "flac"], _silence)
        ),
        Case("mono-8khz", "odd", _encoded("m8.mp3", SECONDS, 8000, 1, ["-c:a", "libmp3lame"])),
        Case(
            "clipped-square",
            "odd",
            _encoded("sq.wav", SECONDS, RATE, 2, ["-c:a", "pcm_s16le"], _square),
        ),
        Case("dc-offset", "odd", _encoded("dc.wav", SECONDS, RATE, 1, ["-c:a", "pcm_s16le"], _dc)),
        Case("six-channels", "odd", _encoded("six.flac", SECONDS, RATE, 6, ["-c:a", "flac"])),
        Case("rate-192k", "odd", _encoded("hi.flac", SECONDS, 192000, 2, ["-c:a", "flac"])),
        Case("name-colon", "odd", _relative("Live:Set.wav")),
        Case("name-file-scheme", "odd", _relative("file:set.wav")),
        Case("name-http-like", "odd", _relative("http:set.wav")),
        Case("name-leading-dash", "odd", _relative("-set.wav")),
        Case("name-pipe", "odd", _relative("pipe:1.wav")),
        Case("name-spaces", "odd", _named("my set (final) .wav")),
        Case("name-unicode", "odd", _named("Ümlaut ☃ 🎧 セット.wav")),
        Case("name-newline", "odd", _named("two\nlines.wav")),
        Case("name-percent-hash", "odd", _named("100% #1 ?.wav")),
        Case("name-255-bytes", "odd", _named("n" * 251 + ".wav")),
        Case("name-300-bytes", "bad", lambda folder, base: str(folder / ("n" * 296 + ".wav"))),
        Case("name-tilde-nosuchuser", "bad", lambda folder, base: "~nosuchuser-cratebot/x.mp3"),
        Case("name-dotdot", "odd", _named("sub/../song.wav")),
        Case("deep-path", "odd", _named("/".join(["d"] * 40) + "/song.wav")),
    ]
    return out


CASES = cases()
