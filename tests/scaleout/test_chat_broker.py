"""`/id MIX` through `cratebot chat` with CRATEBOT_BROKER_URL set: the job runs on a real
`cratebot worker`, that worker is killed with kill -9 mid-job, another one finishes it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from storage.db import open_database
from storage.jobs_repo import JobRepository
from tests.identify.synth import SR, write_songs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


async def _running_job(url: str, timeout: float = 120.0):
    db = await open_database(url)
    try:
        repo = JobRepository(db)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = await repo.list(states=["running"])
            if jobs and jobs[0].worker_pid and jobs[0].progress > 0.05:
                return jobs[0]
            await asyncio.sleep(0.1)
        raise AssertionError("no identify job started running")
    finally:
        await db.dispose()


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
def test_id_through_chat_survives_kill_9_of_its_worker(
    cluster, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
):
    from core.identify.library import index_paths
    from core.settings import load_settings

    if database == "sqlite":  # one machine, no PostgreSQL: the default database in HOME
        monkeypatch.delenv("CRATEBOT_DATABASE_URL")
        cluster.env.pop("CRATEBOT_DATABASE_URL")
    settings = load_settings(home=home)

    songs = write_songs(tmp_path / "songs", 3, seconds=40.0)
    index_paths(settings, songs[:2])  # into PostgreSQL: the library is shared too
    mix = tmp_path / "mix.flac"
    audio = [sf.read(p, dtype="float32")[0] for p in songs]
    # Then ~17 minutes of the unknown song, so the job runs long enough to be caught and
    # killed mid-way even though matching runs at hundreds of times real time.
    sf.write(mix, np.concatenate([audio[0], audio[1]] + [audio[2]] * 25), SR)
    first = cluster.start_worker(queues="identify", cli=True)
    out = tmp_path / "out"
    chat = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "chat", "--json", "--out", str(out)]
        + ["-c", f"/id '{mix}' recognizers=local"],
        cwd=ROOT,
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        job = asyncio.run(_running_job(settings.database_url))
        cluster.kill9(first)
        cluster.start_worker(queues="identify", cli=True)
        stdout, stderr = chat.communicate(timeout=240)
    finally:
        if chat.poll() is None:
            chat.kill()
            chat.communicate()
    assert chat.returncode == 0, stderr + cluster.log_text()
    replies = [json.loads(line) for line in stdout.splitlines()]
    assert len(replies) == 1  # the user sees one result
    reply = replies[0]
    assert reply["job_id"] == job.id and not reply["error"]
    tracklist = json.loads((out / job.id / "tracklist.json").read_text())
    assert [t["title"] for t in tracklist["tracks"]] == ["Song 0", "Song 1", None]
    assert "Song 0" in reply["text"] and "Song 1" in reply["text"]

    async def attempts() -> int:
        db = await open_database(settings.database_url)
        try:
            return (await JobRepository(db).get(job.id)).attempts
        finally:
            await db.dispose()

    assert asyncio.run(attempts()) == 2
