"""Slash commands that run real jobs: deferral, throttled progress, embeds, files vs links."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.discord.fake_discord import CHANNEL_ID, FakeDiscord, option
from tests.telegram.stack import file_server, indexed_mix_site, long_mix, write_song


@pytest.fixture
def mix_folder(tmp_path: Path, home: Path) -> Path:
    return indexed_mix_site(tmp_path, home)


def final_of(fake: FakeDiscord, payload: dict):
    original = fake.original(payload)
    return (
        original
        if original is not None
        and (original.embeds or original.files or "Stems (" in original.content)
        else None
    )


@pytest.mark.slow
async def test_id_defers_edits_progress_and_shows_an_embed(
    discord_bot, fake_discord: FakeDiscord, mix_folder: Path
) -> None:
    # The job takes seconds here, not minutes: a 0.5 s interval stands in for the real 2 s.
    await discord_bot(edit_interval=0.5)
    async with file_server(mix_folder) as base:
        payload = fake_discord.interaction(
            "id", [option("source", f"{base}/mix.mp3", 3), option("recognizers", "local", 3)]
        )
        sent_at = time.monotonic()
        await fake_discord.dispatch_interaction(payload)
        final = await fake_discord.wait_for(
            lambda: final_of(fake_discord, payload), timeout=90, what="the tracklist embed"
        )
    kind, _, deferred_at = fake_discord.callbacks[0]
    assert kind == 5 and deferred_at - sent_at < 3.0
    progress = final.history[:-1]
    assert progress and progress[0].startswith("**identify**")
    assert any("%" in text for text in progress)
    progress_times = [
        r.at for r in fake_discord.requests if r.method == "PATCH" and r.path.endswith("@original")
    ][:-1]
    assert len(progress_times) >= 2
    assert np.diff(progress_times).min() >= 0.45  # throttled to the interval
    assert len(set(progress)) == len(progress)  # never the same text twice
    embed = final.embeds[0]
    assert embed["title"] == "Tracklist (1 of 2 identified)"
    assert (
        "Synth Artist 0 \\- Song 0" in embed["description"]
        or "Synth Artist 0 — Song 0" in embed["description"]
    )
    assert embed["image"]["url"] == "attachment://timeline.png"
    assert set(final.files) == {"timeline.png", "tracklist.cue", "tracklist.json"}
    assert final.files["timeline.png"].startswith(b"\x89PNG")


@pytest.mark.slow
async def test_stems_attachment_then_link_by_size(
    discord_bot, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    await discord_bot()
    song = write_song(tmp_path / "take.mp3", 6.0)
    upload = fake_discord.add_attachment("take.mp3", song.read_bytes())
    big = fake_discord.interaction(
        "stems", [option("file", upload["id"], 11)], attachments=[upload]
    )
    await fake_discord.dispatch_interaction(big)
    final = await fake_discord.wait_for(
        lambda: final_of(fake_discord, big), timeout=120, what="the stems reply"
    )
    (zip_name,) = [n for n in final.files if n.endswith(".zip")]
    members = zipfile.ZipFile(io.BytesIO(final.files[zip_name])).namelist()
    assert any("vocals" in m for m in members)
    zip_size = len(final.files[zip_name])

    # The same job again (dedupe) from a server whose upload limit is below the zip.
    small = fake_discord.interaction(
        "stems", [option("file", upload["id"], 11)], attachments=[upload], size_limit=zip_size - 1
    )
    await fake_discord.dispatch_interaction(small)
    linked = await fake_discord.wait_for(
        lambda: final_of(fake_discord, small), timeout=120, what="the linked reply"
    )
    assert not any(n.endswith(".zip") for n in linked.files)
    assert f"{zip_name} (" in linked.content and "upload limit" in linked.content
    assert "http://127.0.0.1:9/dl/" in linked.content


async def test_oversized_attachment_is_refused(discord_bot, fake_discord: FakeDiscord) -> None:
    await discord_bot(max_download_mb=0.001)
    upload = fake_discord.add_attachment("mix.wav", b"\0" * 4096)
    payload = fake_discord.interaction(
        "id", [option("file", upload["id"], 11)], attachments=[upload]
    )
    await fake_discord.dispatch_interaction(payload)
    original = await fake_discord.wait_for(
        lambda: (m := fake_discord.original(payload)) and m.content and m, what="refusal"
    )
    assert "mix.wav is 0.0 MB" in original.content and "accepts files up to" in original.content


@pytest.mark.slow
async def test_after_the_token_window_it_continues_in_the_channel(
    discord_bot, fake_discord: FakeDiscord, mix_folder: Path
) -> None:
    # A 1-second window stands in for Discord's 15 minutes; the job outlasts it.
    long = long_mix(mix_folder, 15)
    await discord_bot(edit_interval=0.3, token_window_s=1.0)
    async with file_server(mix_folder) as base:
        payload = fake_discord.interaction(
            "id",
            [option("source", f"{base}/{long}", 3), option("recognizers", "local", 3)],
            user_id=4242,
        )
        await fake_discord.dispatch_interaction(payload)
        posted = await fake_discord.wait_for(
            lambda: [m for m in fake_discord.channel_messages.values() if m.embeds],
            timeout=90,
            what="the result in the channel",
        )
    window_end = fake_discord.callbacks[0][2] + 1.0
    late_edits = [
        r
        for r in fake_discord.requests
        if r.method == "PATCH" and r.path.endswith("@original") and r.at > window_end + 0.5
    ]
    assert not late_edits  # the expired token was not used
    assert posted[0].channel_id == CHANNEL_ID
    assert posted[0].content.startswith("<@4242>")
    assert posted[0].embeds[0]["title"].startswith("Tracklist")
    assert "timeline.png" in posted[0].files


@pytest.mark.slow
async def test_stopping_lets_go_of_running_jobs(
    discord_bot, fake_discord: FakeDiscord, mix_folder: Path
) -> None:
    long = long_mix(mix_folder, 60)  # still running when the front-end stops
    layer = await discord_bot(edit_interval=0.3)
    async with file_server(mix_folder) as base:
        payload = fake_discord.interaction(
            "id", [option("source", f"{base}/{long}", 3), option("recognizers", "local", 3)]
        )
        await fake_discord.dispatch_interaction(payload)
        await fake_discord.wait_for(
            lambda: (m := fake_discord.original(payload)) and "identify" in m.content,
            what="progress",
        )
        discord_bot.stop.set()
        await asyncio.wait_for(discord_bot.tasks[0], 10)
        (job,) = await layer.repo.list(limit=5)
    assert job.state in ("queued", "running")
    assert "CrateBot is restarting; the job continues" in fake_discord.original(payload).content
