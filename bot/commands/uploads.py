"""The life of a command's uploaded files, the same for every chat front-end.

A front-end saves each upload through :meth:`CommandUploads.save` (a fresh folder
under the layer's uploads folder, a sanitised name), runs the command with
:meth:`CommandUploads.context` (the files as attachments) and calls
:meth:`CommandUploads.done` when the command's job is over (or never started): then
nothing reads the copies any more. A command left early (shutdown) keeps its files
for the job; the layer's upload sweep removes them after the retention period.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.commands.api import CommandContext, CommandLayerAPI

# Fetches an upload to the given path and returns where it landed.
Fetch = Callable[[Path], Awaitable[Path]]


class CommandUploads:
    def __init__(self, layer: CommandLayerAPI, ctx: CommandContext) -> None:
        self.layer = layer
        self.ctx = ctx
        self.paths: list[Path] = []

    async def save(self, filename: str, fetch: Fetch) -> Path:
        """Save one upload; a failed fetch leaves nothing behind and raises."""
        target = self.layer.upload_path(self.ctx, filename)
        try:
            path = await fetch(target)
        except BaseException:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise
        self.paths.append(path)
        return path

    def context(self) -> CommandContext:
        """The command's context with the saved files as its attachments."""
        if not self.paths:
            return self.ctx
        return dataclasses.replace(self.ctx, attachments=tuple(self.paths))

    def done(self) -> None:
        """The command is over: remove the saved copies and their folders."""
        for path in self.paths:
            shutil.rmtree(path.parent, ignore_errors=True)
        self.paths.clear()
