"""Crates from Telegram: an upload captioned /crate add, then /crate list and /id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import file_server

CHAT = -100777
USER = 7001


@pytest.mark.slow
async def test_upload_to_crate_then_id_finds_it(
    telegram_bot, fake_api: FakeBotApi, tmp_path: Path
) -> None:
    from tests.identify.synth import write_songs

    await telegram_bot(identify_recognizers="local")
    song, other = write_songs(tmp_path / "songs", 2, seconds=30.0)
    stored = fake_api.add_file(song.read_bytes(), song.name)
    fake_api.send_audio(
        CHAT, USER, stored, as_document=True, mime_type="audio/flac", caption="/crate add"
    )
    added = await fake_api.wait_for(
        lambda: [
            m for m in fake_api.chat_messages(CHAT) if "the crate now holds" in (m.text or "")
        ],
        timeout=120,
        what="the crate reply",
    )
    assert "added Synth Artist 0 — Song 0" in added[0].text
    assert "1 track(s)" in added[0].text

    fake_api.send_text(CHAT, USER, "/crate list")
    listed = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT) if (m.text or "").startswith("Crate (1")],
        what="the crate list",
    )
    assert "1. Synth Artist 0 — Song 0" in listed[0].text

    # A mix of that song and an unknown one, identified in this chat: found in its crate.
    mix = np.concatenate([sf.read(p, dtype="float32")[0] for p in (song, other)])
    www = tmp_path / "www"
    www.mkdir()
    sf.write(www / "mix.wav", mix, 44100)
    async with file_server(www) as base:
        fake_api.send_text(CHAT, USER, f"/id {base}/mix.wav local")
        done = await fake_api.wait_for(
            lambda: [m for m in fake_api.chat_messages(CHAT) if "Tracklist" in (m.text or "")],
            timeout=120,
            what="the tracklist",
        )
    final = done[0].history[-1]
    assert "00:00  Synth Artist 0 — Song 0  (crate)" in final

    # Another chat has its own (empty) crate.
    fake_api.send_text(CHAT - 1, USER, "/crate list")
    empty = await fake_api.wait_for(
        lambda: [m for m in fake_api.chat_messages(CHAT - 1) if "crate is empty" in (m.text or "")],
        what="the other chat's crate",
    )
    assert empty
