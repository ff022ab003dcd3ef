"""``cratebot index`` and ``cratebot library list|remove``: the local identification library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import add_home, guarded, print_json, progress_bar, settings_from_args


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    index = subparsers.add_parser(
        "index",
        help="add audio files or folders to the local identification library",
        description="Fingerprint audio files (folders are searched recursively) into the "
        "local library. Artist/title come from --metadata, tags, or the file name "
        "('Artist - Title' or 'Artist--Title'). Re-indexing a file is a no-op.",
    )
    index.add_argument("paths", nargs="+", metavar="PATH")
    index.add_argument(
        "--metadata",
        type=Path,
        metavar="FILE",
        help="JSON list or CSV with columns file, artist, title",
    )
    index.add_argument("--json", action="store_true", help="print a JSON report")
    add_home(index)
    index.set_defaults(func=guarded(_index))

    library = subparsers.add_parser("library", help="list or remove library tracks")
    add_home(library)
    sub = library.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="list indexed tracks")
    listing.add_argument("--json", action="store_true")
    add_home(listing)
    listing.set_defaults(func=guarded(_list))
    remove = sub.add_parser("remove", help="remove tracks by id (see `library list`)")
    remove.add_argument("ids", nargs="+", type=int, metavar="ID")
    add_home(remove)
    remove.set_defaults(func=guarded(_remove))


def _index(args: argparse.Namespace) -> int:
    from core.identify.library import index_paths

    settings = settings_from_args(args)
    with progress_bar() as progress:
        report = index_paths(settings, args.paths, args.metadata, progress)
    if args.json:
        print_json(
            {
                "added": [
                    {"id": i, "path": p, "artist": a, "title": t} for i, p, a, t in report.added
                ],
                "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
                "failed": [{"path": p, "reason": r} for p, r in report.failed],
            }
        )
    else:
        for track_id, path, artist, title in report.added:
            print(f"added #{track_id} {artist or '?'} — {title or '?'}  ({Path(path).name})")
        for path, reason in report.skipped:
            print(f"skipped {Path(path).name}: {reason}")
        for _path, reason in report.failed:
            sys.stderr.write(f"cratebot: failed: {reason}\n")
        print(
            f"{len(report.added)} added, {len(report.skipped)} already indexed, "
            f"{len(report.failed)} failed"
        )
    return 1 if report.failed and not report.added and not report.skipped else 0


def _list(args: argparse.Namespace) -> int:
    from storage.library import LibraryStore

    settings = settings_from_args(args)
    tracks = LibraryStore(settings.database_url).all()
    if args.json:
        print_json(
            [
                {
                    "id": t.id,
                    "artist": t.artist,
                    "title": t.title,
                    "duration_s": round(t.duration_s, 2),
                    "path": t.path,
                    "hashes": t.hashes,
                }
                for t in tracks
            ]
        )
        return 0
    for t in tracks:
        minutes, seconds = divmod(int(round(t.duration_s)), 60)
        print(f"{t.id:6d}  {minutes:3d}:{seconds:02d}  {t.artist or '?'} — {t.title or '?'}")
    print(f"{len(tracks)} track(s), {sum(t.duration_s for t in tracks) / 3600:.2f} h")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from core.identify.library import remove_tracks

    settings = settings_from_args(args)
    removed = remove_tracks(settings, args.ids)
    missing = len(set(args.ids)) - removed
    print(f"removed {removed} track(s)")
    if missing:
        sys.stderr.write(f"cratebot: {missing} id(s) were not in the library\n")
        return 1
    return 0
