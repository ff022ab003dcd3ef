"""Helpers every CLI subcommand shares: settings from flags, async entry, output."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from core.errors import CrateBotError
from core.settings import Settings, load_settings

T = TypeVar("T")


def add_home(parser: argparse.ArgumentParser) -> None:
    """Every subcommand takes ``--home DIR`` (overrides CRATEBOT_HOME)."""
    parser.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS,
                        help="data folder (default: $CRATEBOT_HOME or ~/.cratebot)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    home = getattr(args, "home", None)
    settings = load_settings(home=home) if home else load_settings()
    settings.ensure_dirs()
    return settings


def run_async(coro_factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro_factory())  # type: ignore[arg-type]


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"cratebot: {message}\n")
    return code


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
