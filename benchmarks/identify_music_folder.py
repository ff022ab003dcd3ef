"""Build the real-music folder the identify benchmarks read (``--audio FOLDER``).

    python benchmarks/identify_music_folder.py OUT_DIR [--mirror /work/.mirror]
        [--shared ../shared/audio]

Gathers openly licensed music from public GitHub repositories fetched as git
snapshots (the search tool's ``fetch`` puts them under ``/work/.mirror``) plus
``../shared/audio``, and writes ``OUT_DIR/tracks.json`` (file, artist, title,
licence, duration_s, source) beside the audio. Audio is never committed; this
script is the recipe. Sources and the licence each was checked against:

* ``Tuxemon/Tuxemon`` ``mods/tuxemon/music``: ATTRIBUTIONS.md lists Eric Skiff
  (CC-BY-SA 4.0), Trevor Lentz, Spring, bart, t4ngr4m (CC-BY(-SA) 3.0) and
  Yubatake's JRPG collections (CC-BY 3.0); Ove Melaa's scores are his
  OpenGameArt uploads (CC-BY 3.0), not named in ATTRIBUTIONS.md.
* ``OpenRCT2/OpenMusic``: every song CC-BY-SA 4.0 (README "Licensing").
* ``../shared/audio``: its own tracks.json names each file's licence.

Loops shorter than ``--min-s`` are skipped (a DJ library holds songs), and a
file whose title is already in the folder (the same Eric Skiff song in two
repositories) is kept once.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.audio import probe_audio  # noqa: E402

AUDIO = (".ogg", ".mp3", ".flac", ".opus", ".wav")

# (repository, folder inside it, default artist, licence, licence source)
SOURCES = [
    ("Tuxemon/Tuxemon", "mods/tuxemon/music", None, "CC-BY/CC-BY-SA", "ATTRIBUTIONS.md"),
    ("OpenRCT2/OpenMusic", "", "OpenRCT2 OpenMusic", "CC-BY-SA-4.0", "README.md Licensing"),
]
ARTIST_HINTS = [
    (re.compile(r"ove ?melaa", re.I), "Ove Melaa", "CC-BY-3.0"),
    (re.compile(r"JRPG", re.I), "Yubatake", "CC-BY-3.0"),
    (re.compile(r"OSTR2"), "t4ngr4m", "CC-BY-3.0"),
]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _git_files(repo_dir: Path, under: str) -> list[tuple[str, int]]:
    out = subprocess.run(
        ["git", "-C", str(repo_dir), "ls-tree", "-r", "-l", "HEAD", "--", under or "."],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files = []
    for line in out.splitlines():
        meta, path = line.split("\t", 1)
        size = meta.split()[3]
        if path.lower().endswith(AUDIO) and size.isdigit() and int(size) > 100_000:
            files.append((path, int(size)))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "audio")
    parser.add_argument("--min-s", type=float, default=45.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tracks: list[dict] = []
    titles: set[str] = set()
    if (args.shared / "tracks.json").is_file():
        for t in json.loads((args.shared / "tracks.json").read_text()):
            dest = args.out / t["file"]
            if not dest.exists():
                shutil.copy(args.shared / t["file"], dest)
            tracks.append(t)
            titles.add(_norm(t["title"] or t["file"]))
    for repo, under, artist, licence, where in SOURCES:
        repo_dir = args.mirror / repo.replace("/", "+") / "repo"
        if not repo_dir.is_dir():
            print(f"skipped {repo}: not fetched to {repo_dir}")
            continue
        for path, _size in _git_files(repo_dir, under):
            stem = Path(path).stem
            title = re.sub(r"^(ove melaa|\d+)\s*-\s*", "", stem, flags=re.I).strip()
            if _norm(title) in titles:
                continue
            who, lic = artist, licence
            for pattern, name, hint_licence in ARTIST_HINTS:
                if pattern.search(path):
                    who, lic = name, hint_licence
                    break
            if who is None:
                who = "Tuxemon music (see its ATTRIBUTIONS.md)"
            name = f"{_norm(repo)}--{re.sub(r'[^A-Za-z0-9]+', '_', path)}{Path(path).suffix}"
            dest = args.out / name
            blob = subprocess.run(
                ["git", "-C", str(repo_dir), "show", f"HEAD:{path}"],
                capture_output=True,
                check=True,
            ).stdout
            dest.write_bytes(blob)
            try:
                duration = probe_audio(dest, 6 * 3600, 1 << 31).duration_s
            except Exception as exc:  # a file ffmpeg cannot read is left out
                print(f"skipped {path}: {exc}")
                dest.unlink()
                continue
            if duration < args.min_s:
                dest.unlink()
                continue
            titles.add(_norm(title))
            tracks.append(
                {
                    "file": name,
                    "artist": who,
                    "title": title,
                    "licence": lic,
                    "duration_s": round(duration, 2),
                    "source": f"github.com/{repo} {path} (licence: {where})",
                }
            )
    (args.out / "tracks.json").write_text(json.dumps(tracks, indent=1, ensure_ascii=False))
    hours = sum(float(t["duration_s"]) for t in tracks) / 3600
    print(f"{args.out}: {len(tracks)} tracks, {hours:.2f} hours")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
