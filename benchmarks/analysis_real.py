"""Tempo, beats and key on real, externally annotated music, scored with mir_eval per genre.

Reads a folder of ``GENRE/NAME.<audio>`` files with ``GENRE/NAME.json`` annotations beside them
(``bpm``, ``beats``, ``key``; built by benchmarks/analysis_real_fetch.py from public sources)
and prints, per genre and overall:

- tempo Acc1 (within 4 %) and Acc2 (also at x2, x1/2, x3, x1/3),
- the MIREX key weighted score (1 / 0.5 fifth / 0.3 relative / 0.2 parallel) and exact keys,
- the beat F-measure (mir_eval, +-70 ms, no beats trimmed: the excerpts are short; scored
  within the annotated span, since some sources annotate only an excerpt's first beats), and
  how many annotated beats that F-measure rests on (mirdata's test excerpts keep 3 to 24).

``--librosa`` adds librosa's defaults (beat_track on its default onset envelope) as an anchor;
``--pi`` the Pi's numpy-only tempo estimate (realtime/bpm_analysis.py; tempo only);
``--librosa-key`` the textbook key recipe as a key anchor: librosa's default ``chroma_cqt``
summed over the track and correlated with the Krumhansl-Kessler profiles (key only).

    python benchmarks/analysis_real.py FOLDER [--librosa] [--pi] [--librosa-key] [--tracks]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mir_eval
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.analysis.analyze import analyze_track  # noqa: E402
from core.analysis.keys import parse_key  # noqa: E402

AUDIO = {".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif", ".m4a"}


@dataclass
class Result:
    bpm: float | None
    beats: np.ndarray
    key: str | None
    tracks_beats: bool = True  # False: the system gives no beats / key, so none are scored
    finds_keys: bool = True
    finds_tempo: bool = True


@dataclass
class Score:
    acc1: float | None = None
    acc2: float | None = None
    key: float | None = None
    key_exact: float | None = None
    beat_f: float | None = None
    ref_beats: int = 0  # annotated beats scored (mirdata's test excerpts annotate only a few)


def ours(path: Path) -> Result:
    analysis = analyze_track(path)
    return Result(analysis.bpm, np.asarray(analysis.beats), analysis.key)


def librosa_defaults(path: Path) -> Result:
    import librosa

    y, sr = librosa.load(str(path), sr=22050, mono=True)
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return Result(float(np.atleast_1d(tempo)[0]), np.asarray(beats), None, finds_keys=False)


def pi_numpy(path: Path) -> Result:
    """The Pi's numpy-only tempo estimate (no beats, no key), as ``/load`` would compute it."""
    from realtime.bpm_analysis import estimate_bpm
    from realtime.track import decode

    audio = decode(path, 44100).mean(axis=1)
    return Result(estimate_bpm(audio, 44100), np.zeros(0), None, False, False)


def librosa_key(path: Path) -> Result:
    """librosa's default chroma, summed, best of the 24 rotated Krumhansl-Kessler profiles."""
    import librosa

    from core.analysis.keys import estimate_key

    y, sr = librosa.load(str(path), sr=22050, mono=True)
    estimate = estimate_key(librosa.feature.chroma_cqt(y=y, sr=sr).sum(axis=1))
    key = None if estimate is None else estimate.key.name
    return Result(None, np.zeros(0), key, tracks_beats=False, finds_tempo=False)


def mirex_key(name: str) -> str:
    key = parse_key(name)
    tonic = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")[key.pitch_class]
    return f"{tonic} {'minor' if key.minor else 'major'}"


