"""Scale-out figures: Celery workers on Redis with PostgreSQL, all on loopback.

* jobs per minute for N identify jobs (distinct synthetic mixes, recognizer ``local``)
  with 1 and with 2 ``cratebot worker`` processes (``--concurrency 1`` each);
* submission latency p50/p99 of ``BrokerRunner.submit`` (atomic row + Redis publish)
  over ``--submissions`` jobs sent to a queue nobody consumes (goal: p99 <= 50 ms);
* time from a worker's kill -9 (its whole process group) mid-job to that job running
  again on another worker (goal <= 60 s), with the default heartbeat settings unless
  ``--dead-after`` is given.

Starts its own redis-server and PostgreSQL (or uses CRATEBOT_TEST_REDIS_URL and
CRATEBOT_TEST_POSTGRES_URL, as .ci/run exports them) and stops them after.

    python benchmarks/scaleout.py [--jobs 8] [--mix-seconds 60] [--submissions 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.jobs.celery_backend import BrokerRunner  # noqa: E402
from core.jobs.runner import OwnerRef  # noqa: E402
from core.settings import load_settings  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.jobs_repo import JobRepository  # noqa: E402
from storage.workers import ScaleoutRepository  # noqa: E402
from tests.identify.synth import SR, write_songs  # noqa: E402
from tests.servers import running_servers  # noqa: E402


def job_id(answer: object) -> str:
    """``submit`` answers the job id, or an object holding it as ``.id``."""
    return str(getattr(answer, "id", answer))


def start_worker(env: dict[str, str], home: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "worker", "--queues", "identify"]
            + ["--concurrency", "1", "--home", str(home), "--log-level", "WARNING"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(procs: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_mixes(folder: Path, count: int, seconds: float) -> list[Path]:
    songs = write_songs(folder / "songs", 3, seconds=seconds / 2)
    audio = [sf.read(p, dtype="float32")[0] for p in songs]
    mixes = []
    for i in range(count):
        rng = np.random.default_rng(i)
        a, b = audio[i % 3], audio[(i + 1) % 3]
        mix = np.concatenate([a, b]) + rng.normal(0, 1e-3, (len(a) + len(b),) + a.shape[1:])
        path = folder / f"mix-{i}.flac"
        sf.write(path, mix.astype("float32"), SR)
        mixes.append(path)
    return mixes


async def wait_workers(db, count: int) -> None:
    scale = ScaleoutRepository(db)
    for _ in range(600):
        if len([w for w in await scale.workers() if w.stopped_at is None]) >= count:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("workers did not start")


async def throughput(env, home, settings, mixes: list[Path], workers: int, logs: Path) -> float:
    db = await open_database(settings.database_url)
    procs = [start_worker(env, home, logs / f"w{workers}-{i}.log") for i in range(workers)]
    try:
        await wait_workers(db, workers)
        async with BrokerRunner(settings, db) as runner:
            t0 = time.monotonic()
            ids = [
                job_id(await runner.submit("identify", {"source": str(m), "recognizers": "local"}))
                for m in mixes
            ]
            finals = [await runner.wait(i, timeout=3600) for i in ids]
            elapsed = time.monotonic() - t0
        bad = [f for f in finals if f.state.value != "succeeded"]
        if bad:
            raise RuntimeError(f"{len(bad)} jobs did not succeed: {bad[0].error}")
        return len(mixes) / elapsed * 60
    finally:
        stop(procs)
        await db.dispose()


async def latency(settings, count: int) -> list[float]:
    db = await open_database(settings.database_url)
    try:
        async with BrokerRunner(settings, db) as runner:
            times = []
            for i in range(count):
                t0 = time.perf_counter()
                job_id(
                    await runner.submit(
                        "probe",
                        {"source": f"https://example.invalid/{i}.mp3"},
                        OwnerRef("b", str(i)),
                    )
                )
                times.append(time.perf_counter() - t0)
            return times
    finally:
        await db.dispose()


async def restart_time(env, home, settings, mix: Path, logs: Path) -> tuple[float, int]:
    db = await open_database(settings.database_url)
    repo = JobRepository(db)
    first = start_worker(env, home, logs / "death-1.log")
    procs = [first]
    try:
        await wait_workers(db, 1)
        async with BrokerRunner(settings, db) as runner:
            the_id = job_id(
                await runner.submit("identify", {"source": str(mix), "recognizers": "local"})
            )
            while True:
                job = await repo.get(the_id)
                if job.state == "running" and job.worker_pid and job.progress > 0.05:
                    break
                await asyncio.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)
            killed = time.monotonic()
            first.wait()
            procs.append(start_worker(env, home, logs / "death-2.log"))
            while True:
                job = await repo.get(the_id)
                if job.state == "running" and job.attempts == 2:
                    restarted = time.monotonic() - killed
                    break
                await asyncio.sleep(0.05)
            final = await runner.wait(the_id, timeout=3600)
            return restarted, final.attempts if final.state.value == "succeeded" else -1
    finally:
        stop(procs)
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--mix-seconds", type=float, default=60.0)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument(
        "--dead-after", type=float, default=None, help="CRATEBOT_WORKER_DEAD_AFTER_S"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cratebot-scaleout-") as tmp,
        running_servers() as (
            redis,
            pg,
        ),
    ):
        folder = Path(tmp)
        logs = folder / "logs"
        logs.mkdir()
        print(f"making {args.jobs} mixes of {args.mix_seconds:.0f} s ...", flush=True)
        mixes = make_mixes(folder, args.jobs, args.mix_seconds)

        def setup(name: str, db_number: int) -> tuple[dict[str, str], Path, object]:
            home = folder / name
            env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")} | {
                "CRATEBOT_HOME": str(home),
                "CRATEBOT_BROKER_URL": f"{redis.url}/{db_number}",
                "CRATEBOT_DATABASE_URL": pg.create_database(),
                "CRATEBOT_MAX_QUEUED_JOBS_PER_OWNER": "100000",
                "PYTHONPATH": str(ROOT),
            }
            if args.dead_after is not None:
                env["CRATEBOT_WORKER_DEAD_AFTER_S"] = str(args.dead_after)
            os.environ.update(env)
            return env, home, load_settings()

        rates = {}
        for workers in (1, 2):
            env, home, settings = setup(f"home-{workers}", workers)
            rates[workers] = asyncio.run(throughput(env, home, settings, mixes, workers, logs))
            print(f"{workers} worker(s): {rates[workers]:.2f} identify jobs/min", flush=True)
        env, home, settings = setup("home-latency", 3)
        times = sorted(asyncio.run(latency(settings, args.submissions)))
        p50 = statistics.median(times) * 1000
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        load = os.getloadavg()[0]
        print(
            f"submission latency over {len(times)}: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"(load average {load:.1f} on {os.cpu_count()} CPUs)"
        )
        env, home, settings = setup("home-death", 4)
        restarted, attempts = asyncio.run(restart_time(env, home, settings, mixes[0], logs))
        print(
            f"worker kill -9 -> job running again on another worker: {restarted:.1f} s "
            f"(heartbeat {settings.worker_heartbeat_s:g} s, dead after "
            f"{settings.worker_dead_after_s:g} s); finished after {attempts} attempts"
        )
        print(
            f"summary: jobs/min 1 worker {rates[1]:.2f}, 2 workers {rates[2]:.2f} "
            f"(x{rates[2] / rates[1]:.2f}); submit p50 {p50:.1f} ms p99 {p99:.1f} ms; "
            f"restart {restarted:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
