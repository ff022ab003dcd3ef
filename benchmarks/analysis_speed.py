"""Speed of analysis plus section export on a 5-minute track, as a real-time factor.

Builds a 300 s, 320 kbit/s MP3 (stereo, 44.1 kHz) by looping a track of
../shared/audio (or the file given), then times, in a fresh process as the CLI
would run it: analysis (decode + features + beats + key + segments) and the export
of one 16-bar section (decode of the crop, Rubber Band stretch, two WAVs). A second
round in the same process shows the warm figures (librosa's numba kernels loaded).
Also prints the peak resident memory.

    python benchmarks/analysis_speed.py [AUDIO_FILE] [--seconds 300]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared" / "audio" / "Johan_Brodd--Open_Surge_Theme.ogg"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=str(DEFAULT))
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    t_start = time.perf_counter()
    from core.analysis import analyze_track
    from core.audio import ffmpeg_exe
    from core.sections.cues import section_cues
    from core.sections.export import export_section

    t_import = time.perf_counter() - t_start
    with tempfile.TemporaryDirectory() as tmp:
        track = Path(tmp) / "five_minutes.mp3"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-stream_loop",
                "-1",
                "-i",
                args.source,
                "-t",
                str(args.seconds),
                "-ac",
                "2",
                "-ar",
                "44100",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "320k",
                str(track),
            ],
            check=True,
        )
        for round_ in ("cold", "warm"):
            t0 = time.perf_counter()
            analysis = analyze_track(track)
            t1 = time.perf_counter()
            cues = section_cues(analysis, bars=16, target_bpm=(analysis.bpm or 120) * 1.03)
            export_section(track, cues, Path(tmp) / "part.wav", Path(tmp) / "orig.wav")
            t2 = time.perf_counter()
            total = t2 - t0 + (t_import if round_ == "cold" else 0.0)
            print(
                f"{round_}: analysis {t1 - t0:.2f} s ({analysis.duration / (t1 - t0):.0f}x), "
                f"export of {cues.duration_orig:.1f} s section at speed {cues.speed:.3f}: "
                f"{t2 - t1:.2f} s; total{' incl. imports' if round_ == 'cold' else ''} "
                f"{total:.2f} s = {analysis.duration / total:.1f}x real time"
            )
        print(
            f"track: {analysis.duration:.1f} s, {analysis.bpm:.2f} BPM, {analysis.key}, "
            f"{len(analysis.segments)} segments"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
