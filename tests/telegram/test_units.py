"""The Telegram skin's own pieces: status throttling, size limits, text splitting."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.commands.api import Progress
from bot.telegram.limits import MB, split_text, too_large_upload
from bot.telegram.status import StatusMessage, progress_line
from bot.telegram.uploads import PendingUploads, Upload, upload_name


class Recorder:
    def __init__(self) -> None:
        self.shown: list[tuple[float, str]] = []

    async def send(self, text: str) -> int:
        self.shown.append((time.monotonic(), text))
        return 1

    async def edit(self, message_id: int, text: str) -> None:
        assert message_id == 1
        self.shown.append((time.monotonic(), text))


async def test_status_edits_at_most_once_per_interval_latest_wins() -> None:
    rec = Recorder()
    status = StatusMessage(rec.send, rec.edit, min_interval=0.2)
    for i in range(30):  # a burst far faster than the interval
        await status.show(f"step {i}")
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # a quiet spell: the held latest text goes out on its own
    await status.show("step 29")  # repeated text is never re-sent
    await status.finish("done")
    texts = [t for _, t in rec.shown]
    assert texts[0] == "step 0" and texts[-1] == "done"
    assert len(texts) == len(set(texts))
    assert "step 29" in texts  # the held latest text was flushed, not dropped
    gaps = [b - a for (a, _), (b, _) in zip(rec.shown, rec.shown[1:], strict=False)]
    assert min(gaps) >= 0.19
    assert len(texts) <= 5


async def test_status_finish_with_the_shown_text_sends_nothing() -> None:
    rec = Recorder()
    status = StatusMessage(rec.send, rec.edit, min_interval=0.05)
    await status.show("same")
    await status.finish("same")
    assert [t for _, t in rec.shown] == ["same"]


def test_progress_line() -> None:
    line = progress_line(Progress("abcdef123456", "stems", 0.5, "separating 3/8"))
    assert line == "stems abcdef12 · separating 3/8 · [#####-----] 50%"
    queued = progress_line(Progress("abcdef123456", "stems", 0.0, "queued", "queued", True))
    assert queued.startswith("stems abcdef12 · queued\n(an equal job")


def test_upload_limits() -> None:
    assert too_large_upload("a.mp3", 20 * MB, False, 1024 * MB) is None
    refusal = too_large_upload("a.mp3", 20 * MB + 1, False, 1024 * MB)
    assert refusal and "at most 20.0 MB" in refusal
    assert too_large_upload("a.mp3", 500 * MB, True, 1024 * MB) is None
    capped = too_large_upload("a.mp3", 500 * MB, True, 100 * MB)
    assert capped and "up to 100.0 MB" in capped


def test_split_text_respects_the_limit() -> None:
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(200)) + "\n" + "y" * 9000
    parts = split_text(text, 4096)
    assert all(0 < len(p) <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_names_and_pending_tokens() -> None:
    # The one sanitiser (storage.files.safe_name) names Telegram uploads too.
    assert upload_name("../../etc/passwd") == "passwd"
    assert upload_name("my mix (live).mp3") == "my mix (live).mp3"
    assert upload_name("a\\b:c*?.mp3") == "b_c_.mp3"
    assert upload_name("...") == "upload.bin"
    pending = PendingUploads(capacity=2)
    uploads = [Upload(1, 1, i, f"f{i}", f"u{i}", "a.mp3", 10) for i in range(3)]
    tokens = [pending.add(u) for u in uploads]
    assert all(len(f"stems:{t}".encode()) <= 64 for t in tokens)  # callback_data limit
    assert pending.get(tokens[0]) is None  # evicted beyond capacity
    assert pending.get(tokens[2]) == uploads[2]


def test_missing_token_is_a_clear_error(settings) -> None:
    from bot.telegram.frontend import build_application
    from core.errors import NotAvailable

    with pytest.raises(NotAvailable, match="CRATEBOT_TELEGRAM_TOKEN"):
        build_application(settings, object())


async def test_results_over_50_mb_become_links(settings, tmp_path) -> None:
    from telegram import Bot

    from bot.commands.api import Reply, ResultFile
    from bot.telegram.skin import TelegramSkin
    from tests.telegram.fake_bot_api import FakeBotApi
    from tests.telegram.stack import command_layer

    api = FakeBotApi("1:T")
    await api.start()
    try:
        small = tmp_path / "stems.zip"
        small.write_bytes(b"PK small")
        huge = tmp_path / "stems_wav.zip"
        huge.write_bytes(b"PK")  # the size Telegram would see is the one the reply states
        reply = Reply(
            text="2 files",
            title="Stems",
            job_id="job1",
            files=(
                ResultFile("job1", "stems.zip", small, small.stat().st_size),
                ResultFile("job1", "stems_wav.zip", huge, 60 * MB),
            ),
        )
        async with command_layer(settings) as layer, Bot("1:T", base_url=api.base_url) as bot:
            skin = TelegramSkin(settings, layer)
            await skin._deliver(bot, 42, reply, skin._status(bot, 42, None), 0)
    finally:
        await api.stop()
    (text,) = [m.text for m in api.chat_messages(42) if m.text]
    assert text.startswith("Stems\n2 files")
    assert "stems_wav.zip (60.0 MB, too large for Telegram): http://" in text
    assert "/dl/" in text  # a signed download link from the layer
    assert [c.files["document"][0] for c in api.calls_of("sendDocument")] == ["stems.zip"]
