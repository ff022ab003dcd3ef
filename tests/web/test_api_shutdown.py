"""SIGTERM while a client follows a job: the event stream ends and the server exits."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp

from tests.web.api_server import new_token, start_serve


async def test_sigterm_ends_open_event_streams(home: Path) -> None:
    from storage.db import open_database
    from storage.jobs_repo import JobRepository

    token = new_token(home, "telegram:1")
    db = await open_database(f"sqlite+aiosqlite:///{home / 'cratebot.db'}")
    try:
        repo = JobRepository(db)
        owner_id = await repo.owner_id("telegram", "1")
        await repo.create("parked1", "parked", {}, owner_id, "parked-1", 1)  # stays queued
    finally:
        await db.dispose()
    served = start_serve(home)
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{served.base}/api/v1/jobs/parked1/events", headers=served.auth(token)
            ) as r,
        ):
            assert r.status == 200
            first = await r.content.readuntil(b"\n\n")
            assert b"event: queued" in first
            served.proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            rest = await asyncio.wait_for(r.content.read(), 20)
            assert rest == b""  # closed without another event
        code = await asyncio.to_thread(served.proc.wait, 30)
        assert code == 0
        # Well under aiohttp's 60 s wait for open requests.
        assert time.monotonic() - started < 20
    finally:
        served.stop()
