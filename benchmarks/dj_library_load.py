"""Reading a big DJ collection: load time, peak memory and match time per track.

Writes a Rekordbox XML and a Traktor NML of N tracks (default 20000) in the shape
real exports have (Windows/macOS locations, a TEMPO marker per track, every tenth
track with millisecond-rounded markers on 16 consecutive beats, memory and hot
cues), then times ``load_dj_library`` and one ``match`` + ``beat_grid`` per track,
and checks every 16-bar span of the rounded grids is exactly 32 s.

    python benchmarks/dj_library_load.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.sections.djlibrary import load_dj_library  # noqa: E402


def rekordbox_xml(n: int) -> str:
    rows = []
    for i in range(n):
        where = f"C:/Music/Crate {i % 50}/Track {i}.mp3" if i % 2 else f"Users/dj/Music/T {i}.mp3"
        tempos = ['<TEMPO Inizio="0.025" Bpm="120.00" Metro="4/4" Battito="1"/>']
        if i % 10 == 0:
            tempos += [
                f'<TEMPO Inizio="{48.0255 + 0.5 * k:.3f}" Bpm="120.00" Metro="4/4" '
                f'Battito="{k % 4 + 1}"/>'
                for k in range(16)
            ]
        marks = (
            '<POSITION_MARK Name="" Type="0" Start="0.025" Num="-1"/>'
            '<POSITION_MARK Name="Mix in" Type="0" Start="32.025" Num="0"/>'
        )
        rows.append(
            f'<TRACK TrackID="{i + 1}" Name="Track {i}" Kind="Mp3-Datei " AverageBpm="120.00" '
            f'Tonality="Fm" TotalTime="300" Location="file://localhost/{quote(where, safe="/:")}">'
            + "".join(tempos)
            + marks
            + "</TRACK>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><DJ_PLAYLISTS Version="1.0.0">'
        '<PRODUCT Name="rekordbox" Version="6.6.2" Company="AlphaTheta"/>'
        f'<COLLECTION Entries="{n}">{"".join(rows)}</COLLECTION>'
        '<PLAYLISTS><NODE Type="0" Name="ROOT" Count="0"/></PLAYLISTS></DJ_PLAYLISTS>'
    )


def traktor_nml(n: int) -> str:
    rows = [
        f'<ENTRY TITLE="Track {i}"><LOCATION DIR="/:Music/:Crate {i % 50}/:" '
        f'FILE="Track {i}.mp3" VOLUME="C:"></LOCATION><TEMPO BPM="120.000000"></TEMPO>'
        f'<MUSICAL_KEY VALUE="17"></MUSICAL_KEY><CUE_V2 NAME="AutoGrid" TYPE="4" '
        f'START="25.0" LEN="0" REPEATS="-1" HOTCUE="-1"></CUE_V2><CUE_V2 NAME="Mix in" '
        f'TYPE="0" START="32025.0" LEN="0" REPEATS="-1" HOTCUE="0"></CUE_V2></ENTRY>'
        for i in range(n)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><NML VERSION="19"><HEAD PROGRAM="Traktor"/>'
        f'<COLLECTION ENTRIES="{n}">{"".join(rows)}</COLLECTION></NML>'
    )


def measure(path: Path, n: int) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    collection = load_dj_library(path)
    loaded, loaded_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    exact = checked = 0
    for i in range(n):
        entry = collection.match(f"/home/dj/music/Track {i}.mp3")
        if entry is None:
            entry = collection.match(f"/home/dj/music/T {i}.mp3")
        assert entry is not None
        beats, _ = entry.beat_grid(300.0)
        if len(entry.grid) > 1:
            for first in range(0, len(beats) - 64, 4):
                checked += 1
                exact += round((beats[first + 64] - beats[first]) * 44100) == 32 * 44100
    matched = time.perf_counter() - start
    size = path.stat().st_size / 1e6
    print(
        f"{path.suffix} {n} tracks ({size:.1f} MB): load {loaded:.2f} s ({loaded_cpu:.2f} s CPU), "
        f"match+grid {1e6 * matched / n:.0f} us/track"
        + (f", 16-bar spans exactly 32 s: {exact}/{checked}" if checked else "")
    )


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "collection.xml"
        xml.write_text(rekordbox_xml(n), encoding="utf-8")
        nml = Path(tmp) / "collection.nml"
        nml.write_text(traktor_nml(n), encoding="utf-8")
        measure(xml, n)
        measure(nml, n)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
