"""``cratebot serve``: the chat front-ends, the job runner and the download server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from bot.cli.common import add_home, guarded, settings_from_args
from core.settings import default_public_url


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the Discord/Telegram bots, the job runner and download links",
        description="Runs the front-ends whose tokens are set (CRATEBOT_TELEGRAM_TOKEN, "
        "CRATEBOT_DISCORD_TOKEN), the job runner and an HTTP server with /health "
        "and signed /dl/ links (CRATEBOT_SECRET, CRATEBOT_PUBLIC_URL). SIGTERM "
        "stops taking commands; running jobs are re-queued for the next start.",
    )
    add_home(p)
    p.add_argument("--host", default=None, help="HTTP address (default CRATEBOT_HTTP_HOST)")
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="HTTP port, 0 for any free one (default CRATEBOT_HTTP_PORT)",
    )
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.set_defaults(func=guarded(_serve))


def _serve(args: argparse.Namespace) -> int:
    from bot.server import Server

    settings = settings_from_args(args)
    overrides = {
        k: v for k, v in (("http_host", args.host), ("http_port", args.port)) if v is not None
    }
    if overrides:
        if "public_url" not in settings.model_fields_set:  # derived: follow --host/--port
            overrides["public_url"] = default_public_url(
                overrides.get("http_host", settings.http_host),
                overrides.get("http_port", settings.http_port),
            )
        settings = settings.model_copy(update=overrides)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations: one line each is noise
    if settings.secret is None:
        logging.getLogger("cratebot.serve").warning(
            "CRATEBOT_SECRET is not set: using the generated key in %s/secret.key", settings.home
        )
    return asyncio.run(Server(settings).run())
