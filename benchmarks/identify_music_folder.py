"""Build the real-music folder the identify benchmarks read (``--audio FOLDER``).

    python benchmarks/identify_music_folder.py OUT_DIR [--mirror /work/.mirror]
        [--shared ../shared/audio] [--debian CACHE_DIR] [--packages a,b,...]

Gathers openly licensed music from public GitHub repositories fetched as git
snapshots (the search tool's ``fetch`` puts them under ``/work/.mirror``),
``../shared/audio`` and, with ``--debian CACHE_DIR``, the music of Debian game
packages (``apt-get download`` into CACHE_DIR, kept there between runs), and
writes ``OUT_DIR/tracks.json`` (file, artist, title, licence, duration_s,
source) beside the audio. Audio is never committed; this script is the recipe.
Sources and the licence each was checked against:

* ``Tuxemon/Tuxemon`` ``mods/tuxemon/music``: ATTRIBUTIONS.md lists Eric Skiff
  (CC-BY-SA 4.0), Trevor Lentz, Spring, bart, t4ngr4m (CC-BY(-SA) 3.0) and
  Yubatake's JRPG collections (CC-BY 3.0); Ove Melaa's scores are his
  OpenGameArt uploads (CC-BY 3.0), not named in ATTRIBUTIONS.md.
* ``OpenRCT2/OpenMusic``: every song CC-BY-SA 4.0 (README "Licensing").
* ``../shared/audio``: its own tracks.json names each file's licence.
* Debian ``main`` game packages (``DEBIAN_PACKAGES``; all DFSG-free): only
  files under a folder named ``*music*``/``*soundtrack*`` (or every audio file
  of a package named ``*-music``), so sound effects and speech stay out. Each
  track's ``licence`` is read from the package's
  ``usr/share/doc/PKG/copyright``: the licence of the DEP-5 ``Files:`` stanza
  whose pattern matches the file's name (source and installed paths differ,
  so the match is on the file name's tail), else every licence the file names.

Loops and jingles shorter than ``--min-s`` (60 s) are skipped (a DJ library
holds songs); a file whose title is already in the folder (the same Eric Skiff
song in two repositories) or whose bytes are (the same ogg in two packages) is
kept once.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
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


# Debian packages with hours of composed music (checked by hand: their music
# folders hold songs, their copyright files name free licences).
DEBIAN_PACKAGES = [
    "wesnoth-1.16-music",
    "warzone2100-music",
    "colobot-common-sounds",
    "drascula-music",
    "asc-music",
    "hedgewars-data",
    "freedroidrpg-data",
    "supertux-data",
    "openclonk-data",
    "extremetuxracer-data",
    "widelands-data",
    "supertuxkart-data",
    "megaglest-data",
    "naev-data",
    "unknown-horizons",
]
_MUSIC_DIR = re.compile(r"music|soundtrack", re.I)


def _copyright_licences(text: str) -> tuple[list[tuple[list[str], str]], list[str]]:
    """DEP-5 ``(Files patterns, License)`` stanzas, and every licence named."""
    stanzas: list[tuple[list[str], str]] = []
    names: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:\s*(.+(?:\n[ \t]+.+)*)", block, re.M)
        lic = re.search(r"^License:[ \t]*(\S[^\n]*)$", block, re.M)
        if lic:
            name = lic.group(1).strip()
            if name not in names:
                names.append(name)
            if files:
                stanzas.append((files.group(1).split(), name))
    return stanzas, names


def _licence_for(path: str, stanzas: list[tuple[list[str], str]], names: list[str]) -> str:
    """The last DEP-5 stanza matching ``path`` (by its tail), else all licences named.

    Source paths (``data/music/*.ogg``) and installed ones
    (``usr/share/games/x/data/music/a.ogg``) differ, so a pattern matches when some
    tail of the installed path does. As in DEP-5, ``Files: *`` is the default and
    later stanzas override it; ``debian/`` ones are the packaging's.
    """
    found = None
    parts = path.split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    for patterns, name in stanzas:
        for pat in patterns:
            if pat.startswith("debian/"):
                continue
            if pat == "*" or any(
                fnmatch.fnmatch(t, pat) for t in (tails if "/" in pat else tails[-1:])
            ):
                found = name
    return found or " / ".join(names) or "see copyright"


def _free_text_licences(text: str) -> list[str]:
    """Licences a copyright file that is not DEP-5 points to (common-licenses, CC)."""
    found = re.findall(r"common-licenses/([A-Za-z0-9.+-]+?)[.,]?(?:\s|$)", text)
    found += [m.upper().replace(" ", "-") for m in re.findall(r"\bCC[- ]BY(?:[- ]SA)?", text)]
    for pattern, name in (
        (r"ISC license", "ISC"),
        (r"Creative Commons Attribution[- ]Share ?Alike", "CC-BY-SA"),
        (r"Creative Commons Attribution(?![- ]Share)", "CC-BY"),
        (r"Creative Commons\s+CC0", "CC0"),
    ):
        if re.search(pattern, text, re.I):
            found.append(name)
    return list(dict.fromkeys(found))


def _debian_tracks(
    package: str, cache: Path, out: Path, min_s: float, seen: set[str], hashes: set[str]
) -> list[dict]:
    """Music files of one Debian package, downloaded into ``cache`` once."""
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if not debs:
        proc = subprocess.run(
            ["apt-get", "download", package], cwd=cache, capture_output=True, text=True
        )
        debs = sorted(cache.glob(f"{package}_*.deb"))
        if not debs:
            print(f"skipped {package}: apt-get download failed: {proc.stderr.strip()[-200:]}")
            return []
    deb = debs[-1]
    version = deb.stem.split("_")[1].replace("%3a", ":")
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    copyright_text = ""
    staged: list[tuple[str, Path, str]] = []  # (path in package, file written, title)
    with tarfile.open(fileobj=tar.stdout, mode="r|*") as archive:
        for member in archive:
            name = member.name.lstrip("./")
            if name == f"usr/share/doc/{package}/copyright" and member.isfile():
                f = archive.extractfile(member)
                copyright_text = f.read().decode("utf-8", "replace") if f else ""
                continue
            if not member.isfile() or not name.lower().endswith(AUDIO):
                continue
            folder = str(Path(name).parent)
            if not (_MUSIC_DIR.search(folder) or package.endswith("-music")):
                continue
            if member.size < 300_000:
                continue
            f = archive.extractfile(member)
            if f is None:
                continue
            blob = f.read()
            digest = hashlib.sha1(blob).hexdigest()
            if digest in hashes:
                continue
            hashes.add(digest)
            dest = (
                out
                / f"debian--{package}--{re.sub(r'[^A-Za-z0-9]+', '_', Path(name).stem)}{Path(name).suffix}"
            )
            dest.write_bytes(blob)
            title = re.sub(r"[_-]+", " ", Path(name).stem).strip()
            staged.append((name, dest, title))
    tar.wait()
    if not copyright_text:
        print(f"note {package}: no usr/share/doc/{package}/copyright in the package")
    stanzas, names = _copyright_licences(copyright_text)
    if not stanzas:  # not machine-readable: the licences its text refers to
        names = _free_text_licences(copyright_text)
    tracks = []
    for name, dest, title in staged:
        artist = f"{package} (Debian)"
        key = _norm(artist) + "|" + _norm(title)
        try:
            duration = probe_audio(dest, 6 * 3600, 1 << 31).duration_s
        except Exception as exc:  # a file ffmpeg cannot read is left out
            print(f"skipped {name}: {exc}")
            dest.unlink()
            continue
        if duration < min_s or key in seen:
            dest.unlink()
            continue
        seen.add(key)
        tracks.append(
            {
                "file": dest.name,
                "artist": artist,
                "title": title,
                "licence": _licence_for(name, stanzas, names),
                "duration_s": round(duration, 2),
                "source": f"Debian {package} {version} /{name} "
                f"(licence: /usr/share/doc/{package}/copyright)",
            }
        )
    hours = sum(t["duration_s"] for t in tracks) / 3600
    print(f"{package}: {len(tracks)} tracks, {hours:.2f} h")
    return tracks


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
    parser.add_argument("--min-s", type=float, default=60.0)
    parser.add_argument(
        "--debian", type=Path, help="download Debian game music (.deb files cached here)"
    )
    parser.add_argument(
        "--packages", default=",".join(DEBIAN_PACKAGES), help="Debian packages, comma-separated"
    )
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
    if args.debian is not None:
        args.debian.mkdir(parents=True, exist_ok=True)
        seen = {_norm(t["artist"] or "") + "|" + _norm(t["title"] or t["file"]) for t in tracks}
        hashes = {hashlib.sha1((args.out / t["file"]).read_bytes()).hexdigest() for t in tracks}
        for package in [p.strip() for p in args.packages.split(",") if p.strip()]:
            tracks += _debian_tracks(package, args.debian, args.out, args.min_s, seen, hashes)
    (args.out / "tracks.json").write_text(json.dumps(tracks, indent=1, ensure_ascii=False))
    hours = sum(float(t["duration_s"]) for t in tracks) / 3600
    print(f"{args.out}: {len(tracks)} tracks, {hours:.2f} hours")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
