"""Commands that run real jobs, driven through the real Application and a fake Bot API."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import file_server, indexed_mix_site, long_mix, write_song

CHAT = 6001
USER = 6001


@pytest.fixture
def mix_folder(tmp_path: Path, home: Path) -> Path:
    return indexed_mix_site(tmp_path, home)


@pytest.mark.slow
async def test_id_link_progress_and_tracklist(
    telegram_bot, fake_api: FakeBotApi, mix_folder: Path
) -> None:
    long = long_mix(mix_folder, 15)  # a job of seconds: progress edits to see
    await telegram_bot()
    async with file_server(mix_folder) as base:
        fake_api.send_text(CHAT, USER, f"/id {base}/{long} local")
        done = await fake_api.wait_for(
            lambda: [m for m in fake_api.chat_messages(CHAT) if "Tracklist" in (m.text or "")],
            timeout=90,
            what="the tracklist",
        )
    status = done[0]
    # One status message, edited: queued -> progress ... -> the tracklist.
    assert "queued" in status.history[0] or "%" in status.history[0]
    assert len(status.history) >= 3, status.history
    assert any("%" in text for text in status.history[1:-1])
    final = status.history[-1]
    assert final.startswith("Tracklist (1 of 2 identified)")
    assert "00:00  Synth Artist 0 — Song 0" in final and "unknown" in final
    # Never more than one edit a second, never an edit that changes nothing.
    gaps = np.diff(status.edit_times)
    assert gaps.min() >= 0.95, gaps
    assert ("editMessageText", 400) not in fake_api.errors_served
    # (A text may come back later, e.g. a second download pass; never twice in a row.)
    assert all(a != b for a, b in zip(status.history, status.history[1:], strict=False))
    # The timeline as a photo, the CUE sheet and JSON as documents.
    await fake_api.wait_for(lambda: len(fake_api.calls_of("sendDocument")) >= 2, what="docs")
    photos = fake_api.calls_of("sendPhoto")
    assert len(photos) == 1 and photos[0].files["photo"][1].startswith(b"\x89PNG")
    names = {c.files["document"][0] for c in fake_api.calls_of("sendDocument")}
    assert names == {"tracklist.cue", "tracklist.json"}
    cue = next(
        c for c in fake_api.calls_of("sendDocument") if c.files["document"][0] == "tracklist.cue"
    ).files["document"][1]
    assert b"Song 0" in cue


@pytest.mark.slow
async def test_upload_keyboard_stems_document(
    telegram_bot, fake_api: FakeBotApi, tmp_path: Path, home: Path
) -> None:
    await telegram_bot()
    song = write_song(tmp_path / "take.mp3", 6.0)
    stored = fake_api.add_file(song.read_bytes(), "take.mp3")
    fake_api.send_audio(CHAT, USER, stored)
    offer = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if m.reply_markup], what="keyboard"
    )
    buttons = offer[0].reply_markup["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Identify", "Stems", "Sections"]
    assert not fake_api.calls_of("getFile")  # nothing fetched before a choice
    stems = next(b for b in buttons if b["text"] == "Stems")
    fake_api.press_button(CHAT, USER, offer[0].message_id, stems["callback_data"])
    sent = await fake_api.wait_for(
        lambda: fake_api.calls_of("sendDocument"), timeout=120, what="the stems document"
    )
    assert fake_api.callback_answers  # the button stopped spinning
    name, data = sent[0].files["document"]
    assert name.endswith(".zip")
    members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    for stem in ("vocals", "drums", "bass", "other"):
        assert any(stem in m for m in members), members
    assert offer[0].text == "Stems: take.mp3"  # the keyboard made way for the choice
    assert fake_api.calls_of("getFile")
    status = next(m for m in fake_api.chat_messages(CHAT) if "Stems (" in (m.text or ""))
    assert "Fetching take.mp3" in status.history[0]
    # The downloaded copy is removed once the job is over.
    await fake_api.wait_for(
        lambda: not any((home / "uploads").glob("*/take.mp3")), what="the upload to be cleaned up"
    )


@pytest.mark.slow
async def test_sections_button_asks_for_the_bpm(
    telegram_bot, fake_api: FakeBotApi, tmp_path: Path
) -> None:
    from tests.analysis.synth import make_track

    await telegram_bot()
    # A drum-and-chords loop at a known 128 BPM (a tone with noise has no tempo to find).
    song = make_track(tmp_path / "loop.wav", bpm=128.0, bars=12, intro_bars=2, outro_bars=2)
    stored = fake_api.add_file(song.read_bytes(), "loop.wav")
    fake_api.send_audio(CHAT, USER, stored, as_document=True, mime_type="audio/wav")
    offer = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if m.reply_markup], what="keyboard"
    )
    sections = offer[0].reply_markup["inline_keyboard"][0][2]
    fake_api.press_button(CHAT, USER, offer[0].message_id, sections["callback_data"])
    prompt = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if "reply with the BPM" in (m.text or "")],
        what="the BPM prompt",
    )
    assert prompt[0].reply_markup["force_reply"] is True
    # A window of 128 +- 3 takes it, in 2-bar sections.
    fake_api.send_reply(CHAT, USER, prompt[0].message_id, "128 delta=3 bars=2")
    final = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if "section(s) at" in (m.text or "")],
        timeout=60,
        what="the sections answer",
    )
    assert final[0].history[0] == "Fetching loop.wav from Telegram..."
    assert "loop.wav: 128" in final[0].text
    documents = await fake_api.wait_for(
        lambda: fake_api.calls_of("sendDocument"), what="the sections zip"
    )
    assert documents[0].files["document"][0].endswith(".zip")


@pytest.mark.slow
async def test_stopping_lets_go_of_running_jobs(
    telegram_bot, fake_api: FakeBotApi, mix_folder: Path
) -> None:
    long = long_mix(mix_folder, 60)  # still running when the front-end stops
    layer = await telegram_bot()
    async with file_server(mix_folder) as base:
        fake_api.send_text(CHAT, USER, f"/id {base}/{long} local")
        status = await fake_api.wait_for(
            lambda: [m for m in fake_api.chat_messages(CHAT) if "identify" in (m.text or "")],
            what="the status message",
        )
        telegram_bot.stop.set()
        await asyncio.wait_for(telegram_bot.tasks[0], 10)  # returns promptly
        (job,) = await layer.repo.list(limit=5)
    assert job.state in ("queued", "running")  # not cancelled: the runner keeps it
    assert "CrateBot is restarting; the job continues" in status[0].text
