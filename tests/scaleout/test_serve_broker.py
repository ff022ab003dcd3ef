"""`cratebot serve` with CRATEBOT_BROKER_URL: the front-end submits, a worker runs the job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.commands import CommandContext, Progress, Reply
from bot.web.serve import Server
from storage.db import open_database
from storage.jobs_repo import JobRepository
from tests.commands.conftest import tone_file

pytestmark = pytest.mark.slow


async def test_serve_front_end_submits_and_a_worker_runs(settings, cluster, tmp_path: Path):
    song = tone_file(tmp_path / "song.wav", seconds=8.0)
    worker = cluster.start_worker(queues="identify", cli=True)
    updates: list[object] = []

    async def frontend(settings, layer, stop: asyncio.Event) -> None:
        user = CommandContext("test", "u1", "c1", attachments=(song,))
        async for update in layer.handle(user, "/id recognizers=local"):
            updates.append(update)
        stop.set()

    served = settings.model_copy(update={"secret": None, "http_port": 0})
    server = Server(served, frontends={"test": frontend})
    assert await asyncio.wait_for(server.run(install_signals=False), 180) == 0
    reply = updates[-1]
    assert isinstance(reply, Reply) and not reply.error, (reply, cluster.log_text())
    assert any(isinstance(u, Progress) and u.state == "queued" for u in updates)
    db = await open_database(settings.database_url)
    try:
        job = await JobRepository(db).get(reply.job_id)
    finally:
        await db.dispose()
    assert job.state == "succeeded"
    # Run by the worker process, not by the serving process.
    assert job.runner_id and f"-{worker.pid}-" in job.runner_id
