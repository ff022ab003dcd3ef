"""The HTTP API through a real client against a real ``cratebot serve`` on loopback."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import soundfile as sf

from benchmarks.identify_mixgen import score
from tests.commands.conftest import tone_file
from tests.stems.conftest import music_like, write_wav
from tests.web.api_server import Served, cli, new_token
from tests.web.conftest import UPLOAD_CAP_MB

pytestmark = pytest.mark.slow
API = "/api/v1"


def form(kind: str, file: Path | None = None, **fields: Any) -> aiohttp.FormData:
    data = aiohttp.FormData(default_to_multipart=True)
    data.add_field("kind", kind)
    if file is not None:
        data.add_field("file", file.read_bytes(), filename=file.name)
    for key, value in fields.items():
        data.add_field(key, value if isinstance(value, str) else json.dumps(value))
    return data


async def submit(
    session: aiohttp.ClientSession, served: Served, token: str, data: aiohttp.FormData
) -> tuple[int, dict[str, Any]]:
    async with session.post(
        served.base + API + "/jobs", data=data, headers=served.auth(token)
    ) as r:
        assert r.content_type == "application/json"
        return r.status, await r.json()


async def follow(
    session: aiohttp.ClientSession, served: Served, token: str, job: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Every server-sent event of a job until the stream ends."""
    events: list[tuple[str, dict[str, Any]]] = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with session.get(
        job["links"]["events"], headers=served.auth(token), timeout=timeout
    ) as r:
        assert r.status == 200 and r.content_type == "text/event-stream"
        name, data = "", ""
        async for raw in r.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and data:
                events.append((name, json.loads(data)))
                name, data = "", ""
    return events


async def test_identify_submit_follow_download(served: Served, synth_mix) -> None:
    mix, truth = synth_mix
    token = new_token(served.home, "telegram:1001", "dj script")
    async with aiohttp.ClientSession() as session:
        status, job = await submit(
            session, served, token, form("identify", mix, params={"recognizers": "local"})
        )
        assert status == 202, job
        assert job["state"] == "queued" and job["kind"] == "identify" and job["files"] == []
        assert job["links"]["self"] == f"{served.base}{API}/jobs/{job['id']}"

        events = await follow(session, served, token, job)
        states = [name for name, _ in events]
        assert states[-1] == "succeeded", events[-1]
        assert all(state in ("queued", "running") for state in states[:-1])
        assert "running" in states
        fractions = [data["progress"] for name, data in events if name == "running"]
        assert fractions == sorted(fractions)
        final = events[-1][1]
        assert {f["name"] for f in final["files"]} == {
            "tracklist.json",
            "tracklist.cue",
            "timeline.png",
        }

        async with session.get(job["links"]["self"], headers=served.auth(token)) as r:
            shown = await r.json()
        assert r.status == 200 and shown["state"] == "succeeded" and shown["attempts"] == 1
        assert shown["progress"] == 1.0 and shown["error"] is None
        by_name = {f["name"]: f for f in shown["files"]}
        url = by_name["tracklist.json"]["url"]
        async with session.get(url, headers=served.auth(token)) as r:
            assert r.status == 200
            body = await r.read()
        assert len(body) == by_name["tracklist.json"]["size"]
        result = json.loads(body)
        assert score(truth, result)["recall"] == 1.0

        # Range requests: a middle slice, then a range past the end.
        async with session.get(url, headers={**served.auth(token), "Range": "bytes=5-24"}) as r:
            assert r.status == 206 and await r.read() == body[5:25]
            assert r.headers["Content-Range"] == f"bytes 5-24/{len(body)}"
        async with session.get(
            url, headers={**served.auth(token), "Range": f"bytes={len(body) + 10}-"}
        ) as r:
            assert r.status == 416

        # The same mix again is the same job, reported as reused.
        status, again = await submit(
            session, served, token, form("identify", mix, params={"recognizers": "local"})
        )
        assert status == 202 and again["id"] == job["id"] and again["reused"] is True

        async with session.get(served.base + API + "/jobs", headers=served.auth(token)) as r:
            listed = await r.json()
        assert [j["id"] for j in listed["jobs"]] == [job["id"]]
        # A finished job cannot be cancelled.
        async with session.delete(job["links"]["self"], headers=served.auth(token)) as r:
            assert r.status == 409 and "already succeeded" in (await r.json())["error"]


async def test_stems_submit_follow_download(served: Served, tmp_path: Path) -> None:
    song = write_wav(tmp_path / "song.wav", music_like(6.0, seed=7))
    token = new_token(served.home, "discord:2002")
    async with aiohttp.ClientSession() as session:
        status, job = await submit(
            session, served, token, form("stems", song, params={"model": "tinyht", "format": "wav"})
        )
        assert status == 202, job
        events = await follow(session, served, token, job)
        assert events[-1][0] == "succeeded", events[-1]
        files = {f["name"]: f for f in events[-1][1]["files"]}
        wavs = [name for name in files if name.endswith(".wav")]
        assert any("vocals" in name for name in wavs), files
        name = next(n for n in wavs if "drums" in n)
        async with session.get(files[name]["url"], headers=served.auth(token)) as r:
            assert r.status == 200
            assert r.headers["Content-Disposition"].startswith("attachment")
            audio, rate = sf.read(io.BytesIO(await r.read()))
        assert rate == 44100 and abs(len(audio) / rate - 6.0) < 0.1


async def test_auth_failures(served: Served) -> None:
    token = new_token(served.home, "telegram:3003")
    async with aiohttp.ClientSession() as session:
        for headers in (
            {},
            {"Authorization": "Bearer "},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": "Bearer cbt_not-a-real-token"},
            {"Authorization": token},  # no scheme
        ):
            async with session.get(served.base + API + "/jobs", headers=headers) as r:
                assert r.status == 401, headers
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
                body = await r.json()
                assert body["status"] == 401 and "token" in body["error"]
        async with session.get(served.base + API + "/jobs", headers=served.auth(token)) as r:
            assert r.status == 200
        token_id = next(
            row["id"]
            for row in json.loads(cli(served.home, "tokens", "list", "--json").stdout)
            if token.startswith(row["hint"]) and row["owner"] == "telegram:3003"
        )
        assert cli(served.home, "tokens", "revoke", str(token_id)).returncode == 0
        async with session.get(served.base + API + "/jobs", headers=served.auth(token)) as r:
            assert r.status == 401 and "revoked" in (await r.json())["error"]
        # The description and its page need no token.
        async with session.get(served.base + API + "/openapi.json") as r:
            assert r.status == 200


async def test_another_owners_job_is_not_found(served: Served, tmp_path: Path) -> None:
    alice = new_token(served.home, "telegram:4004")
    bob = new_token(served.home, "telegram:4005")
    song = tone_file(tmp_path / "alice.wav", seconds=3.0, freq=523.0)
    async with aiohttp.ClientSession() as session:
        status, job = await submit(
            session, served, alice, form("identify", song, params={"recognizers": "local"})
        )
        assert status == 202
        await follow(session, served, alice, job)
        paths = ["", "/events", "/files/tracklist.json"]
        for path in paths:
            async with session.get(job["links"]["self"] + path, headers=served.auth(bob)) as r:
                mine = await r.json()
                assert r.status == 404, path
            async with session.get(
                f"{served.base}{API}/jobs/000000000000{path}", headers=served.auth(bob)
            ) as r:
                missing = await r.json()
                assert r.status == 404
            # The same answer as for a job that does not exist, apart from the id.
            assert mine["error"].replace(job["id"], "X") == missing["error"].replace(
                "000000000000", "X"
            )
        async with session.delete(job["links"]["self"], headers=served.auth(bob)) as r:
            assert r.status == 404
        async with session.get(served.base + API + "/jobs", headers=served.auth(bob)) as r:
            assert (await r.json())["jobs"] == []
        async with session.get(job["links"]["self"], headers=served.auth(alice)) as r:
            assert r.status == 200


