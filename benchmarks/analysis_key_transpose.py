"""Key estimation under transposition: does the key move by the semitones shifted?

For every track in ../shared/audio (or the folder given), a 30 s excerpt is
analysed as is and pitch-shifted (pedalboard PitchShift, tempo kept) by -3, +2
and +5 semitones; a case passes when the estimated key equals the original
estimate transposed by the shift (same mode). Prints per-track results and totals.

    python benchmarks/analysis_key_transpose.py [AUDIO_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pedalboard

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analysis.analyze import analyze_array  # noqa: E402
from core.analysis.features import SAMPLE_RATE  # noqa: E402
from core.analysis.keys import parse_key  # noqa: E402
from core.audio import decode_array, probe_audio  # noqa: E402

SHIFTS = (-3, 2, 5)


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "audio"
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in {".ogg", ".mp3", ".wav", ".flac"}
    )
    passed = total = 0
    for path in files:
        duration = probe_audio(path).duration_s
        start = max(0.0, min(20.0, duration - 30.0))
        audio = decode_array(path, SAMPLE_RATE, 1, start_s=start, duration_s=30.0)[:, 0]
        if len(audio) < SAMPLE_RATE * 5:
            continue
        base = analyze_array(audio)
        if base.key is None:
            continue
        marks = []
        for shift in SHIFTS:
            moved = analyze_array(
                pedalboard.PitchShift(semitones=shift)(audio[None, :], SAMPLE_RATE)[0]
            )
            ok = moved.key is not None and parse_key(moved.key) == parse_key(base.key).transposed(
                shift
            )
            passed += ok
            total += 1
            marks.append(f"{shift:+d}:{'ok' if ok else moved.key}")
        print(f"{path.name:55s} {base.key:4s} conf={base.key_confidence:.3f}  {'  '.join(marks)}")
    print(
        f"\nkey moved by the right number of semitones in {passed}/{total} cases "
        f"({100 * passed / max(total, 1):.0f} %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
