"""Peak RSS of stream-decoding a generated long file (goal: flat, < 100 MB).

Generates an N-minute stereo MP3 (default 60) with ffmpeg's sine source, then
decodes it to 44.1 kHz stereo float32 blocks in a child process per length and
prints that child's peak RSS (ru_maxrss), so lengths do not share a high-water mark.

    python benchmarks/decode_rss.py [--minutes 10 30 60]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from core.audio import decode_blocks
t0 = time.perf_counter()
frames = 0
for block in decode_blocks(sys.argv[1], sample_rate=44100, channels=2, block_frames=65536):
    frames += len(block)
elapsed = time.perf_counter() - t0
print(frames, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_file(minutes: int, folder: Path) -> Path:
    from core.audio.ffmpeg import ffmpeg_exe

    path = folder / f"sine_{minutes}min.mp3"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={minutes * 60}",
            "-ac",
            "2",
            "-b:a",
            "128k",
            str(path),
        ],
        check=True,
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, nargs="+", default=[10, 30, 60])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"{'minutes':>7} {'decoded_s':>10} {'wall_s':>7} {'x_realtime':>10} {'peak_rss_MB':>11}"
        )
        for minutes in args.minutes:
            path = make_file(minutes, Path(tmp))
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(ROOT)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            frames, elapsed, rss_kb = int(out[0]), float(out[1]), int(out[2])
            print(
                f"{minutes:>7} {frames / 44100:>10.1f} {elapsed:>7.1f} "
                f"{frames / 44100 / elapsed:>10.0f} {rss_kb / 1024:>11.1f}"
            )
    # ffmpeg's own memory is a separate process; report the largest child too.
    print(
        f"largest ffmpeg/child RSS seen: "
        f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.1f} MB"
    )


if __name__ == "__main__":
    main()
