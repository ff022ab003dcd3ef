"""Helpers every CLI subcommand shares: settings from flags, progress bars, output."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import logging.handlers
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import BadInput, CrateBotError, new_error_id, unexpected_error_message
from core.settings import Settings, load_settings

log = logging.getLogger("cratebot.cli")


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
    where = f"--home {home}" if home else "the data folder (CRATEBOT_HOME)"
    try:
        settings = load_settings(home=home) if home else load_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ())) or "a setting"
        raise BadInput(f"bad setting {field}: {first.get('msg', 'invalid')}") from None
    except RuntimeError:  # Path.expanduser: "~nosuchuser"
        raise BadInput(f"{where}: cannot expand '~' (no such user)") from None
    if settings.home.exists() and not settings.home.is_dir():
        raise BadInput(f"{where}: {settings.home.name} is a file, not a folder")
    try:
        settings.ensure_dirs()
    except OSError as exc:
        raise BadInput(f"{where}: cannot create {settings.home} ({exc.strerror})") from None
    return settings


def output_file(value: Path | str | None, flag: str) -> Path | None:
    """Check a file the command will write, before any long work: its folder must exist
    and be writable, and the name must not be a folder."""
    if value is None:
        return None
    try:
        path = Path(value).expanduser()
    except RuntimeError:
        raise BadInput(f"{flag} {value}: cannot expand '~' (no such user)") from None
    try:
        if path.is_dir():
            raise BadInput(f"{flag} {value}: is a folder; give a file name")
        parent = path.parent
        if not parent.is_dir():
            raise BadInput(f"{flag} {value}: the folder {parent} does not exist")
    except OSError as exc:
        raise BadInput(f"{flag} {value}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK):
        raise BadInput(f"{flag} {value}: cannot write in {parent} (permission denied)")
    if len(path.name.encode()) > 255:
        raise BadInput(f"{flag}: the file name is too long")
    return path


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


def _os_error_line(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else ""
    shown = Path(str(name)).name if name else ""
    reason = exc.strerror or os.strerror(exc.errno or 0) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return f"{shown}: {reason}" if shown else reason


def _log_file() -> Path:
    home = os.environ.get("CRATEBOT_HOME")
    try:
        base = Path(home).expanduser() if home else Path.home() / ".cratebot"
    except RuntimeError:
        base = Path("/tmp")
    return base / "logs" / "cratebot-cli.log"


def report_unexpected(exc: BaseException) -> str:
    """Log ``exc``'s trace to the CLI log file (never the terminal); the line to show."""
    error_id = new_error_id()
    target = _log_file()
    handler: logging.Handler
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
        where = f"; details in {target}"
    except OSError:
        handler = logging.NullHandler()
        where = ""
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("error id %s: %s", error_id, " ".join(sys.argv), exc_info=exc)
    finally:
        log.removeHandler(handler)
        handler.close()
    return unexpected_error_message(error_id) + where


def guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn every failure into one line on stderr and a non-zero exit: CrateBot errors and
    OS errors as they are, anything unforeseen as an error id (its trace in the log)."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except CrateBotError as exc:
            return fail(str(exc))
        except KeyboardInterrupt:
            return fail("interrupted", 130)
        except BrokenPipeError:
            return 1  # stdout was closed (`| head`): nothing more to say
        except OSError as exc:
            return fail(_os_error_line(exc))
        except Exception as exc:  # noqa: BLE001 - no traceback reaches the user
            return fail(report_unexpected(exc), 1)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper
