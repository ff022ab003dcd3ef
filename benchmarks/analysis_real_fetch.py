"""Build the folder that benchmarks/analysis_real.py reads, from local copies of public sources.

Nothing is downloaded: give the path of a clone (or bare git directory) of each source.

    git clone --depth 1 https://github.com/mir-dataset-loaders/mirdata /tmp/mirdata
    git clone --depth 1 https://github.com/jmaldon1/Musher /tmp/musher
    git clone --depth 1 https://github.com/alexanderlerch/gtzan_key /tmp/gtzan_key
    git clone --depth 1 https://github.com/mjhydri/BeatNet /tmp/BeatNet
    python benchmarks/analysis_real_fetch.py OUT_DIR --mirdata /tmp/mirdata \
        [--shared ../shared/audio] [--musher /tmp/musher] [--gtzan-key /tmp/gtzan_key] \
        [--beatnet /tmp/BeatNet]

Sources (each excerpt's JSON names its origin and licence):

- mirdata (BSD-3-Clause code) keeps small excerpts of datasets in tests/resources/mir_datasets,
  with the datasets' own annotations: Ballroom (Gouyon et al. 2006; beats by Krebs et al. 2013),
  GTZAN (Tzanetakis 2002; tempo and beats by Marchand & Peeters 2015), Hainsworth (2004),
  SIMAC (Gouyon 2005), BRID (Maia et al. 2018), Jazz Trio Database (Cheston et al. 2024).
  The audio is the datasets' (mostly commercial recordings, research use): it is copied only into
  OUT_DIR, never into this repository.
- BeatNet (CC BY 4.0): its 10 s test clip "808kick120bpm".
- ../shared/audio (openly licensed, librosa/data): excerpts whose published title states the
  tempo ("Solo Trumpet 06 (90 bpm loop)") or key (Hungarian Dance No. 5; see its entry).
- mirdata's key clips: GiantSteps Key and Beatport EDM Key (Faraldo), FMA keys, Queen and
  Beatles (Isophonics keylab), Tonality classicalDB (Gomez 2006), GuitarSet (key_mode).
- GTZAN key labels by Alexander Lerch (alexanderlerch/gtzan_key, MIT) give the
  key of mirdata's GTZAN clip (country.00000, A major); use with --mirdata.
- jmaldon1/Musher (test data of a key/tempo library): two excerpts whose file names state
  their key (an EDM track in Eb major, Mozart in C major); unstated licence, research use only.

The output folder holds ``GENRE/NAME.<ext>`` with ``GENRE/NAME.json`` beside it:
``{"bpm": float|null, "beats": [s...]|null, "key": "Gm"|null, "source": ..., "licence": ...}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIR = "tests/resources/mir_datasets/"


@dataclass(frozen=True)
class Excerpt:
    genre: str
    name: str
    audio: str  # path inside the source
    beats: str | None = None  # annotation paths inside the source
    tempo: str | None = None
    key: str | None = None
    beats_format: str = "text"  # "text": time [position] per line; "jtd": csv column 'beats'
    source: str = ""
    licence: str = ""
    key_text: str | None = None  # the key when the annotation is not a file of its own
    loop_to_s: float = 0.0  # repeat a clip shorter than this (the analyser needs 4 s)


MIRDATA = (
    Excerpt(
        "ballroom-waltz",
        "ballroom_Media-105901",
        MIR + "ballroom/B_1.0/audio/Waltz/Media-105901.wav",
        MIR + "ballroom/B_1.0/annotations/beats/Media-105901.beats",
        MIR + "ballroom/B_1.0/annotations/tempo/Media-105901.bpm",
        source="Ballroom dataset (Gouyon et al. 2006) via mirdata test resources",
        licence="research use (ballroomdancers.com excerpt); annotations CC BY-NC-SA",
    ),
    Excerpt(
        "country",
        "gtzan_country.00000",
        MIR + "gtzan_genre/gtzan_genre/genres/country/country.00000.wav",
        MIR + "gtzan_genre/gtzan_tempo_beat-main/beats/gtzan_country_00000.beats",
        MIR + "gtzan_genre/gtzan_tempo_beat-main/tempo/gtzan_country_00000.bpm",
        source="GTZAN (Tzanetakis 2002), tempo/beats Marchand & Peeters 2015, via mirdata",
        licence="research use; annotations CC BY 4.0",
    ),
    Excerpt(
        "pop-hainsworth",
        "hainsworth_hains001",
        MIR + "hainsworth/H_1.0/audio/hains001.flac",
        MIR + "hainsworth/H_1.0/annotations/beats/hains001.beats",
        MIR + "hainsworth/H_1.0/annotations/tempo/hains001.bpm",
        source="Hainsworth beat dataset (2004) via mirdata test resources",
        licence="research use",
    ),
    Excerpt(
        "greek-simac",
        "simac_01_H_mikri_Rallou",
        MIR + "simac/S_1.0/audio/simac_01_H_mikri_Rallou.flac",
        MIR + "simac/S_1.0/annotations/beats/simac_01_H_mikri_Rallou.beats",
        MIR + "simac/S_1.0/annotations/tempo/simac_01_H_mikri_Rallou.bpm",
        source="SIMAC dataset (Gouyon 2005) via mirdata test resources",
        licence="research use",
    ),
    Excerpt(
        "samba-brid",
        "brid_M4-01-SA",
        MIR + "brid/BRID_1.0/Data/Acoustic Mixtures/4 Instruments/[0001] M4-01-SA.wav",
        MIR + "brid/BRID_1.0/Annotations/beats/[0001] M4-01-SA.beats",
        MIR + "brid/BRID_1.0/Annotations/tempo/[0001] M4-01-SA.bpm",
        source="Brazilian Rhythmic Instruments Dataset (Maia et al. 2018) via mirdata",
        licence="CC BY-NC-SA 4.0",
    ),
    Excerpt(
        "jazz-jtd",
        "jtd_barronk-allgodschildren",
        MIR + "jtd/raw/barronk-allgodschildren-drummondrrileyb-1990-8b77c067.wav",
        MIR + "jtd/annotations/barronk-allgodschildren-drummondrrileyb-1990-8b77c067/beats.csv",
        beats_format="jtd",
        source="Jazz Trio Database (Cheston et al. 2024) via mirdata test resources",
        licence="research use; annotations MIT",
    ),
    Excerpt(
        "classical-cuidado",
        "cuidado_FallaCancion",
        MIR + "cuidado/C_1.0/audio/cuidado_FallaCancion.flac",
        MIR + "cuidado/C_1.0/annotations/beats/cuidado_FallaCancion.beats",
        MIR + "cuidado/C_1.0/annotations/tempo/cuidado_FallaCancion.bpm",
        source="CUIDADO beat subset (Peeters; as used by Böck et al.) via mirdata test resources",
        licence="commercial recording, research use",
    ),
)

# Key-annotated clips: mirdata keeps only 2-3 s of each, repeated to 4 s here (the tonal
# content is unchanged; no tempo or beats are scored on them).
KEY_CLIPS = (
    Excerpt(
        "key-edm",
        "giantsteps_key_10089",
        MIR + "giantsteps_key/audio/10089 Jason Sparks - Close My Eyes feat. J. Little "
        "(Original Mix).mp3",
        key=MIR + "giantsteps_key/keys_gs+/10089 Jason Sparks - Close My Eyes feat. J. Little "
        "(Original Mix).txt",
        source="GiantSteps Key (Knees et al. 2015), keys_gs+, via mirdata test resources",
        licence="Beatport preview, research use; annotations CC BY-SA 4.0",
        loop_to_s=4.0,
    ),
    Excerpt(
        "key-edm",
        "beatport_key_100066",
        MIR + "beatport_key/audio/100066 Lindstrom - Monsteer (Original Mix).mp3",
        key=MIR + "beatport_key/keys/100066 Lindstrom - Monsteer (Original Mix).txt",
        source="Beatport EDM Key dataset (Faraldo 2017) via mirdata test resources",
        licence="Beatport preview, research use; annotations CC BY-SA 4.0",
        loop_to_s=4.0,
    ),
    Excerpt(
        "key-fma",
        "fma_keys_000010",
        MIR + "fma_keys/000/000010.mp3",
        source="FMA keys (via mirdata test resources; key from its metadata csv)",
        licence="Free Music Archive track (Creative Commons)",
        key_text="F# major",
        loop_to_s=4.0,
    ),
    Excerpt(
        "key-rock",
        "queen_bohemian_rhapsody",
        MIR + "queen/audio/Greatest Hits I/01 Bohemian Rhapsody.flac",
        source="Queen key annotations (Mauch et al. 2009, Isophonics) via mirdata",
        licence="commercial recording, research use",
        key_text="Bb major",
        loop_to_s=4.0,
    ),
    Excerpt(
        "key-classical",
        "tonality_classicaldb_gloria",
        MIR + "tonality_classicaldb/audio/01-Allegro__Gloria_in_excelsis_Deo_in_D_Major - D.wav",
        source="Tonality classicalDB (Gómez 2006) via mirdata test resources",
        licence="commercial recording, research use",
        key_text="D major",
        loop_to_s=4.0,
    ),
    Excerpt(
        "key-rock",
        "beatles_do_you_want_to_know_a_secret",
        MIR + "beatles/audio/01_-_Please_Please_Me/11_-_Do_You_Want_To_Know_A_Secret.wav",
        source="Beatles key annotations (Harte/Mauch, Isophonics keylab: 'Key E') via mirdata",
        licence="commercial recording, research use; annotations CC BY-NC-SA",
        key_text="E major",
        loop_to_s=4.0,
    ),
    Excerpt(
        "key-jazz-guitar",
        "guitarset_03_BN3-119-G_solo",
        MIR + "guitarset/audio_mono-mic/03_BN3-119-G_solo_mic.wav",
        key=None,
        source="GuitarSet (Xi et al. 2018; key_mode annotation 'G:major') via mirdata",
        licence="CC BY 4.0",
        key_text="G major",
        loop_to_s=4.0,
    ),
)

# Longer real excerpts whose key their publishers state (file name or title).
MUSHER = (
    Excerpt(
        "key-edm",
        "musher_EDM_Eb_major_2min",
        "data/audio_files/EDM_Eb_major_2min.mp3",
        source="jmaldon1/Musher test data ('EDM_Eb_major_2min'; key stated in the file name)",
        licence="unstated (commercial EDM excerpt in a test folder), research use only",
        key_text="Eb major",
    ),
    Excerpt(
        "key-classical",
        "musher_mozart_c_major_30sec",
        "data/audio_files/mozart_c_major_30sec.mp3",
        source="jmaldon1/Musher test data ('mozart_c_major_30sec'; key stated in the file name)",
        licence="unstated, research use only",
        key_text="C major",
    ),
)

SHARED = (
    Excerpt(
        "trumpet-loop",
        "Mihai_Sorohan--Solo_Trumpet_06_90_bpm_loop",
        "Mihai_Sorohan--Solo_Trumpet_06_90_bpm_loop.ogg",
        source="librosa/data: sorohanro - solo-trumpet-06 ('90 bpm loop' in its published title)",
        licence="CC-BY-3.0",
    ),
    Excerpt(
        "key-classical",
        "US_Army_Strings--Hungarian_Dance_No_5",
        "US_Army_Strings--Hungarian_Dance_No_5.ogg",
        # Its published file name says "Allegro in F sharp minor", the key of Brahms's piano
        # duet; string orchestras play Parlow's orchestration, a semitone up in G minor, and
        # so does this recording (A440; chroma peaks D, G, Bb with F# as leading tone).
        source="librosa/data: 'Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_"
        "(string_orchestra)'; key of the orchestral arrangement it plays",
        licence="Public-Domain",
        key_text="G minor",
    ),
)


# BeatNet (github.com/mjhydri/BeatNet, CC BY 4.0) ships a 10 s test clip whose name gives its
# tempo; a plain four-on-the-floor kick, the easiest case, kept as a sanity anchor.
BEATNET = (
    Excerpt(
        "edm-kick",
        "beatnet_808kick120bpm",
        "test/test_data/808kick120bpm.mp3",
        source="BeatNet test data (Heydari et al. 2021), '120bpm' in its file name",
        licence="CC BY 4.0 (BeatNet repository licence)",
    ),
)

# Tempo stated in a published title or file name, for excerpts without an annotation file.
TITLE_BPM = {"_90_bpm_loop": 90.0, "808kick120bpm": 120.0}


# GTZAN key labels by Alexander Lerch (github.com/alexanderlerch/gtzan_key, MIT licence):
# the mirdata excerpt that is a whole GTZAN clip gets its key from there.
GTZAN_KEYS = (
    ("country", "gtzan_country.00000", "gtzan_key/genres/country/country.00000.lerch.txt"),
)
_GTZAN_TONICS = ("A", "A#", "B", "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#")


def gtzan_key(label: str) -> str | None:
    """gtzan_key's label (0-11 major from A, 12-23 minor, -1 unknown) as ``A major``."""
    number = int(label.split()[0])
    if not 0 <= number <= 23:
        return None
    return f"{_GTZAN_TONICS[number % 12]} {'minor' if number >= 12 else 'major'}"


