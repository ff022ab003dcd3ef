"""Shazam and AudD clients against real fake servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from aiohttp import web

from core.identify.apis.audd import AudDService
from core.identify.apis.shazam import ShazamService
from core.identify.online import recognize
from storage.library import LibraryStore
from tests.identify.synth import SR, song

Handler = Callable[[web.Request], Any]


class FakeService:
    """An aiohttp server on a free loopback port that records what it was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        return await self.handler(request)

    async def __aenter__(self) -> FakeService:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.flac"
    sf.write(path, song(42, 40.0), SR)
    return path


SHAZAM_HIT = {
    "matches": [{"id": "1", "offset": 12.5, "timeskew": 0.04, "frequencyskew": 0.04}],
    "track": {"key": "99", "title": "Gap Song", "subtitle": "Fake Artist"},
}


def shazam_handler(fake: FakeService, answers: list[tuple[int, Any]]) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        fake.requests.append({"path": request.path, "query": dict(request.query), "body": body})
        status, payload = answers[min(len(fake.requests) - 1, len(answers) - 1)]
        if status == "sleep":
            await asyncio.sleep(payload)
            return web.json_response({"matches": []})
        headers = {"Retry-After": "0"} if status == 429 else {}
        return web.json_response(payload, status=status, headers=headers)

    return handle


async def _run(
    service: Any, clip: Path, stretches: list[tuple[float, float]], cache: Any = None, **kw: Any
):
    # the recognizer is called from sync job code: run it the same way, in a thread
    return await asyncio.to_thread(
        lambda: asyncio.run(recognize(service, clip, stretches, cache, **kw))
    )


async def test_shazam_request_shape_and_answer(clip: Path) -> None:
    fake = FakeService(lambda r: None)
    fake.handler = shazam_handler(fake, [(200, SHAZAM_HIT)])
    async with fake:
        result = await _run(ShazamService(fake.url + "/", rate_per_s=50), clip, [(0.0, 40.0)])
    assert (
        result.failed == 0 and result.queried == len(fake.requests) == 2
    )  # 10 s windows, 30 s hop
    req = fake.requests[0]
    assert req["path"].startswith("/discovery/v5/en-US/GB/iphone/-/tag/")
    assert req["query"]["shazamapiversion"] == "v3"
    sig = req["body"]["signature"]
    assert sig["uri"].startswith("data:audio/vnd.shazam.sig;base64,")
    assert 8000 <= sig["samplems"] <= 10500
    [play] = result.plays
    assert (play.artist, play.title) == ("Fake Artist", "Gap Song")
    assert play.recognizers == {"shazam"} and play.start < 10 and play.end > 30


async def test_shazam_429_is_retried_and_no_match_is_none(clip: Path) -> None:
    fake = FakeService(lambda r: None)
    fake.handler = shazam_handler(fake, [(429, {}), (503, {}), (200, {"matches": []})])
    async with fake:
        result = await _run(
            ShazamService(fake.url, rate_per_s=50), clip, [(0.0, 12.0)], backoff_s=0.05
        )
    assert len(fake.requests) == 3 and result.failed == 0
    assert result.plays == [] and result.queried == 1


async def test_timeout_is_a_miss_not_a_crash(clip: Path) -> None:
    fake = FakeService(lambda r: None)
    fake.handler = shazam_handler(fake, [("sleep", 3.0)])
    async with fake:
        t0 = time.perf_counter()
        result = await _run(
            ShazamService(fake.url, rate_per_s=50), clip, [(0.0, 40.0)], timeout_s=0.5
        )
        took = time.perf_counter() - t0
    assert result.plays == [] and result.failed == 2
    assert any("no answer" in n for n in result.notes)
    assert took < 2.5


async def test_unreachable_service_is_a_miss(clip: Path) -> None:
    result = await _run(
        ShazamService("http://127.0.0.1:9", rate_per_s=50),
        clip,
        [(0.0, 12.0)],
        backoff_s=0.01,
        attempts=2,
    )
    assert result.failed == 1 and result.plays == []


