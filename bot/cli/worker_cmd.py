"""``cratebot worker``: a Celery worker that runs jobs submitted through CRATEBOT_BROKER_URL."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from bot.cli.common import add_home, fail, guarded, settings_from_args


def register(sub: Any) -> None:
    p = sub.add_parser(
        "worker",
        help="run jobs from the broker (CRATEBOT_BROKER_URL) on this machine",
        description="A Celery worker running the same job functions as the embedded runner. "
        "Each job kind has its own queue (identify, stems, sections, probe), so stems can go "
        "to GPU machines and identify to CPU ones. Needs CRATEBOT_BROKER_URL, a shared "
        "CRATEBOT_DATABASE_URL (PostgreSQL) and a CRATEBOT_HOME shared with the front-ends. "
        "SIGTERM stops the running jobs and puts them back in the queue.",
    )
    add_home(p)
    p.add_argument(
        "--queues",
        default=None,
        metavar="LIST",
        help="comma-separated job kinds to take (default: every kind this install can run)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="jobs run at once by this worker (default: 2)",
    )
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.set_defaults(func=guarded(_worker))


def _worker(args: argparse.Namespace) -> int:
    from core.jobs.celery_backend import run_worker
    from core.jobs.kinds import builtin_kinds

    settings = settings_from_args(args)
    if not settings.broker_url:
        return fail("set CRATEBOT_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run a worker")
    kinds = builtin_kinds(settings)
    if args.queues:
        queues = tuple(q.strip() for q in args.queues.split(",") if q.strip())
        unknown = [q for q in queues if q not in kinds]
        if unknown:
            return fail(f"unknown queue {unknown[0]!r}; the queues are {', '.join(sorted(kinds))}")
        missing = [q for q in queues if not kinds[q].available()]
        if missing:
            return fail(f"{missing[0]} jobs cannot run in this installation")
    else:
        queues = tuple(name for name, kind in kinds.items() if kind.available())
    if not queues:
        return fail("no job kind can run in this installation")
    concurrency = args.concurrency if args.concurrency is not None else 2
    if concurrency < 1:
        return fail("--concurrency must be at least 1")
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return run_worker(settings, queues, concurrency, kinds, loglevel=args.log_level)