def add_gtzan_keys(read: Callable[[str], bytes], out: Path) -> int:
    added = 0
    for genre, name, label in GTZAN_KEYS:
        note_path = out / genre / f"{name}.json"
        if not note_path.exists():
            continue
        key = gtzan_key(read(label).decode())
        if key is None:
            continue
        note = json.loads(note_path.read_text(encoding="utf-8"))
        note["key"] = key
        note["source"] += "; key: GTZAN key labels by A. Lerch (alexanderlerch/gtzan_key)"
        note["licence"] += "; key labels MIT"
        note_path.write_text(json.dumps(note, indent=1), encoding="utf-8")
        added += 1
    return added


class Source:
    """Files of a clone (work tree) or of a bare git directory (read with ``git show``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = (root / "HEAD").is_file() and (root / "objects").is_dir()

    def read(self, path: str) -> bytes:
        if not self.bare:
            return (self.root / path).read_bytes()
        done = subprocess.run(
            ["git", "--git-dir", str(self.root), "show", f"HEAD:{path}"],
            capture_output=True,
            check=False,
        )
        if done.returncode:
            raise FileNotFoundError(path)
        return done.stdout


def parse_beats(text: str, fmt: str) -> list[float]:
    if fmt == "jtd":
        lines = text.strip().splitlines()
        column = lines[0].split(",").index("beats")
        return [float(line.split(",")[column]) for line in lines[1:] if line.split(",")[column]]
    return [float(line.split()[0]) for line in text.splitlines() if line.strip()]


def key_of(excerpt: Excerpt, read: Callable[[str], bytes]) -> str | None:
    text = excerpt.key_text or (read(excerpt.key).decode().strip() if excerpt.key else None)
    return text.split("\n")[0].strip() if text else None


def loop(path: Path, seconds: float) -> None:
    """Replace ``path`` by a WAV of its audio repeated to at least ``seconds``."""
    import librosa  # decodes mp3 everywhere; a benchmark-only use
    import numpy as np
    import soundfile

    audio, rate = librosa.load(str(path), sr=None, mono=False)
    audio = np.atleast_2d(audio)
    repeats = int(np.ceil(seconds * rate / audio.shape[1]))
    path.unlink()
    soundfile.write(str(path.with_suffix(".wav")), np.tile(audio, repeats).T, rate)


def build(excerpt: Excerpt, read: Callable[[str], bytes], out: Path) -> dict[str, object]:
    folder = out / excerpt.genre
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(excerpt.audio).suffix
    (folder / f"{excerpt.name}{suffix}").write_bytes(read(excerpt.audio))
    if excerpt.loop_to_s:
        loop(folder / f"{excerpt.name}{suffix}", excerpt.loop_to_s)
    beats = (
        parse_beats(read(excerpt.beats).decode(), excerpt.beats_format) if excerpt.beats else None
    )
    bpm = float(read(excerpt.tempo).decode().split()[0]) if excerpt.tempo else None
    if bpm is None:
        bpm = next((v for k, v in TITLE_BPM.items() if excerpt.name.endswith(k)), None)
    note = {
        "bpm": bpm,
        "beats": beats,
        "key": key_of(excerpt, read),
        "source": excerpt.source,
        "licence": excerpt.licence,
    }
    (folder / f"{excerpt.name}.json").write_text(json.dumps(note, indent=1), encoding="utf-8")
    return note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to fill (created)")
    parser.add_argument("--mirdata", type=Path, help="clone or bare git dir of mirdata")
    parser.add_argument("--shared", type=Path, help="the project's ../shared/audio folder")
    parser.add_argument("--musher", type=Path, help="clone or bare git dir of jmaldon1/Musher")
    parser.add_argument(
        "--gtzan-key", type=Path, help="clone or bare git dir of alexanderlerch/gtzan_key"
    )
    parser.add_argument("--beatnet", type=Path, help="clone or bare git dir of mjhydri/BeatNet")
    args = parser.parse_args()
    out = Path(args.out)
    if args.mirdata is None and args.shared is None and args.musher is None and not args.beatnet:
        parser.error("give at least one of --mirdata, --shared, --musher and --beatnet")
    count = 0
    if args.mirdata is not None:
        source = Source(args.mirdata.expanduser())
        for excerpt in MIRDATA + KEY_CLIPS:
            try:
                build(excerpt, source.read, out)
                count += 1
            except (FileNotFoundError, OSError) as exc:
                print(f"skipped {excerpt.name}: {exc}", file=sys.stderr)
    if args.musher is not None:
        musher = Source(args.musher.expanduser())
        for excerpt in MUSHER:
            try:
                build(excerpt, musher.read, out)
                count += 1
            except (FileNotFoundError, OSError) as exc:
                print(f"skipped {excerpt.name}: {exc}", file=sys.stderr)
    if args.gtzan_key is not None:
        keys = add_gtzan_keys(Source(args.gtzan_key.expanduser()).read, out)
        print(f"GTZAN key labels added to {keys} excerpt(s)")
    if args.beatnet is not None:
        source = Source(args.beatnet.expanduser())
        for excerpt in BEATNET:
            try:
                build(excerpt, source.read, out)
                count += 1
            except (FileNotFoundError, OSError) as exc:
                print(f"skipped {excerpt.name}: {exc}", file=sys.stderr)
    if args.shared is not None:
        for excerpt in SHARED:
            path = args.shared.expanduser() / excerpt.audio
            if path.exists():
                build(excerpt, lambda p, root=args.shared: (root / p).read_bytes(), out)
                count += 1
    print(f"{count} excerpts in {out}")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main())
