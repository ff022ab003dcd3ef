"""Entry point of the ``cratebot`` console script."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bot.cli.common import add_home

# Each module defines ``register(subparsers)`` and sets ``func`` on its parsers.
COMMAND_MODULES = (
    "bot.cli.jobs_cmd",
    "bot.cli.library_cmd",
    "bot.cli.identify_cmd",
    "bot.cli.stems_cmd",
    "bot.cli.analysis_cmd",
    "bot.cli.chat_cmd",
    "bot.cli.serve_cmd",
    "bot.cli.worker_cmd",
    "bot.cli.demo_cmd",
    "bot.cli.models_cmd",
    "bot.cli.doctor_cmd",
)


def version() -> str:
    """The installed package's version; from pyproject.toml when run from a plain checkout."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("cratebot")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cratebot",
        description="CrateBot: identify DJ mixes, split stems, export tempo-aligned sections.",
    )
    parser.add_argument("--version", action="version", version=f"cratebot {version()}")
    add_home(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that feature is not part of this install
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