def score(result: Result, truth: dict[str, object]) -> Score:
    out = Score()
    bpm = truth.get("bpm")
    if isinstance(bpm, int | float) and result.bpm is not None:
        ratio = result.bpm / float(bpm)
        out.acc1 = float(abs(ratio - 1) <= 0.04)
        out.acc2 = float(any(abs(ratio / f - 1) <= 0.04 for f in (1, 2, 0.5, 3, 1 / 3)))
    elif isinstance(bpm, int | float) and result.finds_tempo:
        out.acc1 = out.acc2 = 0.0
    beats = truth.get("beats")
    if isinstance(beats, list) and beats and result.tracks_beats:
        # Some sources annotate only the first beats of an excerpt: score inside that span.
        ref = np.asarray(beats, float)
        span = (result.beats >= ref[0] - 0.07) & (result.beats <= ref[-1] + 0.07)
        out.beat_f = float(mir_eval.beat.f_measure(ref, result.beats[span]))
        out.ref_beats = len(ref)
    key = truth.get("key")
    if isinstance(key, str) and key and result.finds_keys:
        if result.key is None:
            out.key = out.key_exact = 0.0
        else:
            out.key = float(mir_eval.key.weighted_score(mirex_key(key), mirex_key(result.key)))
            out.key_exact = float(parse_key(key) == parse_key(result.key))
    return out


def mean(values: list[float | None]) -> str:
    kept = [v for v in values if v is not None]
    return f"{100 * np.mean(kept):5.1f} %" if kept else "   -   "


def table(name: str, scores: dict[str, list[tuple[str, Score]]]) -> None:
    print(f"\n{name}")
    print(
        f"{'genre':18} {'n':>3} {'Acc1':>8} {'Acc2':>8} {'key':>8} {'key=':>8} {'beat F':>7}"
        f" {'beats':>5}"
    )
    rows = sorted(scores.items()) + [("ALL", [s for v in scores.values() for s in v])]
    for genre, items in rows:
        s = [x for _, x in items]
        beat = [x.beat_f for x in s if x.beat_f is not None]
        print(
            f"{genre:18} {len(s):3d} {mean([x.acc1 for x in s]):>8} {mean([x.acc2 for x in s]):>8}"
            f" {mean([x.key for x in s]):>8} {mean([x.key_exact for x in s]):>8}"
            f" {np.mean(beat) if beat else float('nan'):7.3f} {sum(x.ref_beats for x in s):5d}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--librosa", action="store_true", help="also score librosa's defaults")
    parser.add_argument("--pi", action="store_true", help="also score the Pi's numpy tempo")
    parser.add_argument(
        "--librosa-key", action="store_true", help="also score librosa chroma + Krumhansl keys"
    )
    parser.add_argument("--tracks", action="store_true", help="print every excerpt's result")
    args = parser.parse_args()
    files = sorted(
        p
        for p in args.folder.rglob("*")
        if p.suffix.lower() in AUDIO and p.with_suffix(".json").exists()
    )
    if not files:
        print(f"{args.folder}: no audio files with a .json annotation beside them")
        return 1
    systems: dict[str, Callable[[Path], Result]] = {"CrateBot": ours}
    if args.librosa:
        systems["librosa defaults"] = librosa_defaults
    if args.pi:
        systems["Pi numpy tempo"] = pi_numpy
    if args.librosa_key:
        systems["librosa chroma + KK key"] = librosa_key
    warnings.filterwarnings("ignore")
    for name, run in systems.items():
        scores: dict[str, list[tuple[str, Score]]] = defaultdict(list)
        started = time.perf_counter()
        for path in files:
            truth = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            result = run(path)
            s = score(result, truth)
            scores[path.parent.name].append((path.stem, s))
            if args.tracks:
                bpm = "-" if result.bpm is None else f"{result.bpm:.1f}"
                f = "-" if s.beat_f is None else f"{s.beat_f:.3f}"
                print(
                    f"  {name[:8]:8} {path.parent.name[:14]:14} {path.stem[:36]:36} "
                    f"bpm {bpm:>6} (truth {truth.get('bpm') or '-'}) "
                    f"key {result.key or '-':4} (truth {truth.get('key') or '-'}) beat F {f}"
                )
        table(f"{name} ({len(files)} excerpts, {time.perf_counter() - started:.0f} s)", scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
