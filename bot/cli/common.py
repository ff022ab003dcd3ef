"""Helpers every CLI subcommand shares: settings from flags, progress bars, output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from core.errors import CrateBotError
from core.settings import Settings, load_settings


def add_home(parser: argparse.ArgumentParser) -> None:
    """Every subcommand takes ``--home DIR`` (overrides CRATEBOT_HOME)."""
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="data folder (default: $CRATEBOT_HOME or ~/.cratebot)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    home = getattr(args, "home", None)
    settings = load_settings(home=home) if home else load_settings()
    settings.ensure_dirs()
    return settings


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"cratebot: {message}\n")
    return code


@contextmanager
def progress_bar(desc: str = "") -> Iterator[Callable[[float, str], None]]:
    """A progress bar on stderr (stdout stays clean for ``--json``), hidden when stderr is
    not a terminal; yields the ``(fraction, text)`` sink job functions report to."""
    from tqdm import tqdm

    with tqdm(
        total=1000,
        file=sys.stderr,
        leave=False,
        disable=None,
        bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}",
    ) as bar:

        def sink(fraction: float, text: str) -> None:
            bar.n = int(fraction * 1000)
            label = f"{desc}: {text}" if desc and text else desc or text
            bar.set_description_str(label[:60], refresh=True)

        sink(0.0, "")
        yield sink


def guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn CrateBot errors into one clear line on stderr and a non-zero exit."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except CrateBotError as exc:
            return fail(str(exc))
        except KeyboardInterrupt:
            return fail("interrupted", 130)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper
