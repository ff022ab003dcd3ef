"""Compare realtime's numpy tempo estimate with librosa's on ../shared/audio (prints a table).

    python benchmarks/realtime_bpm.py [AUDIO_DIR]

librosa is not a Pi dependency; it is only the reference here. Agreement is counted
exact (within 2 %) or up to a factor 2 / 1.5 (octave or 3:2 confusion).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from realtime.bpm_analysis import estimate_bpm
from realtime.track import decode


def main() -> int:
    folder = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "shared" / "audio"
    )
    if not (folder / "tracks.json").is_file():
        print(f"no tracks.json in {folder}")
        return 1
    import librosa

    tracks = json.loads((folder / "tracks.json").read_text())
    exact = related = 0
    spent = 0.0
    for entry in tracks:
        audio = decode(folder / entry["file"], 44100)
        mono = audio.mean(axis=1)
        t0 = time.perf_counter()
        ours = estimate_bpm(mono, 44100)
        spent += time.perf_counter() - t0
        ref = float(np.atleast_1d(librosa.beat.beat_track(y=mono[: 120 * 44100], sr=44100)[0])[0])
        ratio = ours / ref
        is_exact = abs(ratio - 1) < 0.02
        is_related = any(abs(ratio / r - 1) < 0.02 for r in (2, 0.5, 1.5, 2 / 3))
        exact += is_exact
        related += is_related
        print(
            f"{entry['file'][:48]:48s} ours {ours:7.2f}  librosa {ref:7.2f}  "
            f"{'same' if is_exact else 'related' if is_related else 'DIFFERENT'}"
        )
    print(
        f"\n{len(tracks)} tracks: {exact} same tempo, {related} octave/3:2 related, "
        f"{len(tracks) - exact - related} different; analysis {spent / len(tracks):.2f} s/track"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
