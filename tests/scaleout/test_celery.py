"""The scale-out path against real servers: Redis, PostgreSQL and `cratebot worker` processes."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from core.jobs.celery_backend import BrokerRunner, make_runner
from core.jobs.kinds import builtin_kinds
from core.jobs.runner import JobRunner, OwnerRef, QuotaExceeded
from core.jobs.types import JobState
from storage.db import open_database
from storage.jobs_repo import JobRepository
from storage.workers import ScaleoutRepository
from tests.runner.helpers import process_alive, wait_until

pytestmark = pytest.mark.slow


async def wait_slowly(predicate, timeout: float = 60.0):
    """Workers are real processes on a broker: allow them longer than in-process runners."""
    return await wait_until(predicate, timeout, interval=0.1)


async def submit(runner, kind, params, owner=None) -> str:
    """The job id of a submission (``submit`` answers an id, or an object with ``.id``)."""
    answer = await runner.submit(kind, params, owner)
    return str(getattr(answer, "id", answer))


def _kinds(settings):
    from tests.runner.helpers import runner_kinds

    return {**builtin_kinds(settings), **runner_kinds()}


def front_end(settings, db) -> BrokerRunner:
    return BrokerRunner(settings, db, _kinds(settings))


async def test_front_end_gets_the_broker_runner_only_when_configured(settings, db, home):
    from core.settings import load_settings

    assert isinstance(make_runner(settings, db), BrokerRunner)
    plain = load_settings(home=home, broker_url="")
    runner = make_runner(plain, db)
    assert type(runner) is JobRunner


async def test_remote_worker_runs_job_with_progress_and_files(settings, db, cluster, tmp_path):
    worker = cluster.start_worker()
    async with front_end(settings, db) as runner:
        job_id = await submit(runner, "sleepy", {"seconds": 3.0, "log_dir": str(tmp_path)})
        views = [view async for view in runner.subscribe(job_id)]
    final = views[-1]
    assert final.state is JobState.SUCCEEDED, cluster.log_text()
    # Progress came from the worker through the database, before the end.
    assert any(v.state is JobState.RUNNING and 0 < v.progress < 1 for v in views)
    assert final.files == ("out/result.txt",)
    assert (settings.results_dir / job_id / "out" / "result.txt").read_text() == "slept 3.0\n"
    # The job ran in a child of the worker process, not in this (front-end) process.
    pid = final.result["pid"]
    assert pid != os.getpid()
    assert (tmp_path / f"{pid}.pid").exists()
    job = await JobRepository(db).get(job_id)
    assert job.runner_id and str(worker.pid) in job.runner_id
    workers = await ScaleoutRepository(db).workers()
    assert [w.pid for w in workers] == [worker.pid]


async def test_kill_9_of_a_worker_reruns_the_job_on_another(settings, db, cluster, tmp_path):
    repo = JobRepository(db)
    first = cluster.start_worker()
    async with front_end(settings, db) as runner:
        job_id = await submit(runner, "sleepy", {"seconds": 6.0, "log_dir": str(tmp_path)})

        async def running_with_progress():
            job = await repo.get(job_id)
            return job if job.state == "running" and job.progress > 0.1 else None

        job = await wait_slowly(running_with_progress, timeout=90)
        child = job.worker_pid
        assert child and process_alive(child)
        cluster.kill9(first)  # the worker's whole process group, as the issue says
        await wait_slowly(lambda: asyncio.sleep(0, not process_alive(child)), timeout=10)
        assert (await repo.get(job_id)).state == "running"  # as the crash left it
        cluster.start_worker()
        final = await runner.wait(job_id, timeout=120)
    assert final.state is JobState.SUCCEEDED, cluster.log_text()
    assert final.attempts == 2
    events = await repo.events(job_id)
    assert any(e.type == "recover" and "worker stopped" in e.message for e in events)
    assert [e.state for e in events if e.type == "state"].count("succeeded") == 1
    results = await repo.results(job_id)
    assert [r.name for r in results] == ["out/result.txt"]  # one result, not two
    windows = sorted(tmp_path.glob("*.window"))
    assert len(windows) == 1  # only the second attempt got to the end


async def test_kill_9_bounded_by_max_attempts(settings, db, cluster, tmp_path, monkeypatch):
    from core.settings import load_settings

    repo = JobRepository(db)
    one_try = load_settings(home=settings.home, job_max_attempts=1)
    worker = cluster.start_worker(queues="identify")
    async with BrokerRunner(one_try, db) as runner:
        # identify of a 10-minute silent file is slow enough to be killed mid-way.
        import numpy as np
        import soundfile as sf

        silent = tmp_path / "long.flac"
        sf.write(silent, np.zeros((600 * 11025,), dtype="float32"), 11025)
        job_id = await submit(runner, "identify", {"source": str(silent), "recognizers": "local"})
        await wait_slowly(lambda: _state_is(repo, job_id, "running"), timeout=90)
        cluster.kill9(worker)
        final = await runner.wait(job_id, timeout=60)
    assert final.state is JobState.FAILED
    assert "giving up" in (final.error or "")


async def _state_is(repo, job_id, state):
    job = await repo.get(job_id)
    return job is not None and job.state == state


async def test_cancel_stops_the_process_on_a_remote_worker(settings, db, cluster, tmp_path):
    repo = JobRepository(db)
    cluster.start_worker()
    pid_file = tmp_path / "pids.json"
    async with front_end(settings, db) as runner:
        job_id = await submit(runner, "child", {"pid_file": str(pid_file)})
        await wait_slowly(lambda: asyncio.sleep(0, pid_file.exists()), timeout=90)
        pids = json.loads(pid_file.read_text())
        assert process_alive(pids["worker"]) and process_alive(pids["child"])
        assert await runner.cancel(job_id) == "cancelling"
        final = await runner.wait(job_id, timeout=30)
    assert final.state is JobState.CANCELLED, cluster.log_text()
    # The job's process and its own child are really gone, on the worker's side.
    await wait_slowly(
        lambda: asyncio.sleep(
            0, not process_alive(pids["worker"]) and not process_alive(pids["child"])
        ),
        timeout=10,
    )
    assert (await repo.get(job_id)).worker_pid is None


async def test_transient_retry_is_published_again(settings, db, cluster, tmp_path):
    cluster.start_worker()
    counter = tmp_path / "count"
    async with front_end(settings, db) as runner:
        job_id = await submit(runner, "flaky", {"counter": str(counter), "succeed_on": 2})
        final = await runner.wait(job_id, timeout=90)
    assert final.state is JobState.SUCCEEDED, cluster.log_text()
    assert final.attempts == 2 and counter.read_text() == "2"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_twenty_concurrent_submissions_hold_the_quota(
    settings, cluster_env, home, monkeypatch, database
):
    """Four front-end processes' worth of engines, 20 submissions at once, a limit of 5."""
    from core.settings import load_settings

    if database == "sqlite":
        monkeypatch.setenv("CRATEBOT_DATABASE_URL", f"sqlite+aiosqlite:///{home / 'q.db'}")
    limited = load_settings(home=home, max_queued_jobs_per_owner=5)
    dbs = [await open_database(limited.database_url) for _ in range(4)]
    try:
        runners = [BrokerRunner(limited, d, _kinds(limited)) for d in dbs]
        owner = OwnerRef("test", "dj")

        async def one(i: int) -> str:
            try:
                return await submit(runners[i % 4], "sleepy", {"seconds": 1, "n": i}, owner)
            except QuotaExceeded:
                return "quota"

        outcomes = await asyncio.gather(*(one(i) for i in range(20)))
        accepted = [o for o in outcomes if o != "quota"]
        assert len(accepted) == 5 and len(set(accepted)) == 5
        repo = JobRepository(dbs[0])
        jobs = await repo.list(limit=100)
        assert len(jobs) == 5
        # Same content from many users at once: one job.
        same = await asyncio.gather(
            *(
                submit(runners[i % 4], "sleepy", {"seconds": 2}, OwnerRef("test", f"u{i}"))
                for i in range(8)
            )
        )
        assert len(set(same)) == 1
    finally:
        for d in dbs:
            await d.dispose()