async def test_rate_limiter_spaces_requests(clip: Path) -> None:
    fake = FakeService(lambda r: None)
    fake.handler = shazam_handler(fake, [(200, {"matches": []})])
    async with fake:
        t0 = time.perf_counter()
        service = ShazamService(fake.url, rate_per_s=4)
        service.window_s, service.hop_s = 3.0, 3.0
        await _run(service, clip, [(0.0, 30.0)])  # 10 windows at 4 per second
        took = time.perf_counter() - t0
    assert len(fake.requests) == 10 and took >= 1.5


async def test_audd_token_form_cache_and_refusal(clip: Path, settings) -> None:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        seen.append(
            {"token": form["api_token"], "size": len(upload.file.read()), "name": upload.filename}
        )
        if form["api_token"] != "good":
            return web.json_response(
                {
                    "status": "error",
                    "error": {
                        "error_code": 900,
                        "error_message": "Recognition failed: authorization failed",
                    },
                }
            )
        if len(seen) == 1:
            return web.json_response({}, status=429, headers={"Retry-After": "0"})
        return web.json_response(
            {
                "status": "success",
                "result": {"artist": "Audd Artist", "title": "Audd Song", "timecode": "00:41"},
            }
        )

    cache = LibraryStore(settings.database_url)
    async with FakeService(handle) as fake:
        service = AudDService(fake.url + "/", "good", rate_per_s=50)
        first = await _run(service, clip, [(0.0, 40.0)], cache, backoff_s=0.01)
        asked = len(seen)
        second = await _run(service, clip, [(0.0, 40.0)], cache)
        refused = await _run(
            AudDService(fake.url + "/", "bad", rate_per_s=50), clip, [(0.0, 12.0)], None
        )
    assert seen[0]["token"] == "good" and seen[0]["size"] > 1000 and seen[0]["name"] == "window.ogg"
    assert first.queried == 1 and asked == 2  # 429 then the answer
    assert [(p.artist, p.title) for p in first.plays] == [("Audd Artist", "Audd Song")]
    assert second.cached == 1 and second.queried == 0
    assert len(seen) == asked + 1  # only the refused call reached the server again
    assert [(p.artist, p.title) for p in second.plays] == [("Audd Artist", "Audd Song")]
    assert refused.plays == [] and any("authorization failed" in n for n in refused.notes)


async def test_job_merges_shazam_into_unknown_stretches(
    library_home: Path, synth_mix, tmp_path: Path
) -> None:
    """Local plays stay; only the unindexed stretches are sent to Shazam, which names them."""
    from core.identify.job import identify_job
    from core.jobs import run_in_process
    from core.settings import load_settings

    mix, truth = synth_mix
    fake = FakeService(lambda r: None)
    fake.handler = shazam_handler(fake, [(200, SHAZAM_HIT)])
    async with fake:
        settings = load_settings(home=library_home, shazam_url=fake.url)
        out = await asyncio.to_thread(
            run_in_process,
            identify_job,
            {"source": str(mix), "recognizers": ["local", "shazam"]},
            tmp_path,
            settings,
        )
    tracks = out.result["tracks"]
    unknown_truth = [t for t in truth if not t["known"]]
    assert 1 <= len(fake.requests) <= 2 * len(unknown_truth) + 2
    for t in unknown_truth:
        middle = (t["start"] + t["end"]) / 2
        entry = next(r for r in tracks if r["start"] <= middle <= r["end"])
        assert entry["title"] == "Gap Song" and entry["recognizer"] == "shazam", [
            (r["start"], r["end"], r["title"], r["recognizer"]) for r in tracks
        ]
    local = [r for r in tracks if r["recognizer"] == "local"]
    assert len(local) == sum(t["known"] for t in truth)


async def test_fake_server_helper_cleans_up() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async with FakeService(ok) as fake:
        url = fake.url
    import aiohttp

    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(url)


def test_answers_far_apart_are_separate_plays() -> None:
    from core.identify.online import Answer, group_answers

    planned = [(10.0, 10.0), (40.0, 10.0), (300.0, 10.0)]
    same = Answer("A", "T")
    plays = group_answers("shazam", planned, {10.0: same, 40.0: same, 300.0: same}, 30.0)
    assert [(p.start, p.end) for p in plays] == [(10.0, 50.0), (300.0, 310.0)]
