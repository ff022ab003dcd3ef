"""One terminal chat session: every line is a command, run concurrently, results copied
into ``OUT/<job id>/``; at end of input the session waits for its jobs and ends."""

from __future__ import annotations

import asyncio
import getpass
import shutil
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from bot.chat.display import Display
from bot.commands.api import CommandContext, Progress, Reply
from bot.commands.layer import CommandLayer

QUIT = {"quit", "exit", "/quit", "/exit"}


def local_context() -> CommandContext:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local"
    # The person at the terminal owns the machine: admin, and local paths are uploads.
    return CommandContext(
        platform="terminal",
        user_id=user,
        chat_id="local",
        is_admin=True,
        display_name=user,
        allow_local_paths=True,
    )


def copy_results(results_dir: Path, job_id: str, out_dir: Path) -> tuple[Path, list[Path]]:
    """Copy every published file of the job (hard links where possible) into out/job_id."""
    source = results_dir / job_id
    dest = out_dir / job_id
    copied: list[Path] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        try:
            target.hardlink_to(path)  # instant and free for multi-GB stems
        except OSError:
            shutil.copy2(path, target)
        copied.append(target)
    return dest, copied


class ChatSession:
    def __init__(
        self,
        layer: CommandLayer,
        out_dir: Path,
        display: Display,
        ctx: CommandContext | None = None,
    ) -> None:
        self.layer = layer
        self.out_dir = out_dir
        self.display = display
        self.ctx = ctx or local_context()
        self.failures = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run_command(self, text: str, accepted: asyncio.Event | None = None) -> Reply:
        """Run one command to its reply; ``accepted`` is set at its first update (a job
        queued, or an instant answer), so the next line can go while the job runs."""
        reply = Reply(text="no answer", error=True)
        try:
            async for update in self.layer.handle(self.ctx, text):
                if accepted is not None:
                    accepted.set()
                if isinstance(update, Progress):
                    self.display.progress(update)
                else:
                    reply = update
        finally:
            if accepted is not None:
                accepted.set()
        folder: Path | None = None
        copied: list[Path] = []
        if reply.job_id and not reply.error:
            folder, copied = await asyncio.to_thread(
                copy_results, self.layer.settings.results_dir, reply.job_id, self.out_dir
            )
        if reply.error:
            self.failures += 1
        self.display.reply(text, reply, folder, copied)
        return reply

    async def submit(self, text: str) -> None:
        """Start a command and return once it is accepted: lines take effect in order
        (``/pi link`` before ``/bpm``), while jobs run side by side."""
        accepted = asyncio.Event()
        task = asyncio.create_task(self.run_command(text, accepted), name=f"chat: {text[:40]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        waiter = asyncio.create_task(accepted.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def run(self, commands: AsyncIterator[str] | Iterable[str]) -> int:
        """Run every command line; returns 0 when all succeeded, else 1."""
        if isinstance(commands, AsyncIterator):
            async for line in commands:
                if not await self._accept(line):
                    break
        else:
            for line in commands:
                if not await self._accept(line):
                    break
        if self._tasks:
            await asyncio.gather(*self._tasks)
        return 1 if self.failures else 0

    async def _accept(self, line: str) -> bool:
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        if text.lower() in QUIT:
            return False
        await self.submit(text)
        return True
