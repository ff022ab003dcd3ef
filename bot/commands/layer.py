"""The command layer: one implementation of every command for every front-end."""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.commands import validate as v
from bot.commands.api import Command, CommandContext, CommandSpec, Progress, Reply, Update
from bot.commands.keys import link_key, token_cipher
from bot.commands.links import sign_path
from bot.commands.parse import parse
from bot.commands.pi import PiCommands
from bot.commands.quota import check_daily
from bot.commands.render import render
from bot.commands.sources import resolve
from bot.commands.specs import BY_NAME, RECOGNIZERS, SPECS, STEM_FORMATS, STEM_NAMES, help_text
from core.errors import BadInput, CrateBotError, new_error_id, unexpected_error_message
from core.jobs.runner import JobRunner, OwnerRef
from core.settings import Settings
from storage.base import utcnow
from storage.db import Database
from storage.jobs_repo import JobRepository
from storage.models import Job
from storage.pi_links import PiLinkStore

log = logging.getLogger("cratebot.commands")

UPLOADS = "uploads"
_UNSAFE = re.compile(r"[^\w.\-]+")
_UPLOAD_SWEEP_S = 3600.0


class CommandLayer:
    """See :class:`bot.commands.api.CommandLayerAPI` for the contract."""

    specs: tuple[CommandSpec, ...] = SPECS

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

    # -- small public helpers -------------------------------------------------------
    def parse(self, text: str) -> Command:
        return parse(text)

    def help_text(self, topic: str | None = None) -> str:
        return help_text(topic)

    def stop_accepting(self) -> None:
        """From now on every command answers that the bot is shutting down."""
        self._accepting = False

    def is_admin(self, ctx: CommandContext) -> bool:
        if ctx.is_admin or self._configured_admin(ctx):
            return True
        roles = {r.lower() for r in self.settings.admin_roles}
        return any(role.lower() in roles for role in ctx.roles)

    def _configured_admin(self, ctx: CommandContext) -> bool:
        ids = set(self.settings.admin_user_ids)
        return ctx.user_id in ids or f"{ctx.platform}:{ctx.user_id}" in ids

    def link_for(self, job_id: str, name: str, ttl_s: float | None = None) -> str:
        ttl = self.settings.link_ttl_s if ttl_s is None else ttl_s
        return self.settings.public_url.rstrip("/") + sign_path(self._link_key, job_id, name, ttl)

    def _url_for(self, job_id: str, name: str) -> str | None:
        return self.link_for(job_id, name) if self._links else None

    def upload_path(self, ctx: CommandContext, filename: str) -> Path:
        self._sweep_uploads()
        name = _UNSAFE.sub("_", Path(filename.replace("\\", "/")).name).strip("._") or "upload"
        folder = self.uploads_dir / f"{_UNSAFE.sub('_', ctx.platform)}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name[-120:]

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
            cmd = command if isinstance(command, Command) else parse(command)
            spec = BY_NAME.get(cmd.name)
            if spec is None:
                raise BadInput(f"unknown command {cmd.name!r}; try /help")
            if spec.admin_only and not self.is_admin(ctx):
                raise CrateBotError(f"only admins of this server or chat can use {spec.text}")
            if spec.job_kind is not None:
                async for update in self._job(ctx, cmd, spec):
                    yield update
                return
            yield await self._instant(ctx, cmd, spec)
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
            await self._own_job(ctx, job_id)
            async for update in self._stream(job_id, reused=True):
                yield update
        except CrateBotError as exc:
            yield Reply(text=str(exc), error=True)
        except Exception:  # noqa: BLE001 - as in handle()
            error_id = new_error_id()
            log.exception("error id %s: following job %s failed", error_id, job_id)
            yield Reply(text=unexpected_error_message(error_id), error=True)

    # -- jobs -----------------------------------------------------------------------
    async def _job(
        self, ctx: CommandContext, cmd: Command, spec: CommandSpec
    ) -> AsyncIterator[Update]:
        assert spec.job_kind is not None
        self.runner.kind(spec.job_kind)  # NotAvailable before any download or probe
        params = await self._params(ctx, cmd, spec)
        owner = OwnerRef(ctx.platform, ctx.user_id, ctx.display_name)
        owner_id = await self.repo.owner_id(owner.platform, owner.user_id, owner.display_name)
        await check_daily(self.db, owner_id, self.settings.max_jobs_per_day_per_owner)
        before = utcnow()
        job_id = await self.runner.submit(spec.job_kind, params, owner)
        job = await self.repo.get(job_id)
        reused = job is not None and job.created_at < before
        async for update in self._stream(job_id, reused):
            yield update

    async def _stream(self, job_id: str, reused: bool) -> AsyncIterator[Update]:
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
        yield render(last, self.settings.results_dir, self._url_for)

    async def _params(self, ctx: CommandContext, cmd: Command, spec: CommandSpec) -> dict[str, Any]:
        args = cmd.args
        if cmd.name == "sections":
            bpm = v.bpm(v.require(args, "bpm", spec.usage))
            given = args.get("sources") or []
            if isinstance(given, str):
                given = given.split()
            sources = await resolve(
                ctx,
                [str(s) for s in given],
                self.settings,
                many=True,
                usage=spec.usage,
                folders=ctx.allow_local_paths,
            )
            params: dict[str, Any] = {"sources": sources, "bpm": bpm}
            if args.get("delta") not in (None, ""):
                params["delta"] = v.number(args["delta"], "delta", 0, 50)
            if args.get("key"):
                params["key"] = str(args["key"]).strip()
            if args.get("harmonic") not in (None, ""):
                params["harmonic"] = v.flag(args["harmonic"], "harmonic")
            if args.get("target") not in (None, ""):
                params["target_bpm"] = v.bpm(args["target"])
            if args.get("bars") not in (None, ""):
                params["bars"] = v.integer(args["bars"], "bars", 1, 256)
            if args.get("mix_bars") not in (None, ""):
                params["mix_bars"] = v.integer(args["mix_bars"], "mix_bars", 0, 256)
            return params
        given = [str(args["source"])] if args.get("source") else []
        source = (await resolve(ctx, given, self.settings, many=False, usage=spec.usage))[0]
        params = {"source": source}
        if cmd.name == "id" and args.get("recognizers"):
            names = [n.strip().lower() for n in str(args["recognizers"]).split(",") if n.strip()]
            for name in names:
                v.choice(name, "recognizer", RECOGNIZERS)
            params["recognizers"] = ",".join(names)
        if cmd.name == "stems":
            if args.get("model"):
                params["model"] = v.model(args["model"])
            if args.get("minus"):
                params["minus"] = v.choice(args["minus"], "minus", STEM_NAMES)
            if args.get("format"):
                params["format"] = v.choice(args["format"], "format", STEM_FORMATS)
        return params

    # -- instant commands -----------------------------------------------------------
    async def _instant(self, ctx: CommandContext, cmd: Command, spec: CommandSpec) -> Reply:
        args = cmd.args
        name = cmd.name
        if name == "help":
            return Reply(text=help_text(args.get("topic")), title="CrateBot help")
        if name == "jobs":
            return await self._jobs(ctx)
        if name == "cancel":
            return await self._cancel(ctx, str(v.require(args, "job_id", spec.usage)).strip())
        if name == "bpm":
            value = v.bpm(v.require(args, "value", spec.usage))
            ramp = v.ramp(args["ramp"]) if args.get("ramp") not in (None, "") else 0.0
            return await self.pi.bpm(ctx, value, ramp)
        if name == "bpm_auto":
            return await self.pi.bpm_auto(ctx, v.flag(v.require(args, "on", spec.usage), "auto"))
        if name == "pi_link":
            host = v.host(v.require(args, "host", spec.usage))
            port = v.port(v.require(args, "port", spec.usage))
            token = v.token(v.require(args, "token", spec.usage))
            return await self.pi.link(ctx, host, port, token)
        if name == "pi_unlink":
            return await self.pi.unlink(ctx)
        if name == "pi_status":
            return await self.pi.status(ctx)
        raise BadInput(f"unknown command {name!r}; try /help")

    async def _jobs(self, ctx: CommandContext) -> Reply:
        owner_id = await self.repo.owner_id(ctx.platform, ctx.user_id, ctx.display_name)
        jobs = await self.repo.list(owner_id=owner_id, limit=10)
        if not jobs:
            return Reply(text="you have no jobs yet", title="Your jobs")
        lines = []
        for job in jobs:
            state = job.state
            detail = (
                f"{job.progress * 100:.0f}% {job.progress_text}"
                if state == "running"
                else job.error or job.progress_text or ""
            )
            lines.append(f"{job.id}  {job.kind:<8} {state:<9} {detail}".rstrip())
        return Reply(
            text="\n".join(lines),
            title="Your jobs",
            data={"jobs": [{"id": j.id, "kind": j.kind, "state": j.state} for j in jobs]},
        )

    async def _own_job(self, ctx: CommandContext, job_id: str) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise BadInput(f"no job {job_id!r}; /jobs lists yours")
        owner = job.owner
        mine = owner is not None and (owner.platform, owner.user_id) == (ctx.platform, ctx.user_id)
        if not (mine or self._configured_admin(ctx)):
            raise BadInput(f"job {job_id} is not yours")
        return job

    async def _cancel(self, ctx: CommandContext, job_id: str) -> Reply:
        job = await self._own_job(ctx, job_id)
        if job.state not in ("queued", "running"):
            return Reply(text=f"job {job_id} already {job.state}", job_id=job_id, error=True)
        state = await self.runner.cancel(job_id)
        if state == "cancelled":
            return Reply(text=f"job {job_id} cancelled", job_id=job_id)
        if state == "cancelling":
            return Reply(text=f"job {job_id} is being stopped", job_id=job_id)
        return Reply(text=f"job {job_id} already {state}", job_id=job_id, error=True)


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