async def test_oversized_upload_is_refused_and_not_kept(served: Served, tmp_path: Path) -> None:
    token = new_token(served.home, "telegram:5005")
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + bytes(UPLOAD_CAP_MB * 1024 * 1024))
    uploads = served.home / "uploads"
    before = set(uploads.iterdir()) if uploads.is_dir() else set()
    async with aiohttp.ClientSession() as session:
        status, body = await submit(session, served, token, form("identify", big))
    assert status == 413, body
    assert f"{UPLOAD_CAP_MB:g} MB" in body["error"]
    after = set(uploads.iterdir()) if uploads.is_dir() else set()
    assert after == before


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("remix", {}, "kind 'remix': choose one of identify, stems, sections"),
        ("stems", {"params": {"speed": 2}}, "unknown option 'speed' for stems"),
        ("stems", {"params": {"minus": "kazoo"}}, "minus 'kazoo': choose one of vocals"),
        ("stems", {"params": {"format": "ogg"}}, "format 'ogg': choose one of mp3, wav, flac"),
        ("stems", {"params": {"model": "../x"}}, "is not a model name"),
        ("stems", {"params": "[1, 2]"}, "params must be a JSON object"),
        ("stems", {"params": "{not json"}, "params must be a JSON object"),
        ("sections", {"params": {"bpm": 400}}, "BPM 400 is out of range: use 40 to 250"),
        ("sections", {"params": {}}, "bpm is missing"),
        ("sections", {"params": {"bpm": 120, "bars": 0}}, "bars 0 is out of range"),
        ("identify", {"params": {"recognizers": "local,spotify"}}, "recognizer 'spotify'"),
    ],
)
async def test_bad_options(
    served: Served, tmp_path: Path, kind: str, fields: dict[str, Any], message: str
) -> None:
    token = new_token(served.home, "telegram:6006")
    song = tone_file(tmp_path / "tone.wav")
    async with aiohttp.ClientSession() as session:
        status, body = await submit(session, served, token, form(kind, song, **fields))
    assert status == 422, body
    assert message in body["error"], body
    assert body == {"error": body["error"], "status": 422}


async def test_bad_sources(served: Served, tmp_path: Path) -> None:
    token = new_token(served.home, "telegram:6007")
    song = tone_file(tmp_path / "tone.wav")
    junk = tmp_path / "notes.wav"
    junk.write_text("these are not samples")
    cases = [
        (form("identify"), "send the audio as file (an upload) or source (a link)"),
        (form("identify", song, source="https://example.com/a.mp3"), "not both"),
        (form("identify", source="ftp://example.com/a.mp3"), "only http and https links"),
        (form("identify", source="/etc/passwd"), "is not a link"),
        (form("identify", source="http://127.0.0.1:9/mix.mp3"), "private/internal address"),
        (form("identify", junk), "not an audio file"),
    ]
    async with aiohttp.ClientSession() as session:
        for data, message in cases:
            status, body = await submit(session, served, token, data)
            assert status == 422 and message in body["error"], body
            # Nothing about our disk: no folders of the upload, no traceback.
            assert str(served.home) not in body["error"] and "Traceback" not in body["error"]
        extra = form("identify", song)
        extra.add_field("owner", "telegram:1")
        status, body = await submit(session, served, token, extra)
        assert status == 422 and "unknown form field 'owner'" in body["error"]
        async with session.post(
            served.base + API + "/jobs", json={"kind": "identify"}, headers=served.auth(token)
        ) as r:
            assert r.status == 415 and "multipart/form-data" in (await r.json())["error"]


async def test_quota_of_unfinished_jobs(served: Served, tmp_path: Path) -> None:
    """The owner's chat quota applies: three unfinished jobs (as set for this server)."""
    from storage.db import open_database
    from storage.jobs_repo import JobRepository

    token = new_token(served.home, "telegram:7007")
    db = await open_database(f"sqlite+aiosqlite:///{served.home / 'cratebot.db'}")
    try:
        repo = JobRepository(db)
        owner_id = await repo.owner_id("telegram", "7007")
        for n in range(3):  # a kind no runner takes: they stay queued
            await repo.create(f"quota{n}", "parked", {}, owner_id, f"quota-{n}", 1)
    finally:
        await db.dispose()
    song = tone_file(tmp_path / "tone.wav", freq=660.0)
    async with aiohttp.ClientSession() as session:
        status, body = await submit(session, served, token, form("identify", song))
        assert status == 429, body
        assert "3 unfinished jobs" in body["error"]
        # Cancelling one frees a place.
        async with session.delete(
            f"{served.base}{API}/jobs/quota0", headers=served.auth(token)
        ) as r:
            assert r.status == 202 and (await r.json())["state"] == "cancelled"
        async with session.get(
            served.base + API + "/jobs?state=queued", headers=served.auth(token)
        ) as r:
            assert {j["id"] for j in (await r.json())["jobs"]} == {"quota1", "quota2"}
        status, body = await submit(
            session, served, token, form("identify", song, params={"recognizers": "local"})
        )
        assert status == 202, body


