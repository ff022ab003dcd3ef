"""``cratebot models list|fetch|import|path``: the Demucs weights stems need."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import add_home, guarded, print_json, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser(
        "models", help="Demucs weights for stems: list, fetch, import, path"
    )
    add_home(models)
    sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="every model name demucs knows, and which are here")
    listing.add_argument("--json", action="store_true")
    add_home(listing)
    listing.set_defaults(func=guarded(_list))
    fetch = sub.add_parser("fetch", help="download a model's weights (checksums verified)")
    fetch.add_argument("name", metavar="NAME")
    add_home(fetch)
    fetch.set_defaults(func=guarded(_fetch))
    imp = sub.add_parser("import", help="copy *.th / *.yaml files from a folder")
    imp.add_argument("folder", type=Path, metavar="DIR")
    add_home(imp)
    imp.set_defaults(func=guarded(_import))
    path = sub.add_parser("path", help="where weights are looked for, in order")
    add_home(path)
    path.set_defaults(func=guarded(_path))


def _list(args: argparse.Namespace) -> int:
    from core.stems.model_store import list_models

    settings = settings_from_args(args)
    rows = list_models(settings.models_dir)
    if args.json:
        print_json([{"name": r.name, "present": r.present, "where": r.where} for r in rows])
        return 0
    width = max(len(r.name) for r in rows)
    for r in rows:
        mark = "yes" if r.present else "no "
        print(f"{r.name:<{width}}  {mark}  {r.where}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from core.stems.model_store import fetch

    settings = settings_from_args(args)
    written = fetch(args.name, settings.models_dir)
    for path in written:
        print(f"saved {path}")
    print(f"{args.name}: ready in {settings.models_dir}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from core.stems.model_store import import_folder, list_models

    settings = settings_from_args(args)
    copied, problems = import_folder(args.folder, settings.models_dir)
    for path in copied:
        print(f"imported {path.name}")
    for problem in problems:
        sys.stderr.write(f"cratebot: {problem}\n")
    ready = [
        r.name for r in list_models(settings.models_dir) if r.where == str(settings.models_dir)
    ]
    print(f"models complete in {settings.models_dir}: {', '.join(ready) or 'none'}")
    return 1 if problems and not copied else 0


def _path(args: argparse.Namespace) -> int:
    from core.stems.model_store import search_path

    settings = settings_from_args(args)
    for n, line in enumerate(search_path(settings.models_dir), start=1):
        print(f"{n}. {line}")
    return 0
