"""Job commands through the layer, on a real runner with real SQLite and worker processes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import soundfile as sf

from bot.commands import Command
from bot.commands.keys import link_key
from bot.commands.links import verify
from core.jobs.kinds import JobKind, builtin_kinds
from tests.commands.conftest import collect, ctx, make_layer, tone_file
from tests.identify.synth import SR, write_songs


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_songs(tmp_path_factory.mktemp("songs"), 2, seconds=30.0)


@pytest.mark.slow
async def test_identify_upload_end_to_end(make_settings, songs: list[Path], tmp_path: Path) -> None:
    """An uploaded mix of two indexed songs comes back as their tracklist with files."""
    from core.identify.library import index_paths

    settings = make_settings()
    await asyncio.to_thread(index_paths, settings, songs)
    mix = np.concatenate([sf.read(p, dtype="float32")[0][: 28 * SR] for p in songs])
    upload = tmp_path / "upload.flac"
    sf.write(upload, mix, SR)
    async for layer in make_layer(settings):
        saved = layer.upload_path(ctx(), "../../My Mix?.flac")
        assert saved.parent.parent == layer.uploads_dir and saved.name == "My_Mix_.flac"
        saved.write_bytes(upload.read_bytes())
        user = ctx(attachments=(saved,))
        progress, reply = await collect(layer, user, "/id recognizers=local")

        assert not reply.error, reply.text
        assert progress and progress[0].job_id == reply.job_id and not progress[0].reused
        assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)
        titles = [t.title for t in reply.tracks if t.title]
        assert titles == ["Song 0", "Song 1"], reply.tracks
        assert reply.tracks[1].start_s == pytest.approx(28.0, abs=3.0)
        assert "Synth Artist 0 — Song 0" in reply.text and reply.title.startswith("Tracklist")
        assert [f.name for f in reply.images] == ["timeline.png"]
        assert reply.images[0].path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert {f.name for f in reply.files} == {"tracklist.cue", "tracklist.json"}
        for item in (*reply.files, *reply.images):
            assert item.size_bytes == item.path.stat().st_size > 0
            assert item.path.parent == settings.results_dir / reply.job_id
            url = urlsplit(item.url)
            assert f"{url.scheme}://{url.netloc}" == "http://dl.test"
            query = parse_qs(url.query)
            verify(link_key(settings), reply.job_id, item.name, query["exp"][0], query["sig"][0])

        # The same upload again is the same job, answered at once from its results.
        again = layer.upload_path(ctx(), "copy.flac")
        again.write_bytes(upload.read_bytes())
        progress2, reply2 = await collect(
            layer, ctx(user="u2", attachments=(again,)), Command("id", {"recognizers": "local"})
        )
        assert reply2.job_id == reply.job_id and progress2[0].reused
        assert reply2.reused and not reply.reused
        assert "earlier result for the same input" in reply2.text
        assert [t.title for t in reply2.tracks] == [t.title for t in reply.tracks]


async def test_sources_are_checked_before_queueing(layer, tmp_path: Path) -> None:
    song = tone_file(tmp_path / "song.wav")
    # A chat user may not make the bot read files on its host ...
    _, reply = await collect(layer, ctx(), f"/stems {song}")
    assert reply.error and "not a link" in reply.text
    # ... the terminal may; a missing file or a non-audio upload is refused up front.
    _, reply = await collect(
        layer, ctx("terminal", allow_local_paths=True), f"/stems {tmp_path / 'nope.wav'}"
    )
    assert reply.error and "no such file" in reply.text
    junk = tmp_path / "notes.mp3"
    junk.write_text("not audio at all")
    _, reply = await collect(layer, ctx(attachments=(junk,)), "/stems")
    assert reply.error and "notes.mp3" in reply.text
    _, reply = await collect(layer, ctx(), "/stems")
    assert reply.error and "attach an audio file" in reply.text
    _, reply = await collect(layer, ctx(), "/stems ftp://example.com/a.mp3")
    assert reply.error and "only http and https" in reply.text
    _, reply = await collect(layer, ctx(), "/stems https://127.0.0.1/a.mp3")
    assert reply.error and "127.0.0.1" in reply.text
    _, reply = await collect(layer, ctx(attachments=(song,)), "/stems minus=kazoo")
    assert reply.error and "choose one of vocals" in reply.text
    _, reply = await collect(layer, ctx(attachments=(song,)), "/sections")
    assert reply.error and "bpm is missing" in reply.text
    assert await layer.repo.list() == []  # nothing was queued


async def test_stems_progress_files_and_jobs_listing(layer, tmp_path: Path) -> None:
    song = tone_file(tmp_path / "song.wav")
    user = ctx("terminal", allow_local_paths=True)
    progress, reply = await collect(layer, user, f"/stems {song} wav vocals")
    assert not reply.error, reply.text
    assert progress[0].state in ("queued", "running")
    assert any(p.text.startswith("separating") for p in progress)
    assert [f.name for f in reply.files] == ["stems.zip"]
    assert [link.label for link in reply.links] == ["vocals.txt", "Result page"]
    assert f"/p/{reply.job_id}?exp=" in reply.links[-1].url
    job = await layer.repo.get(reply.job_id)
    assert job.params == {"source": str(song), "format": "wav", "minus": "vocals"}
    _, listing = await collect(layer, user, "/jobs")
    assert reply.job_id in listing.text and "succeeded" in listing.text
    _, other = await collect(layer, ctx("terminal", user="someone-else"), "/jobs")
    assert reply.job_id not in other.text


async def test_cancel_only_by_owner(layer, tmp_path: Path) -> None:
    song = tone_file(tmp_path / "song.wav")
    owner = ctx(attachments=(song,))
    stream = layer.handle(owner, "/stems")
    first = await anext(stream)
    job_id = first.job_id
    _, refused = await collect(layer, ctx(user="intruder", admin=True), f"/cancel {job_id}")
    assert refused.error and "not yours" in refused.text
    _, done = await collect(layer, owner, f"/cancel {job_id}")
    assert not done.error and job_id in done.text
    rest = [update async for update in stream]
    assert rest[-1].error and "cancelled" in rest[-1].text
    _, again = await collect(layer, owner, f"/cancel {job_id}")
    assert again.error and "already cancelled" in again.text
    _, unknown = await collect(layer, owner, "/cancel nosuchjob")
    assert unknown.error and "no job" in unknown.text


async def test_quotas(make_settings, tmp_path: Path) -> None:
    settings = make_settings(max_queued_jobs_per_owner=1, max_jobs_per_day_per_owner=2)
    kinds = {
        **builtin_kinds(settings),
        "stems": JobKind(
            "stems",
            "tests.commands.jobfuncs:slow_stems_job",
            concurrency=1,
            timeout_s=60,
            max_attempts=1,
        ),
    }
    songs = [tone_file(tmp_path / f"s{i}.wav", freq=300 + 50 * i) for i in range(3)]
    async for layer in make_layer(settings, kinds):
        first = layer.handle(ctx(attachments=(songs[0],)), "/stems")
        job_id = (await anext(first)).job_id
        _, busy = await collect(layer, ctx(attachments=(songs[1],)), "/stems")
        assert busy.error and "unfinished jobs" in busy.text
        await collect(layer, ctx(), f"/cancel {job_id}")
        assert [u async for u in first][-1].error  # the cancelled job has ended
        second = layer.handle(ctx(attachments=(songs[1],)), "/stems")
        second_id = (await anext(second)).job_id
        await second.aclose()  # leaving the stream does not cancel the job
        assert (await layer.runner.get(second_id)).state in ("queued", "running")
        _, daily = await collect(layer, ctx(attachments=(songs[2],)), "/stems")
        assert daily.error and "last 24 hours" in daily.text
        # another user has their own quota
        other = layer.handle(ctx(user="u9", attachments=(songs[2],)), "/stems")
        assert (await anext(other)).state in ("queued", "running")
        await other.aclose()


async def test_missing_pipeline_is_not_available(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    kinds = {
        **builtin_kinds(settings),
        "sections": JobKind("sections", "core.not_landed_yet.job:sections_job"),
    }
    async for layer in make_layer(settings, kinds):
        _, reply = await collect(layer, ctx(), "/sections https://example.com/a.mp3 bpm=124")
        assert reply.error and "not available" in reply.text


async def test_follow_and_shutdown(layer, tmp_path: Path) -> None:
    song = tone_file(tmp_path / "song.wav")
    stream = layer.handle(ctx(attachments=(song,)), "/stems")
    job_id = (await anext(stream)).job_id
    await stream.aclose()
    _, stranger = await collect_follow(layer, ctx(user="x"), job_id)
    assert stranger.error and "not yours" in stranger.text
    progress, reply = await collect_follow(layer, ctx(), job_id)
    assert progress[0].reused and reply.job_id == job_id and not reply.error
    layer.stop_accepting()
    _, closed = await collect(layer, ctx(), "/help")
    assert closed.error and "shutting down" in closed.text


async def collect_follow(layer, context, job_id):
    updates = [u async for u in layer.follow(context, job_id)]
    return updates[:-1], updates[-1]