async def test_bounded_headers_and_query(served: Served) -> None:
    token = new_token(served.home, "telegram:8008")
    async with aiohttp.ClientSession() as session:
        async with session.get(
            served.base + API + "/jobs", headers={**served.auth(token), "X-Big": "x" * 20000}
        ) as r:
            assert r.status in (400, 431)
        async with session.get(
            served.base + API + "/jobs?limit=1000", headers=served.auth(token)
        ) as r:
            assert r.status == 422 and "use 1 to 100" in (await r.json())["error"]
        async with session.get(
            served.base + API + "/jobs?state=done", headers=served.auth(token)
        ) as r:
            assert r.status == 422
        # Still serving after all that.
        async with session.get(served.base + "/health") as r:
            assert r.status == 200


async def test_openapi_description_and_docs_page(served: Served) -> None:
    from openapi_spec_validator import validate

    async with aiohttp.ClientSession() as session:
        async with session.get(served.base + API + "/openapi.json") as r:
            spec = await r.json()
        async with session.get(served.base + API + "/docs") as r:
            assert r.status == 200 and r.content_type == "text/html"
            page = await r.text()
    validate(spec)  # raises on anything that is not valid OpenAPI 3.1
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [{"url": served.base}]
    ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert {
        ("POST", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/{id}"),
        ("DELETE", "/api/v1/jobs/{id}"),
        ("GET", "/api/v1/jobs/{id}/events"),
        ("GET", "/api/v1/jobs/{id}/files/{name}"),
        ("GET", "/api/v1/openapi.json"),
    } <= ops
    job = spec["components"]["schemas"]["Job"]
    assert {"id", "state", "progress", "text", "error", "attempts", "files"} <= set(
        job["properties"]
    )
    stems = spec["components"]["schemas"]["StemsParams"]["properties"]
    assert stems["format"]["anyOf"][0]["enum"] == ["mp3", "wav", "flac"]
    for path, item in spec["paths"].items():
        assert path in page
        for op in item.values():
            assert op["security"] == (
                [] if path.endswith(("openapi.json", "docs")) else [{"bearer": []}]
            )
    # Served whole: no script, stylesheet or font from anywhere else.
    assert "<script" not in page and "src=" not in page and "@import" not in page


async def test_events_of_a_cancelled_job(served: Served) -> None:
    from storage.db import open_database
    from storage.jobs_repo import JobRepository

    token = new_token(served.home, "telegram:9009")
    db = await open_database(f"sqlite+aiosqlite:///{served.home / 'cratebot.db'}")
    try:
        repo = JobRepository(db)
        owner_id = await repo.owner_id("telegram", "9009")
        await repo.create("parked9", "parked", {}, owner_id, "parked-9", 1)
    finally:
        await db.dispose()
    async with aiohttp.ClientSession() as session:
        job_url = f"{served.base}{API}/jobs/parked9"
        job = {"links": {"events": job_url + "/events"}}
        follower = asyncio.create_task(follow(session, served, token, job))
        await asyncio.sleep(1.0)
        assert not follower.done()  # queued: the stream stays open
        async with session.delete(job_url, headers=served.auth(token)) as r:
            assert r.status == 202
        events = await asyncio.wait_for(follower, 30)
    assert [name for name, _ in events] == ["queued", "cancelled"]


async def test_schemathesis_against_the_served_description(served: Served, tmp_path: Path) -> None:
    """Property-based requests from the served OpenAPI document (bounded: a few seconds).

    Every response must be documented and match its schema, and no request may cause a
    server error. Two checks are left out because the contract decides otherwise:
    ``positive_data_acceptance`` (random bytes in ``file`` are schema-valid but are not
    audio, which is a 422 as in chat) and ``use_after_free`` (DELETE cancels a job; the
    job stays readable, state ``cancelled``).
    """
    import subprocess
    import sys

    token = new_token(served.home, "telegram:424242", "schemathesis")
    song = tone_file(tmp_path / "tone.wav", freq=880.0)
    async with aiohttp.ClientSession() as session:  # one real job for the stateful phase
        status, job = await submit(
            session, served, token, form("identify", song, params={"recognizers": "local"})
        )
        assert status == 202
        await follow(session, served, token, job)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{served.base}{API}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        "12",
        "--workers",
        "1",
        "--exclude-checks",
        "positive_data_acceptance,use_after_free",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    out = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=400, cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "passed" in out.stdout
