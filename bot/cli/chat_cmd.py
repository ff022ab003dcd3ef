"""``cratebot chat``: type the chat commands in a terminal; no tokens, no network needed.

echo "/id mix.mp3" | cratebot chat            # runs, waits for the job, exits
cratebot chat -c "/stems song.flac wav"       # the same without stdin
cratebot chat                                 # interactive; Ctrl-D or "quit" ends
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import add_home, guarded, settings_from_args
from core.settings import Settings

DEFAULT_OUT = "cratebot-results"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "chat",
        help="the chat commands in a terminal (local paths stand in for uploads)",
        description="Read chat commands (/id, /stems, /sections, /bpm, /pi, /jobs, /cancel, "
        "/help) from stdin or -c, run them on an in-process job runner (or on "
        "`cratebot worker` processes when CRATEBOT_BROKER_URL is set) and copy "
        "each job's results into OUT/<job id>/. Ends at end of input once its "
        "jobs are done; exit status 1 when any command failed.",
    )
    add_home(p)
    p.add_argument(
        "-c",
        "--command",
        action="append",
        default=[],
        metavar="CMD",
        help="run this command instead of reading stdin (repeatable)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        metavar="DIR",
        help=f"where results are copied (default ./{DEFAULT_OUT})",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per reply on stdout")
    p.add_argument(
        "--progress",
        choices=("auto", "bars", "lines", "none"),
        default="auto",
        help="progress on stderr: bars on a terminal, plain lines otherwise",
    )
    p.set_defaults(func=guarded(_chat))


async def _session(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chat.display import Display
    from bot.chat.lines import read_lines
    from bot.chat.session import ChatSession
    from bot.commands.layer import CommandLayer
    from core.jobs.celery_backend import make_runner
    from storage.db import open_database

    display = Display(args.progress, args.json)
    db = await open_database(settings.database_url)
    try:
        async with make_runner(settings, db) as runner:
            layer = CommandLayer(settings, runner, db, links=False)
            session = ChatSession(layer, args.out.expanduser().resolve(), display)
            if args.command:
                return await session.run(args.command)
            if sys.stdin.isatty():
                display.notice(
                    "CrateBot chat: type /help; Ctrl-D or 'quit' ends. "
                    f"Results go to {session.out_dir}/"
                )
            return await session.run(read_lines(sys.stdin))
    finally:
        display.close()
        await db.dispose()


def _chat(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    return asyncio.run(_session(settings, args))
