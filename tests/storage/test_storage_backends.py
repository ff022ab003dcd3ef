"""Every storage module on both backends (the ``backend`` fixture: SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from storage.db import open_database


async def test_library_store(settings):
    from storage.library import LibraryStore

    store = LibraryStore(settings.database_url)
    a = store.add("/music/a.flac", "a" * 64, "Artist", "Title", 180.5, 0)
    b = store.add("/music/b.flac", "b" * 64, None, None, 60.0, 10)
    store.set_hashes(a, 42)
    assert store.by_sha256("a" * 64).hashes == 42
    assert [t.id for t in store.by_path("/music/b.flac")] == [b]
    assert sorted(store.live_ids()) == sorted([a, b])
    assert set(store.get_many([a, b, 999])) == {a, b}
    store.cache_put("shazam", "w1", {"title": "x"})
    store.cache_put("shazam", "w1", {"title": "y"})
    assert store.cache_get("shazam", "w1") == {"title": "y"}
    assert store.remove([a]) == 1
    assert [t.id for t in store.all()] == [b]
    store.engine.dispose()


async def test_library_reader_matches_the_store(settings):
    """`cratebot id`'s ORM-free reads (sqlite3 on SQLite, SQLAlchemy Core elsewhere)."""
    from storage.crates import CrateStore
    from storage.library import LibraryStore
    from storage.library_reader import LibraryReader, TrackLabel

    store = LibraryStore(settings.database_url)
    mine = store.add("/music/a.flac", "a" * 64, "Artist", "Title", 180.5, 5)
    theirs = store.add("/music/b.flac", "b" * 64, None, None, 60.0, 7)
    store.set_in_library(theirs, False)
    unindexed = store.add("/music/c.flac", "c" * 64, "C", "Sea", 60.0, 0)
    CrateStore(settings.database_url).add("telegram:1", theirs, "/music/b.flac", 1, "u")
    reader = LibraryReader(settings.database_url)
    try:
        # SQLite is read with the plain driver, other backends through SQLAlchemy.
        assert (reader._sqlite is not None) == settings.database_url.startswith("sqlite")
        assert reader.live_ids() == store.live_ids() == [mine]
        assert reader.live_ids("telegram:1") == sorted(store.live_ids("telegram:1"))
        assert reader.live_ids("telegram:1") == [mine, theirs]
        assert reader.live_ids("telegram:2") == [mine]
        labels = reader.labels([theirs, mine, unindexed, 999] + list(range(1000, 1600)))
        assert labels == {
            mine: TrackLabel("Artist", "Title", True),
            theirs: TrackLabel(None, None, False),
            unindexed: TrackLabel("C", "Sea", True),
        }
        assert reader.labels([]) == {}
    finally:
        reader.close()
        store.engine.dispose()


def test_library_reader_url_parsing(tmp_path: Path):
    from storage.library_reader import _sqlite_path

    db = tmp_path / "x.db"
    assert _sqlite_path(f"sqlite+aiosqlite:///{db}") == db
    assert _sqlite_path(f"sqlite:///{db}") == db
    assert _sqlite_path("sqlite:///:memory:") is None
    assert _sqlite_path(f"sqlite:///{db}?mode=ro") is None
    assert _sqlite_path("postgresql+asyncpg://u:p@127.0.0.1/db") is None


async def test_analysis_store(settings, tmp_path: Path):
    from storage.analysis import AnalysisStore, get_analysis, list_analyses, save_analysis

    track = tmp_path / "t.flac"
    track.write_bytes(b"x" * 10)
    structure = {"path": str(track.resolve()), "sha256": "c" * 64, "bpm": 124.0}
    with AnalysisStore(settings.database_url) as store:
        store.save(structure)
        store.save({**structure, "bpm": 125.0})
        assert store.get(track)["bpm"] == 125.0
        assert store.get(track, sha256="d" * 64) is None
        assert len(store.all()) == 1
    db = await open_database(settings.database_url)
    try:
        async with db.session() as s:
            await save_analysis(s, {**structure, "path": str(tmp_path / "u.flac"), "bpm": 90.0})
        async with db.session() as s:
            assert (await get_analysis(s, tmp_path / "u.flac"))["bpm"] == 90.0
            assert len(await list_analyses(s)) == 2
    finally:
        await db.dispose()
    with AnalysisStore(settings.database_url) as store:
        assert store.delete(track) and not store.delete(track)


async def test_pi_link_store(settings):
    from bot.commands.keys import token_cipher
    from storage.pi_links import PiLinkStore

    db = await open_database(settings.database_url)
    try:
        store = PiLinkStore(db, token_cipher(settings))
        await store.set("telegram", "c1", "127.0.0.1", 9000, "secret-token", "u1")
        await store.set("telegram", "c1", "127.0.0.2", 9001, "other-token", "u2")
        link = await store.get("telegram", "c1")
        assert (link.host, link.port) == ("127.0.0.2", 9001)
        assert link.token(token_cipher(settings)) == "other-token"
        assert await store.remove("telegram", "c1")
        assert await store.get("telegram", "c1") is None
    finally:
        await db.dispose()


async def test_scaleout_repository_claims_once_and_sweeps_stale(settings):
    import datetime as dt

    from storage.base import utcnow
    from storage.jobs_repo import JobRepository
    from storage.workers import Quota, ScaleoutRepository, Submitted

    db = await open_database(settings.database_url)
    try:
        scale, repo = ScaleoutRepository(db), JobRepository(db)
        owner = ("t", "u", None)
        made = await scale.submit("j1", "sleepy", {}, owner, "k1", 2, Quota(1, 50))
        assert made.outcome is Submitted.CREATED
        assert (await scale.submit("j2", "sleepy", {}, owner, "k1", 2, Quota(1, 50))).job_id == "j1"
        full = await scale.submit("j3", "sleepy", {}, owner, "k3", 2, Quota(1, 50))
        assert (full.outcome, full.which, full.count) == (Submitted.QUOTA, "active", 1)
        daily = await scale.submit("j4", "sleepy", {}, owner, "k4", 2, Quota(5, 1))
        assert (daily.outcome, daily.which) == (Submitted.QUOTA, "daily")
        assert await scale.undispatched() == []  # created marked as sent
        await scale.clear_dispatch("j1")  # the broker refused it
        assert [j.id for j in await scale.undispatched()] == ["j1"]
        await scale.mark_dispatched("j1")
        assert await scale.undispatched() == []
        later = utcnow() + dt.timedelta(seconds=1)
        assert [j.id for j in await scale.undispatched(redispatch_before=later)] == ["j1"]
        await scale.register("w1", "host", 1, "sleepy")
        assert (await scale.claim("j1", "w1")).attempts == 1
        assert await scale.claim("j1", "w2") is None  # a duplicate message does nothing
        await scale.beat("w1", ["j1"])
        assert await scale.sweep_stale(utcnow() - dt.timedelta(seconds=30)) == []
        swept = await scale.sweep_stale(utcnow() + dt.timedelta(seconds=1))
        assert [(s.job_id, s.requeued) for s in swept] == [("j1", True)]
        assert [j.id for j in await scale.undispatched()] == ["j1"]  # needs a new message
        assert (await scale.claim("j1", "w2")).attempts == 2
        swept = await scale.sweep_stale(utcnow() + dt.timedelta(seconds=1))
        assert [(s.job_id, s.requeued) for s in swept] == [("j1", False)]
        job = await repo.get("j1")
        assert job.state == "failed" and "giving up" in job.error
    finally:
        await db.dispose()
