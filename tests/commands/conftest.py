"""A real runner on real SQLite, a command layer on it, and synthetic audio to feed it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bot.commands import CommandContext, Progress, Reply
from bot.commands.layer import CommandLayer
from core.jobs.kinds import JobKind, builtin_kinds
from core.jobs.runner import JobRunner
from core.settings import Settings, load_settings
from storage.db import open_database

SLOW_STEMS = JobKind(
    "stems", "tests.commands.jobfuncs:slow_stems_job", concurrency=2, timeout_s=60, max_attempts=1
)


def tone_file(path: Path, seconds: float = 3.0, freq: float = 440.0) -> Path:
    sr = 22050
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)
    return path


def ctx(
    platform: str = "telegram",
    user: str = "u1",
    chat: str = "c1",
    admin: bool = False,
    attachments: tuple[Path, ...] = (),
    **kw: object,
) -> CommandContext:
    return CommandContext(
        platform=platform,
        user_id=user,
        chat_id=chat,
        is_admin=admin,
        display_name=user,
        attachments=attachments,
        **kw,
    )  # type: ignore[arg-type]


async def collect(
    layer: CommandLayer, context: CommandContext, command: object
) -> tuple[list[Progress], Reply]:
    progress: list[Progress] = []
    replies: list[Reply] = []
    async for update in layer.handle(context, command):  # type: ignore[arg-type]
        assert not replies, "nothing may follow the Reply"
        if isinstance(update, Progress):
            progress.append(update)
        else:
            replies.append(update)
    assert len(replies) == 1
    return progress, replies[0]


async def make_layer(
    settings: Settings, kinds: dict[str, JobKind] | None = None
) -> AsyncIterator[CommandLayer]:
    settings.ensure_dirs()
    db = await open_database(settings.database_url)
    runner = JobRunner(
        settings,
        db,
        kinds or builtin_kinds(settings),
        poll_interval_s=0.05,
        heartbeat_s=0.2,
        progress_persist_s=0.1,
    )
    await runner.start()
    try:
        yield CommandLayer(settings, runner, db)
    finally:
        await runner.stop()
        await db.dispose()


@pytest.fixture
def make_settings(home: Path):
    def build(**overrides: object) -> Settings:
        return load_settings(
            home=home, secret="test-secret", public_url="http://dl.test", **overrides
        )

    return build


@pytest.fixture
async def layer(make_settings) -> AsyncIterator[CommandLayer]:
    settings = make_settings()
    kinds = {**builtin_kinds(settings), "stems": SLOW_STEMS}
    async for item in make_layer(settings, kinds):
        yield item