async def test_lost_message_is_published_again(settings, db, cluster):
    """A job committed but never published (its front-end died in between) still runs."""
    scale = ScaleoutRepository(db)
    made = await scale.submit("lost1", "sleepy", {"seconds": 0.2}, None, "k-lost", 3, None)
    assert made.job_id == "lost1"
    cluster.start_worker()
    async with front_end(settings, db) as runner:
        final = await runner.wait("lost1", timeout=90)
    assert final.state is JobState.SUCCEEDED, cluster.log_text()
    assert final.attempts == 1


async def test_sigterm_puts_the_running_job_back_for_another_worker(settings, db, cluster):
    import signal

    repo = JobRepository(db)
    first = cluster.start_worker()
    async with front_end(settings, db) as runner:
        job_id = await submit(runner, "sleepy", {"seconds": 20.0})
        await wait_slowly(lambda: _state_is(repo, job_id, "running"), timeout=90)
        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 0, cluster.log_text()
        job = await repo.get(job_id)
        assert job.state == "queued" and job.attempts == 0  # the stopped attempt is refunded
        cluster.start_worker()
        await wait_slowly(lambda: _state_is(repo, job_id, "running"), timeout=90)
        assert await runner.cancel(job_id) == "cancelling"
        final = await runner.wait(job_id, timeout=30)
    assert final.state is JobState.CANCELLED
    assert final.attempts == 1
