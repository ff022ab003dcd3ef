"""The job runner with a real SQLite file and real worker processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import BadInput, NotAvailable
from core.jobs.kinds import JobKind
from core.jobs.runner import OwnerRef, QuotaExceeded
from core.jobs.types import JobState
from storage.base import utcnow
from storage.jobs_repo import JobRepository
from tests.runner.helpers import make_runner, process_alive, runner_kinds, wait_until

ROOT = Path(__file__).resolve().parents[2]


async def test_job_runs_in_worker_streams_progress_and_publishes(settings, db, tmp_path):
    async with make_runner(settings, db) as runner:
        submission = await runner.submit(
            "sleepy", {"seconds": 0.6, "log_dir": str(tmp_path)}, OwnerRef("cli", "alice")
        )
        assert not submission.reused
        job_id = submission.id
        views = [view async for view in runner.subscribe(job_id)]
    final = views[-1]
    assert final.state is JobState.SUCCEEDED, final
    assert final.result["slept"] == 0.6
    assert final.result["pid"] != os.getpid()  # ran in a worker process
    fractions = [v.progress for v in views if v.state is JobState.RUNNING]
    assert len(fractions) >= 3 and fractions == sorted(fractions)
    published = settings.results_dir / job_id / "out" / "result.txt"
    assert published.read_text() == "slept 0.6\n"
    assert final.files == ("out/result.txt",)
    assert not (settings.work_dir / job_id).exists()
    events = await JobRepository(db).events(job_id)
    states = [e.state for e in events if e.type == "state"]
    assert states == ["queued", "running", "succeeded"]
    assert any(e.type == "progress" for e in events)


async def test_concurrency_limit_per_kind(settings, db, tmp_path):
    kinds = runner_kinds(concurrency=2)
    async with make_runner(settings, db, kinds=kinds) as runner:
        ids = [
            (await runner.submit("sleepy", {"seconds": 2.0, "n": i, "log_dir": str(tmp_path)})).id
            for i in range(5)
        ]
        views = await asyncio.gather(*(runner.wait(i, timeout=60) for i in ids))
    assert all(v.state is JobState.SUCCEEDED for v in views)
    windows = [json.loads(p.read_text()) for p in tmp_path.glob("*.window")]
    assert len(windows) == 5
    points = sorted([(s, 1) for s, _ in windows] + [(e, -1) for _, e in windows])
    level = peak = 0
    for _, step in points:
        level += step
        peak = max(peak, level)
    assert peak == 2


async def test_cancel_kills_worker_and_its_children(settings, db, tmp_path):
    pid_file = tmp_path / "pids.json"
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("child", {"pid_file": str(pid_file)})).id

        async def started():
            return pid_file.exists() and pid_file.read_text()

        pids = json.loads(await wait_until(started))
        assert process_alive(pids["worker"]) and process_alive(pids["child"])
        t0 = time.monotonic()
        assert await runner.cancel(job_id) == "cancelling"
        final = await runner.wait(job_id, timeout=10)
        elapsed = time.monotonic() - t0
    assert final.state is JobState.CANCELLED
    assert elapsed < 5
    await wait_until(lambda: asyncio.sleep(0, not process_alive(pids["worker"])), timeout=5)
    await wait_until(lambda: asyncio.sleep(0, not process_alive(pids["child"])), timeout=5)


async def test_cancel_from_another_process_reaches_running_job(settings, db, tmp_path):
    pid_file = tmp_path / "pids.json"
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("child", {"pid_file": str(pid_file)})).id
        await wait_until(lambda: asyncio.sleep(0, pid_file.exists()))
        env = {**os.environ, "CRATEBOT_HOME": str(settings.home)}
        # In a thread: a blocking call here would freeze the runner's event loop, possibly
        # inside a write transaction, and the CLI would wait out SQLite's busy timeout.
        out = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli.main", "jobs", "cancel", job_id],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "cancelling" in out.stdout
        final = await runner.wait(job_id, timeout=15)
    assert final.state is JobState.CANCELLED


async def test_cancel_queued_job(settings, db, tmp_path):
    async with make_runner(settings, db) as runner:
        first = (await runner.submit("sleepy", {"seconds": 1.5})).id
        second = (await runner.submit("sleepy", {"seconds": 1.5, "other": True})).id
        assert await runner.cancel(second) == "cancelled"
        assert (await runner.wait(first, timeout=30)).state is JobState.SUCCEEDED
        assert (await runner.get(second)).state is JobState.CANCELLED


async def test_timeout_fails_job(settings, db):
    kinds = runner_kinds(timeout_s=0.7)
    async with make_runner(settings, db, kinds=kinds) as runner:
        job_id = (await runner.submit("sleepy", {"seconds": 30})).id
        final = await runner.wait(job_id, timeout=20)
    assert final.state is JobState.FAILED
    assert "timed out" in final.error


async def test_transient_errors_retried_with_backoff(settings, db, tmp_path):
    counter = tmp_path / "count"
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("flaky", {"counter": str(counter), "succeed_on": 3})).id
        final = await runner.wait(job_id, timeout=30)
    assert final.state is JobState.SUCCEEDED
    assert final.result == {"tries": 3, "files": []}
    events = await JobRepository(db).events(job_id)
    retries = [e for e in events if e.type == "retry"]
    assert len(retries) == 2 and "retrying in" in retries[0].message


async def test_transient_errors_give_up_after_max_attempts(settings, db, tmp_path):
    counter = tmp_path / "count"
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("flaky", {"counter": str(counter), "succeed_on": 99})).id
        final = await runner.wait(job_id, timeout=30)
    assert final.state is JobState.FAILED
    assert counter.read_text() == "3"
    assert "network hiccup" in final.error


async def test_bad_input_never_retried(settings, db, tmp_path):
    counter = tmp_path / "count"
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("bad", {"counter": str(counter)})).id
        final = await runner.wait(job_id, timeout=30)
    assert final.state is JobState.FAILED
    assert final.error == "that file is not audio"
    assert counter.read_text() == "1"


async def test_worker_crash_reported(settings, db):
    async with make_runner(settings, db) as runner:
        final = await runner.wait((await runner.submit("crash", {})).id, timeout=30)
    assert final.state is JobState.FAILED
    assert "worker process died" in final.error and "exit code 3" in final.error


async def test_dedupe_by_content_returns_finished_result(settings, db, tmp_path):
    counter = tmp_path / "count"
    a, b, c = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "c.bin"
    a.write_bytes(b"same content")
    b.write_bytes(b"same content")
    c.write_bytes(b"other content")
    async with make_runner(settings, db) as runner:
        first = (await runner.submit("hashing", {"source": str(a), "counter": str(counter)})).id
        assert (await runner.wait(first, timeout=30)).state is JobState.SUCCEEDED
        again = await runner.submit("hashing", {"source": str(b), "counter": str(counter)})
        assert again.reused and again.id == first
        assert again.view.state is JobState.SUCCEEDED
        fresh = await runner.submit("hashing", {"source": str(c), "counter": str(counter)})
        assert not fresh.reused and fresh.view.state is JobState.QUEUED
        other = fresh.id
        assert other != first
        assert (await runner.wait(other, timeout=30)).state is JobState.SUCCEEDED
    assert counter.read_text() == "2"


async def test_quota_per_owner(settings, db):
    alice, bob = OwnerRef("telegram", "1"), OwnerRef("telegram", "2")
    limit = settings.max_queued_jobs_per_owner
    runner = make_runner(settings, db)  # not started: everything stays queued
    for i in range(limit):
        await runner.submit("sleepy", {"seconds": 0.1, "n": i}, alice)
    with pytest.raises(QuotaExceeded, match=f"limit is {limit}"):
        await runner.submit("sleepy", {"seconds": 0.1, "n": 99}, alice)
    await runner.submit("sleepy", {"seconds": 0.1, "n": 99}, bob)


async def test_unknown_and_unavailable_kinds(settings, db):
    kinds = {"ghost": JobKind("ghost", "core.no_such_pipeline:run")}
    runner = make_runner(settings, db, kinds=kinds)
    with pytest.raises(NotAvailable, match="not available"):
        await runner.submit("ghost", {})
    with pytest.raises(BadInput, match="unknown job kind"):
        await runner.submit("nope", {})


async def test_job_survives_kill_9_of_the_runner_process(settings, db, tmp_path):
    repo = JobRepository(db)
    runner = make_runner(settings, db)
    job_id = (await runner.submit("sleepy", {"seconds": 3.0, "log_dir": str(tmp_path)})).id
    env = {**os.environ, "CRATEBOT_HOME": str(settings.home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.runner.runner_process", str(settings.home)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        async def running_with_progress():
            job = await repo.get(job_id)
            return job if job.state == "running" and job.progress > 0.1 else None

        job = await wait_until(running_with_progress, timeout=60)
        worker_pid = job.worker_pid
        assert worker_pid and process_alive(worker_pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # The worker dies with its runner: nothing keeps writing behind our back.
    await wait_until(lambda: asyncio.sleep(0, not process_alive(worker_pid)), timeout=5)
    assert (await repo.get(job_id)).state == "running"  # as the crash left it

    async with make_runner(settings, db) as restarted:
        final = await restarted.wait(job_id, timeout=60)
    assert final.state is JobState.SUCCEEDED
    assert final.attempts == 2
    events = await repo.events(job_id)
    assert any(e.type == "recover" and "runner stopped" in e.message for e in events)


async def test_crash_recovery_is_bounded(settings, db):
    repo = JobRepository(db)
    runner = make_runner(settings, db, kinds=runner_kinds(max_attempts=2))
    job_id = (await runner.submit("sleepy", {"seconds": 0.1})).id
    for _ in range(2):  # two attempts, each ended by a "crash" (left running, stale)
        job = await repo.claim_next({"sleepy": 1}, "dead-runner")
        assert job.id == job_id
        await runner.recover(stale_before=utcnow() + dt.timedelta(seconds=1))
    job = await repo.get(job_id)
    assert job.state == "failed"
    assert "giving up" in job.error


async def test_stop_requeues_running_jobs(settings, db, tmp_path):
    runner = make_runner(settings, db)
    await runner.start()
    job_id = (await runner.submit("sleepy", {"seconds": 20})).id
    repo = JobRepository(db)
    await wait_until(lambda: _state_is(repo, job_id, "running"))
    await runner.stop()
    job = await repo.get(job_id)
    assert job.state == "queued" and job.attempts == 0


async def _state_is(repo, job_id, state):
    return (await repo.get(job_id)).state == state


async def test_event_loop_stays_responsive_while_jobs_run(settings, db):
    async with make_runner(settings, db, kinds=runner_kinds(concurrency=2)) as runner:
        ids = [(await runner.submit("sleepy", {"seconds": 1.5, "n": i})).id for i in range(2)]
        await wait_until(lambda: _state_is(runner.repo, ids[0], "running"))
        worst = 0.0
        for _ in range(20):
            t0 = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - t0 - 0.01)
        for job_id in ids:
            await runner.wait(job_id, timeout=30)
    # Generous bound: the loop is never blocked by the heavy work itself.
    assert worst < 0.5


async def test_retention_sweep_removes_expired_results(settings, db, tmp_path):
    async with make_runner(settings, db) as runner:
        job_id = (await runner.submit("sleepy", {"seconds": 0.1})).id
        await runner.wait(job_id, timeout=30)
    published = settings.results_dir / job_id / "out" / "result.txt"
    assert published.exists()
    stray = settings.results_dir / "not-a-job"
    stray.mkdir()
    (stray / "x").write_text("x")
    report = await runner.results.sweep(now=utcnow())
    assert published.exists() and not stray.exists() and report.folders_removed == 1
    later = utcnow() + dt.timedelta(days=settings.result_retention_days, seconds=1)
    report = await runner.results.sweep(now=later)
    assert report.files_removed == 1
    assert not (settings.results_dir / job_id).exists()
    rows = await JobRepository(db).results(job_id)
    assert rows[0].deleted_at is not None
    # A swept result is no longer offered by dedupe.
    assert await JobRepository(db).find_reusable((await runner.repo.get(job_id)).dedupe_key) is None
