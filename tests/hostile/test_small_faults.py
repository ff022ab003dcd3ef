"""The smaller faults: atomic per-owner quota, attempt numbering, sweeping ``work/``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from core.jobs.runner import OwnerRef, QuotaExceeded
from storage.jobs_repo import JobRepository
from tests.runner.helpers import make_runner

ROOT = Path(__file__).resolve().parents[2]


async def test_concurrent_submissions_respect_the_quota(settings, db):
    limit = settings.max_queued_jobs_per_owner
    assert limit == 5
    runner = make_runner(settings, db)  # not started: everything stays queued
    alice = OwnerRef("telegram", "1")
    await runner.repo.owner_id(alice.platform, alice.user_id)  # the owner row exists
    outcomes = await asyncio.gather(
        *(runner.submit("sleepy", {"seconds": 0.1, "n": i}, alice) for i in range(20)),
        return_exceptions=True,
    )
    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert len(accepted) == limit and len(refused) == 20 - limit
    assert all("limit is 5" in str(e) for e in refused)
    queued = [job for job in await runner.repo.list() if job.state == "queued"]
    assert len(queued) == limit


async def test_first_run_is_attempt_one(settings, db):
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("sleepy", {"seconds": 0.1})).id
        await runner.wait(job_id, timeout=30)
    events = await JobRepository(db).events(job_id)
    running = [e.message for e in events if e.state == "running"]
    assert running == [f"attempt 1 of {settings.job_max_attempts}"]


async def test_jobs_sweep_removes_failed_jobs_work_folders(settings, db):
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("bad", {})).id
        await runner.wait(job_id, timeout=30)
    # what a runner killed mid-job leaves: attempt folders of a job that is now failed
    stale = settings.work_dir / job_id
    (stale / "attempt-1").mkdir(parents=True)
    (stale / "attempt-2").mkdir()
    (stale / "attempt-2" / "partial.wav").write_bytes(b"x" * 1000)
    scratch = settings.work_dir / "stems-abc123"  # a CLI command's own folder, in use
    scratch.mkdir()
    env = {**os.environ, "CRATEBOT_HOME": str(settings.home)}
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli.main", "jobs", "sweep"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert not stale.exists() and scratch.exists()
