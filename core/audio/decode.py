"""Stream any ffmpeg-readable file as fixed-size float32 PCM blocks in constant memory.

ffmpeg resamples and mixes down, and its output is read from a pipe one block at
a time, so a 6-hour file costs the same memory as a 6-second one.

Both of ffmpeg's pipes are read in one ``select`` loop: a damaged file makes ffmpeg
write hundreds of kilobytes of warnings, and reading stderr only at the end would
let that pipe fill up and stall both processes for good. The loop also bounds the
time spent *waiting for ffmpeg* (not the caller's time between blocks) in
proportion to the audio produced, and gives up once ffmpeg reports errors at a
rate that means the file is damaged throughout.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import subprocess
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.audio.ffmpeg import ffmpeg_exe, ffmpeg_input
from core.errors import BadInput

# Waiting for ffmpeg may take STALL_BASE_S plus SLOWEST_FRACTION seconds per second of
# audio produced (ffmpeg decodes at hundreds of times real time; 0.5 still allows a
# crowded machine running at only twice real time).
STALL_BASE_S = 30.0
SLOWEST_FRACTION = 0.5
# More error lines than this (per second decoded, plus a start allowance) means the file
# is damaged throughout, not a glitch or two in an otherwise good mix.
ERRORS_BASE = 100
ERRORS_PER_SECOND = 2.0
_STDERR_KEEP = 20
# Full scale is 1.0; float files may run hot, but not 80 dB over: beyond that, clipped.
MAX_SAMPLE = 1e4
# Samples (at the file's own rate) per frame leaving the filter graph; p=0: no padding.
FILTER_FRAME = 65536
_GENERIC = (
    "Terminating thread",
    "Error number",
    "Conversion failed",
    "Nothing was written",
)  # last lines kept for the message; the rest is counted and dropped


def _command(
    path: Path, sample_rate: int, channels: int, start_s: float | None, duration_s: float | None
) -> list[str]:
    # One thread per stage and few, large frames: ffmpeg (7+) runs demuxer, decoder,
    # filters, encoder and muxer in threads that hand every frame on, and with a
    # 26 ms MP3 frame those hand-offs cost more system time than the decoding itself.
    # The decoded samples are bit-identical (benchmarks/identify_speed.py, README).
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1"]
    if start_s:
        cmd += ["-ss", f"{start_s:.6f}"]
    cmd += ["-i", ffmpeg_input(path)]
    if duration_s is not None:
        cmd += ["-t", f"{duration_s:.6f}"]
    cmd += [
        "-threads",
        "1",
        "-filter_threads",
        "1",
        "-af",
        f"asetnsamples=n={FILTER_FRAME}:p=0",
        "-vn",
        "-sn",
        "-dn",
        "-map",
        "0:a:0",
        "-ac",
        str(channels),
        "-ar",
        str(sample_rate),
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "pipe:1",
    ]
    return cmd


# A pipe holds 64 KiB by default: 2 s of 8 kHz float audio, so ffmpeg stalled
# whenever the reader was busy and the two took turns on a 2-core machine. A
# wider pipe lets ffmpeg decode ahead on the other core.
PIPE_BYTES = 1 << 20


def _widen_pipe(fd: int) -> None:
    """Best effort: Linux only, and capped by /proc/sys/fs/pipe-max-size."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, setpipe, PIPE_BYTES)


class _ErrorLines:
    """ffmpeg's stderr: counted in full, only the last few lines kept."""

    def __init__(self) -> None:
        self.count = 0
        self.tail: deque[str] = deque(maxlen=_STDERR_KEEP)
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > 4096:  # a line without end; keep memory bounded
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            if text:
                self.count += 1
                self.tail.append(text)

    def close(self) -> None:
        if self._partial:
            self.feed(b"\n")

    def last(self) -> str:
        """The most telling recent line: ffmpeg ends with generic ones worth skipping."""
        for line in reversed(self.tail):
            if not any(noise in line for noise in _GENERIC):
                return line
        return "the data is damaged"


def _read_errors(selector: selectors.BaseSelector, err_fd: int, errors: _ErrorLines) -> None:
    """Feed what ffmpeg wrote to stderr into the error count; stop watching it at its end."""
    chunk = os.read(err_fd, 65536)
    if chunk:
        errors.feed(chunk)
    else:
        selector.unregister(err_fd)


