"""The command layer: one implementation of every command for every front-end.

A request's path: ``handle`` parses text (:mod:`bot.commands.parse`) or takes a
structured :class:`Command`, looks its :class:`~bot.commands.define.CommandDef` up in
:mod:`bot.commands.defs`, checks permission, binds and validates the arguments
(:func:`~bot.commands.define.bind`), then either runs the instant command's ``run`` or
submits the job to the runner and streams its progress until the command's renderer
turns the finished job into the :class:`Reply`.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.commands import validate as v
from bot.commands.api import (
    Command,
    CommandContext,
    CommandSpec,
    Link,
    Progress,
    Reply,
    Update,
)
from bot.commands.define import CommandDef, Option, bind, job_params
from bot.commands.defs import BY_NAME, COMMANDS, WORDS
from bot.commands.job_commands import own_job
from bot.commands.keys import link_key, token_cipher
from bot.commands.links import sign_page, sign_path
from bot.commands.parse import parse
from bot.commands.pi import PiCommands
from bot.commands.render import Renderer, render
from bot.commands.sources import resolve
from bot.commands.specs import SPECS, help_text
from core.errors import BadInput, CrateBotError, new_error_id, unexpected_error_message
from core.jobs.runner import JobRunner, OwnerRef
from core.jobs.types import JobState
from core.settings import Settings
from storage.db import Database
from storage.files import safe_name
from storage.jobs_repo import JobRepository
from storage.pi_links import PiLinkStore

log = logging.getLogger("cratebot.commands")

UPLOADS = "uploads"
_UPLOAD_SWEEP_S = 3600.0


class CommandLayer:
    """See :class:`bot.commands.api.CommandLayerAPI` for the contract."""

    specs: tuple[CommandSpec, ...] = SPECS
    commands: tuple[CommandDef, ...] = COMMANDS

    def __init__(
        self, settings: Settings, runner: JobRunner, db: Database, *, links: bool = True
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.db = db
        self.repo = JobRepository(db)
        self.pi = PiCommands(PiLinkStore(db, token_cipher(settings)), settings.pi_timeout_s)
        self._link_key = link_key(settings)
        self._links = links
        self._accepting = True
        self._last_upload_sweep = 0.0
        self.uploads_dir = Path(settings.home) / UPLOADS
        self._renderers: dict[str, Renderer] = {
            c.job_kind: c.render for c in COMMANDS if c.job_kind and c.render
        }

    # -- small public helpers -------------------------------------------------------
    def parse(self, text: str) -> Command:
        return parse(text, WORDS)

    def help_text(self, topic: str | None = None) -> str:
        return help_text(topic)

    def stop_accepting(self) -> None:
        """From now on every command answers that the bot is shutting down."""
        self._accepting = False

    def is_admin(self, ctx: CommandContext) -> bool:
        if ctx.is_admin or self.configured_admin(ctx):
            return True
        roles = {r.lower() for r in self.settings.admin_roles}
        return any(role.lower() in roles for role in ctx.roles)

    def configured_admin(self, ctx: CommandContext) -> bool:
        ids = set(self.settings.admin_user_ids)
        return ctx.user_id in ids or f"{ctx.platform}:{ctx.user_id}" in ids

    def page_for(self, job_id: str) -> str:
        """The signed link of a job's result page (served by ``cratebot serve``)."""
        ttl = self.settings.link_ttl_s
        return self.settings.public_url.rstrip("/") + sign_page(self._link_key, job_id, ttl)

    def link_for(self, job_id: str, name: str, ttl_s: float | None = None) -> str:
        ttl = self.settings.link_ttl_s if ttl_s is None else ttl_s
        return self.settings.public_url.rstrip("/") + sign_path(self._link_key, job_id, name, ttl)

    def _url_for(self, job_id: str, name: str) -> str | None:
        return self.link_for(job_id, name) if self._links else None

    def upload_path(self, ctx: CommandContext, filename: str) -> Path:
        self._sweep_uploads()
        name = safe_name(filename, "upload", spaces=False)
        folder = self.uploads_dir / f"{safe_name(ctx.platform, 'chat')}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def _sweep_uploads(self) -> None:
        now = time.time()
        if now - self._last_upload_sweep < _UPLOAD_SWEEP_S or not self.uploads_dir.is_dir():
            return
        self._last_upload_sweep = now
        horizon = now - self.settings.result_retention_days * 86400
        for folder in self.uploads_dir.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < horizon:
                shutil.rmtree(folder, ignore_errors=True)

    # -- entry points ---------------------------------------------------------------
    async def handle(self, ctx: CommandContext, command: str | Command) -> AsyncIterator[Update]:
        try:
            if not self._accepting:
                raise CrateBotError("CrateBot is shutting down; try again in a minute")
            cmd = command if isinstance(command, Command) else self.parse(command)
            definition = BY_NAME.get(cmd.name)
            if definition is None:
                raise BadInput(f"unknown command {cmd.name!r}; try /help")
            if definition.admin_only and not self.is_admin(ctx):
                raise CrateBotError(f"only admins of this server or chat can use {definition.text}")
            if definition.job_kind is not None:
                async for update in self._job(ctx, cmd, definition):
                    yield update
                return
            assert definition.run is not None
            args = await bind(definition, cmd.args, self._no_sources)
            yield await definition.run(self, ctx, args)
        except CrateBotError as exc:
            # A refused /pi link still carried a token: the front-end should delete it too.
            yield Reply(text=str(exc), error=True, sensitive_input=_holds_token(command))
        except Exception:  # noqa: BLE001 - no traceback reaches a chat: an id, the trace logged
            error_id = new_error_id()
            log.exception("error id %s: command %r failed", error_id, _loggable(command))
            yield Reply(
                text=unexpected_error_message(error_id),
                error=True,
                sensitive_input=_holds_token(command),
            )

    async def follow(self, ctx: CommandContext, job_id: str) -> AsyncIterator[Update]:
        try:
            await own_job(self, ctx, job_id)
            async for update in self._stream(job_id, reused=True, mark_reused=False):
                yield update
        except CrateBotError as exc:
            yield Reply(text=str(exc), error=True)
        except Exception:  # noqa: BLE001 - as in handle()
            error_id = new_error_id()
            log.exception("error id %s: following job %s failed", error_id, job_id)
            yield Reply(text=unexpected_error_message(error_id), error=True)

    # -- jobs -----------------------------------------------------------------------
    async def _job(
        self, ctx: CommandContext, cmd: Command, definition: CommandDef
    ) -> AsyncIterator[Update]:
        assert definition.job_kind is not None
        kind = self.runner.kind(definition.job_kind)  # NotAvailable before any download

        optional = definition.sources_optional_if
        may_be_empty = optional is not None and v.is_set(cmd.args.get(optional))

        async def sources(option: Option, given: list[str]) -> list[str]:
            many = option.many
            usage = definition.usage
            folders = many and ctx.allow_local_paths
            if may_be_empty and not given and not ctx.attachments:
                return []
            return await resolve(ctx, given, self.settings, many=many, usage=usage, folders=folders)

        uploaded: dict[str, Any] = {}
        if definition.uploads is not None:
            left, uploaded = definition.uploads(tuple(ctx.attachments))
            ctx = dataclasses.replace(ctx, attachments=tuple(left))
        args = await bind(definition, cmd.args, sources)
        params = {**job_params(definition, args), **uploaded}
        if definition.prepare is not None:
            params = await definition.prepare(self, ctx, params)
        owner = OwnerRef(ctx.platform, ctx.user_id, ctx.display_name)
        submission = await self.runner.submit(kind, params, owner)
        async for update in self._stream(submission.id, submission.reused):
            yield update

    @staticmethod
    async def _no_sources(option: Option, given: list[str]) -> list[str]:
        raise TypeError(f"instant commands take no sources ({option.name})")

    async def _stream(
        self, job_id: str, reused: bool, mark_reused: bool = True
    ) -> AsyncIterator[Update]:
        last = None
        async for view in self.runner.subscribe(job_id):
            if last is None or not view.state.terminal:
                yield Progress(
                    view.id,
                    view.kind,
                    view.progress,
                    view.text or view.state.value,
                    view.state.value,
                    reused,
                )
            last = view
        if last is None:
            raise BadInput(f"no job {job_id}")
        reply = render(
            last, self.settings.results_dir, self._url_for, self._renderers.get(last.kind)
        )
        if last.state == JobState.SUCCEEDED and not reply.error:
            page = Link("Result page", self.page_for(last.id))
            reply = dataclasses.replace(reply, links=(*reply.links, page))
        if reused and mark_reused and not reply.error:
            note = "(an earlier result for the same input and options; nothing was run again)"
            reply = dataclasses.replace(reply, reused=True, text=f"{reply.text}\n{note}")
        yield reply


def _loggable(command: str | Command) -> str:
    """The command for the log, without a /pi link's token."""
    if _holds_token(command):
        return "/pi link <token withheld>"
    return command if isinstance(command, str) else command.name


def _holds_token(command: str | Command) -> bool:
    if isinstance(command, Command):
        return command.name == "pi_link"
    words = command.strip().lower().split()
    return len(words) >= 2 and words[0].split("@")[0] == "/pi" and words[1] == "link"
