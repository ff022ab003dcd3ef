"""``cratebot jobs list|show ID|link ID|cancel ID|sweep``: inspect and manage the shared job queue."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.cli.common import add_home, guarded, print_json, settings_from_args
from core.errors import CrateBotError
from core.settings import Settings

if TYPE_CHECKING:
    # The storage layer (SQLAlchemy and its ORM, ~15 MB of RSS) is imported where used:
    # every `cratebot` command loads this module to register its parser.
    from storage.jobs_repo import JobRepository


def register(sub: Any) -> None:
    jobs = sub.add_parser("jobs", help="list, show, cancel jobs; sweep expired results")
    add_home(jobs)
    actions = jobs.add_subparsers(dest="jobs_action", metavar="ACTION", required=True)

    p = actions.add_parser("list", help="recent jobs")
    add_home(p)
    p.add_argument("--state", action="append", help="only jobs in this state (repeatable)")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=guarded(_list))

    p = actions.add_parser("show", help="one job with its events and result files")
    add_home(p)
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=guarded(_show))

    p = actions.add_parser("cancel", help="cancel a queued or running job")
    add_home(p)
    p.add_argument("id")
    p.set_defaults(func=guarded(_cancel))

    p = actions.add_parser("link", help="print the signed link of a job's result page")
    add_home(p)
    p.add_argument("id")
    p.set_defaults(func=guarded(_link))

    p = actions.add_parser("sweep", help="delete result files past their retention")
    add_home(p)
    p.set_defaults(func=guarded(_sweep))


async def _with_repo(settings: Settings, action: Any) -> Any:
    from storage.db import open_database
    from storage.jobs_repo import JobRepository

    db = await open_database(settings.database_url)
    try:
        return await action(db, JobRepository(db))
    finally:
        await db.dispose()


def _run(settings: Settings, action: Any) -> Any:
    import asyncio

    from sqlalchemy.exc import OperationalError

    try:
        return asyncio.run(_with_repo(settings, action))
    except OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise CrateBotError(
                "the job database stayed busy for 30 s (another process holds it); try again"
            ) from None
        raise


def _row(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": round(job.progress, 3),
        "text": job.progress_text,
        "error": job.error,
        "attempts": job.attempts,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def action(db: Any, repo: JobRepository) -> list[Any]:
        return await repo.list(states=args.state, limit=args.limit)

    jobs = _run(settings, action)
    if args.json:
        print_json([_row(job) for job in jobs])
        return 0
    if not jobs:
        print("no jobs")
    for job in jobs:
        extra = job.error if job.state == "failed" else job.progress_text
        # One line per job: the whole message is in `cratebot jobs show ID`.
        extra = (extra or "").strip().splitlines()[0][:100] if extra else ""
        print(
            f"{job.id}  {job.kind:<9} {job.state:<9} {job.progress * 100:5.1f}%  "
            f"{job.created_at:%Y-%m-%d %H:%M}  {extra or ''}"
        )
    return 0


def _link(args: argparse.Namespace) -> int:
    from bot.commands.keys import link_key
    from bot.commands.links import sign_page

    settings = settings_from_args(args)

    async def action(db: Any, repo: JobRepository) -> Any:
        return await repo.get(args.id)

    if _run(settings, action) is None:
        print(f"cratebot: no job {args.id}", file=sys.stderr)
        return 1
    path = sign_page(link_key(settings), args.id, settings.link_ttl_s)
    print(settings.public_url.rstrip("/") + path)
    return 0


def _show(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def action(db: Any, repo: JobRepository) -> Any:
        job = await repo.get(args.id)
        if job is None:
            return None
        return job, await repo.events(args.id), await repo.results(args.id)

    found = _run(settings, action)
    if found is None:
        print(f"cratebot: no job {args.id}", file=sys.stderr)
        return 1
    job, events, results = found
    data = _row(job) | {
        "params": job.params,
        "result": job.result,
        "events": [
            {
                "at": e.at.isoformat(),
                "type": e.type,
                "state": e.state,
                "fraction": e.fraction,
                "message": e.message,
            }
            for e in events
        ],
        "files": [
            {
                "name": r.name,
                "size_bytes": r.size_bytes,
                "path": str(settings.results_dir / r.job_id / r.name),
                "expires_at": r.expires_at.isoformat(),
                "deleted": r.deleted_at is not None,
            }
            for r in results
        ],
    }
    if args.json:
        print_json(data)
        return 0
    print(f"job {job.id} ({job.kind}): {job.state}, {job.progress * 100:.0f}% {job.progress_text}")
    if job.error:
        print(f"error: {job.error}")
    for e in data["events"]:
        print(f"  {e['at'][:19]}  {e['type']:<8} {e['state'] or '':<9} {e['message']}")
    for f in data["files"]:
        note = " (deleted)" if f["deleted"] else ""
        print(f"  file {f['path']}  {f['size_bytes']} bytes{note}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def action(db: Any, repo: JobRepository) -> str | None:
        return await repo.request_cancel(args.id)

    state = _run(settings, action)
    if state is None:
        print(f"cratebot: no job {args.id}", file=sys.stderr)
        return 1
    messages = {
        "cancelled": "cancelled",
        "cancelling": "cancelling (the runner stops it within a second)",
    }
    print(f"job {args.id}: {messages.get(state, f'already {state}')}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)

    async def action(db: Any, repo: JobRepository) -> Any:
        from core.jobs.runner import sweep_work_folders
        from storage.results import ResultStore

        store = ResultStore(db, settings.results_dir, settings.result_retention_days)
        report = await store.sweep()
        return report, await sweep_work_folders(settings.work_dir, repo)

    report, work_folders = _run(settings, action)
    print(
        f"removed {report.files_removed} files ({report.bytes_freed / 1e6:.1f} MB) and "
        f"{report.folders_removed + work_folders} folders"
    )
    return 0