def _clean_detail(line: str) -> str:
    """ffmpeg's line without its ``[codec @ 0x...]`` prefixes (and never a path of ours)."""
    while line.startswith("["):
        end = line.find("]")
        if end < 0:
            break
        line = line[end + 1 :].strip()
    return line[:200]


def decode_blocks(
    path: str | Path,
    sample_rate: int = 44100,
    channels: int = 2,
    block_frames: int = 65536,
    start_s: float | None = None,
    duration_s: float | None = None,
) -> Iterator[np.ndarray]:
    """Yield ``(frames, channels)`` float32 arrays of ``block_frames`` rows (the last may be shorter).

    Each yielded array is freshly allocated, so callers may keep it. Raises ``BadInput``
    when nothing decodes, when the file is damaged throughout, or when ffmpeg stalls.
    """
    path = Path(path)
    name = path.name
    frame_bytes = 4 * channels
    bytes_per_second = frame_bytes * sample_rate
    want = block_frames * frame_bytes
    proc = subprocess.Popen(
        _command(path, sample_rate, channels, start_s, duration_s),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    _widen_pipe(out_fd)
    errors = _ErrorLines()
    selector = selectors.DefaultSelector()
    selector.register(out_fd, selectors.EVENT_READ)
    selector.register(err_fd, selectors.EVENT_READ)
    produced = 0
    waited = 0.0
    out_open = True
    code: int | None = None
    try:
        while out_open:
            buf = bytearray(want)
            view = memoryview(buf)
            got = 0
            while got < want and out_open:
                allowed = STALL_BASE_S + SLOWEST_FRACTION * (produced + got) / bytes_per_second
                if waited >= allowed:
                    raise BadInput(
                        f"{name}: decoding stalled (ffmpeg made no progress for "
                        f"{allowed:.0f} s); the file is damaged or not audio"
                    )
                began = time.monotonic()
                events = selector.select(timeout=allowed - waited)
                waited += time.monotonic() - began
                for key, _ in events:
                    if key.fd == err_fd:
                        _read_errors(selector, err_fd, errors)
                    else:
                        n = os.readv(out_fd, [view[got:]])
                        if n:
                            got += n
                        else:
                            selector.unregister(out_fd)
                            out_open = False
                seconds = (produced + got) / bytes_per_second
                if errors.count > ERRORS_BASE + ERRORS_PER_SECOND * seconds:
                    raise BadInput(
                        f"{name}: the audio is damaged throughout (ffmpeg reported "
                        f"{errors.count} decoding errors in the first {max(seconds, 1):.0f} s: "
                        f"{_clean_detail(errors.last())})"
                    )
            usable = got - got % frame_bytes
            if usable:
                block = np.frombuffer(buf, dtype=np.float32, count=usable // 4)
                finite = np.isfinite(block)
                if not finite.all():
                    # Float WAV/AIFF can hold NaN or infinity; every analysis downstream
                    # would fail on them in its own obscure way.
                    first_bad = int(np.argmin(finite))
                    at = (produced + first_bad * 4) / bytes_per_second
                    raise BadInput(
                        f"{name}: the audio holds invalid samples (NaN or infinity) near {at:.0f} s"
                    )
                # Absurd but finite values (a float file, a decoder fed garbage) are clipped
                # so that no later square or sum overflows.
                np.clip(block, -MAX_SAMPLE, MAX_SAMPLE, out=block)
                produced += usable
                yield block.reshape(-1, channels)
        # stdout is closed: collect the rest of stderr (bounded by the same budget).
        deadline = time.monotonic() + max(5.0, STALL_BASE_S - waited)
        while err_fd in selector.get_map() and time.monotonic() < deadline:
            for _key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                _read_errors(selector, err_fd, errors)
        try:
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
    finally:
        selector.close()
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
        proc.wait()
    errors.close()
    if code != 0 and produced == 0:
        detail = _clean_detail(errors.last()) if errors.tail else f"exit code {code}"
        raise BadInput(f"{name}: cannot decode audio ({detail})")


def decode_array(
    path: str | Path,
    sample_rate: int = 44100,
    channels: int = 2,
    start_s: float | None = None,
    duration_s: float | None = None,
) -> np.ndarray:
    """Decode a (short) stretch of a file into one ``(frames, channels)`` array."""
    blocks = list(decode_blocks(path, sample_rate, channels, 1 << 18, start_s, duration_s))
    if not blocks:
        return np.zeros((0, channels), dtype=np.float32)
    return np.concatenate(blocks, axis=0)
