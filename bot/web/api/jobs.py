"""``/api/v1/jobs``: submit, list, show, cancel, follow (server-sent events), download."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.commands.api import Command, CommandContext
from bot.commands.quota import DailyQuotaExceeded, check_daily
from bot.web.api.auth import owner_of
from bot.web.api.errors import ApiError
from bot.web.api.openapi import Operation, Param, Reply, ref
from bot.web.api.schemas import (
    JOB_SPECS,
    PARAMS_MODELS,
    SOURCE_OPTIONS,
    ErrorBody,
    Job,
    JobList,
    JobStateName,
)
from bot.web.api.uploads import JobForm, read_job_form
from bot.web.api.views import base_url, job_model, live_files
from core.errors import BadInput, CrateBotError, NotAvailable
from core.jobs.runner import JobView, OwnerRef, QuotaExceeded
from core.jobs.types import JobState
from storage.api_tokens import TokenOwner, TokenStore
from storage.base import utcnow
from storage.jobs_repo import JobRepository
from storage.models import Job as JobRow

KEEPALIVE_S = 15.0
STATES: tuple[str, ...] = JobStateName.__args__  # type: ignore[attr-defined]
API_CHAT_ID = "api"


@dataclass
class JobsApi:
    """The handlers; ``layer`` is the running command layer (its runner, settings, db)."""

    layer: Any  # bot.commands.layer.CommandLayer
    tokens: TokenStore
    stopping: asyncio.Event

    @property
    def settings(self) -> Any:
        return self.layer.settings

    @property
    def repo(self) -> JobRepository:
        return JobRepository(self.layer.db)

    # -- helpers --------------------------------------------------------------------
    async def _visible(self, request: web.Request) -> JobRow:
        job_id = request.match_info["id"]
        owner = owner_of(request)
        # Another owner's job answers exactly like a missing one: 404, never 403.
        job = await self.tokens.visible_job(job_id, owner.owner_id)
        if job is None:
            raise ApiError(404, f"no job {job_id[:64]!r}")
        return job

    async def _model(self, request: web.Request, job: JobRow, reused: bool = False) -> Job:
        files = []
        if job.state == "succeeded":
            files = live_files(self.settings.results_dir, job.id, await self.repo.results(job.id))
        return job_model(
            base_url(request, self.settings),
            id=job.id,
            kind=job.kind,
            state=job.state,
            progress=job.progress,
            text=job.progress_text,
            error=job.error,
            attempts=job.attempts,
            created_at=job.created_at,
            finished_at=job.finished_at,
            files=files,
            reused=reused,
        )

    # -- POST /jobs -----------------------------------------------------------------
    async def submit(self, request: web.Request) -> web.StreamResponse:
        owner = owner_of(request)
        ctx_base = CommandContext(platform=owner.platform, user_id=owner.user_id, chat_id="api")
        form = await read_job_form(
            request,
            self.settings.max_download_bytes,
            lambda name: self.layer.upload_path(ctx_base, name),
        )
        try:
            job, reused = await self._submit(owner, form)
        except BaseException:
            form.discard()
            raise
        if reused:
            form.discard()  # the equal job already has its own copy of the input
        body = await self._model(request, job, reused)
        return web.json_response(body.model_dump(mode="json"), status=202)

    async def _submit(self, owner: TokenOwner, form: JobForm) -> tuple[JobRow, bool]:
        kind = form.kind.strip()
        spec = JOB_SPECS.get(kind)
        if spec is None:
            raise ApiError(422, f"kind {kind[:40]!r}: choose one of {', '.join(JOB_SPECS)}")
        args = _params(form.params, kind)
        source = form.source.strip()
        if source and form.files:
            raise ApiError(422, "send either file or source, not both")
        if not source and not form.files:
            raise ApiError(422, "send the audio as file (an upload) or source (a link)")
        if len(form.files) > 1 and kind != "sections":
            raise ApiError(422, f"{kind} takes one file at a time")
        if source:
            if kind == "sections":
                args["sources"] = source.split()
            else:
                args["source"] = source
        ctx = CommandContext(
            platform=owner.platform,
            user_id=owner.user_id,
            chat_id=API_CHAT_ID,
            attachments=tuple(form.files),
        )
        layer = self.layer
        if not layer._accepting:
            raise ApiError(503, "CrateBot is shutting down; try again in a minute")
        try:
            layer.runner.kind(kind)
            # The command layer's own checks: link safety, probing uploads, option ranges.
            job_params = await layer._params(ctx, Command(spec.name, args), spec)
            await check_daily(layer.db, owner.owner_id, self.settings.max_jobs_per_day_per_owner)
            before = utcnow()
            job_id = await layer.runner.submit(
                kind, job_params, OwnerRef(owner.platform, owner.user_id)
            )
        except (QuotaExceeded, DailyQuotaExceeded) as exc:
            raise ApiError(429, str(exc)) from None
        except (BadInput, NotAvailable) as exc:
            raise ApiError(422, str(exc)) from None
        except CrateBotError as exc:
            raise ApiError(422, str(exc)) from None
        job = await self.repo.get(job_id)
        assert job is not None
        reused = job.created_at < before
        if job.owner_id != owner.owner_id:
            await self.tokens.share(job.id, owner.owner_id)
        return job, reused

    # -- GET /jobs ------------------------------------------------------------------
    async def list(self, request: web.Request) -> web.StreamResponse:
        limit = _int_query(request, "limit", 20, 1, 100)
        states = tuple(request.query.getall("state", ()))
        for state in states:
            if state not in STATES:
                raise ApiError(422, f"state {state[:20]!r}: choose one of {', '.join(STATES)}")
        owner = owner_of(request)
        rows = await self.tokens.visible_jobs(owner.owner_id, states, limit)
        jobs = [await self._model(request, row) for row in rows]
        return web.json_response(JobList(jobs=jobs).model_dump(mode="json"))

    # -- GET /jobs/{id} -------------------------------------------------------------
    async def show(self, request: web.Request) -> web.StreamResponse:
        job = await self._visible(request)
        return web.json_response((await self._model(request, job)).model_dump(mode="json"))

    # -- DELETE /jobs/{id} ----------------------------------------------------------
    async def cancel(self, request: web.Request) -> web.StreamResponse:
        job = await self._visible(request)
        if job.state not in ("queued", "running"):
            raise ApiError(409, f"job {job.id} already {job.state}")
        state = await self.layer.runner.cancel(job.id)
        if state not in ("cancelled", "cancelling"):
            raise ApiError(409, f"job {job.id} already {state}")
        fresh = await self.repo.get(job.id)
        body = await self._model(request, fresh or job)
        return web.json_response(body.model_dump(mode="json"), status=202)

    # -- GET /jobs/{id}/events ------------------------------------------------------
    async def events(self, request: web.Request) -> web.StreamResponse:
        job = await self._visible(request)
        base = base_url(request, self.settings)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx: pass events through at once
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[JobView | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for view in self.layer.runner.subscribe(job.id):
                    await queue.put(view)
            finally:
                await queue.put(None)

        task = asyncio.create_task(pump())
        stop = asyncio.create_task(self.stopping.wait())
        number = 0
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, stop}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    if stop in done:
                        break
                    await response.write(b": keep-alive\n\n")
                    continue
                view = getter.result()
                if view is None:
                    break
                number += 1
                files: list[tuple[str, int]] = []
                if view.state == JobState.SUCCEEDED:
                    files = live_files(
                        self.settings.results_dir, view.id, await self.repo.results(view.id)
                    )
                model = job_model(
                    base,
                    id=view.id,
                    kind=view.kind,
                    state=view.state.value,
                    progress=view.progress,
                    text=view.text,
                    error=view.error,
                    attempts=view.attempts,
                    created_at=view.created_at or job.created_at,
                    finished_at=view.finished_at,
                    files=files,
                )
                data = json.dumps(model.model_dump(mode="json"), separators=(",", ":"))
                frame = f"id: {number}\nevent: {view.state.value}\ndata: {data}\n\n"
                await response.write(frame.encode())
                if view.state.terminal:
                    break
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away; the job goes on
        finally:
            stop.cancel()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    # -- GET /jobs/{id}/files/{name} ------------------------------------------------
    async def download(self, request: web.Request) -> web.StreamResponse:
        job = await self._visible(request)
        name = request.match_info["name"]
        rows = {row.name: row for row in await self.repo.results(job.id)}
        row = rows.get(name)
        path = _inside(self.settings.results_dir, job.id, name) if row else None
        if row is None or row.deleted_at is not None or path is None:
            raise ApiError(404, f"job {job.id} has no file {name[:120]!r}")
        # FileResponse answers Range requests itself (206, 416) and streams from disk.
        return web.FileResponse(
            path,
            headers={
                "Content-Disposition": "attachment; "
                f"filename*=UTF-8''{quote(Path(name).name, safe='')}",
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _inside(results: Path, job_id: str, name: str) -> Path | None:
    base = (results / job_id).resolve()
    target = (base / name).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def _int_query(request: web.Request, key: str, default: int, low: int, high: int) -> int:
    text = request.query.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(422, f"{key} must be a whole number, not {text[:20]!r}") from None
    if not low <= value <= high:
        raise ApiError(422, f"{key} {value} is out of range: use {low} to {high}")
    return value


def _params(text: str, kind: str) -> dict[str, Any]:
    """The ``params`` field: a JSON object naming only the kind's options."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise ApiError(422, 'params must be a JSON object, e.g. {"model": "htdemucs"}') from None
    if not isinstance(value, dict):
        raise ApiError(422, 'params must be a JSON object, e.g. {"model": "htdemucs"}')
    allowed = set(PARAMS_MODELS[kind].model_fields)
    for key, item in value.items():
        if key not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise ApiError(422, f"unknown option {key[:40]!r} for {kind}; options: {names}")
        if isinstance(item, (dict, list)):
            raise ApiError(422, f"option {key!r} must be a string, number or boolean")
    return {k: v for k, v in value.items() if v is not None and k not in SOURCE_OPTIONS}


# -- the description of it all ------------------------------------------------------


def _err(text: str) -> Reply:
    return Reply(text, ErrorBody)


UNAUTHORIZED = _err("no valid bearer token")
NOT_FOUND = _err("no such job for this token's owner (another owner's job looks the same)")
ID = Param("id", "path", "the job's id", {"type": "string", "maxLength": 64})


def _form_schema() -> dict[str, Any]:
    kinds = list(JOB_SPECS)
    return {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": kinds, "description": "what to do"},
            "file": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "the audio, uploaded (sections: repeat for several files); "
                "at most CRATEBOT_MAX_DOWNLOAD_MB",
            },
            "source": {
                "type": "string",
                "maxLength": 4096,
                "description": "instead of file: an http(s) link (sections: several, "
                "separated by spaces), checked like a link sent in chat",
            },
            "params": {
                "description": "the kind's options as a JSON object; the schema of each "
                "kind is in components (IdentifyParams, StemsParams, ...)",
                "anyOf": [ref(model) for model in PARAMS_MODELS.values()],
            },
        },
        "additionalProperties": False,
    }


def _event_schema() -> dict[str, Any]:
    # OpenAPI before 3.2 reads an event stream's schema as the schema of each event.
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "id": {"type": "string", "description": "1, 2, 3, ... within this stream"},
            "event": {"type": "string", "enum": list(STATES), "description": "the job's state"},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": ref(Job),
                "description": "the Job, as JSON",
            },
        },
    }


def operations(api: JobsApi) -> list[Operation]:
    tags = ("jobs",)
    return [
        Operation(
            "POST",
            "/api/v1/jobs",
            api.submit,
            "submitJob",
            "Submit a job",
            description="Starts a job for the token's owner, with the owner's quotas (as in "
            "chat). An equal job already done or under way (same kind, options and input "
            "content) is reused.",
            request_body={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": _form_schema(),
                        "encoding": {
                            "params": {"contentType": "application/json"},
                            "file": {"contentType": "application/octet-stream"},
                        },
                    }
                },
            },
            request_models=tuple(PARAMS_MODELS.values()),
            responses={
                202: Reply("the job, queued (or the equal job reused)", Job),
                400: _err("malformed multipart body"),
                401: UNAUTHORIZED,
                413: _err("an upload or a field is over its size limit"),
                415: _err("not multipart/form-data"),
                422: _err("bad kind, options or source (the message names it)"),
                429: _err("over the owner's quota of unfinished or daily jobs"),
            },
            tags=tags,
        ),
        Operation(
            "GET",
            "/api/v1/jobs",
            api.list,
            "listJobs",
            "List your jobs",
            params=(
                Param(
                    "limit",
                    "query",
                    "how many, newest first (default 20)",
                    {"type": "integer", "minimum": 1, "maximum": 100},
                ),
                Param(
                    "state",
                    "query",
                    "only jobs in this state (repeatable)",
                    {"type": "string", "enum": list(STATES)},
                ),
            ),
            responses={
                200: Reply("the token owner's jobs", JobList),
                401: UNAUTHORIZED,
                422: _err("bad limit or state"),
            },
            tags=tags,
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{id}",
            api.show,
            "getJob",
            "One job: state, progress, error, attempts and result files",
            params=(ID,),
            responses={200: Reply("the job", Job), 401: UNAUTHORIZED, 404: NOT_FOUND},
            tags=tags,
        ),
        Operation(
            "DELETE",
            "/api/v1/jobs/{id}",
            api.cancel,
            "cancelJob",
            "Cancel a queued or running job",
            description="A queued job is cancelled at once; a running one is stopped within "
            "about a second (its state reads cancelled soon after).",
            params=(ID,),
            responses={
                202: Reply("cancellation accepted; the job as it is now", Job),
                401: UNAUTHORIZED,
                404: NOT_FOUND,
                409: _err("the job has already ended"),
            },
            tags=tags,
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{id}/events",
            api.events,
            "followJob",
            "Follow a job: server-sent events until it ends",
            description="Each event is named after the job's state (queued, running, "
            "succeeded, failed, cancelled) and carries the Job object as JSON in `data`. "
            "The stream ends after the first event with a final state; a comment line is "
            "sent every 15 s while nothing happens.",
            params=(ID,),
            responses={
                200: Reply(
                    "a text/event-stream; the schema describes one event",
                    media_type="text/event-stream",
                    schema=_event_schema(),
                ),
                401: UNAUTHORIZED,
                404: NOT_FOUND,
            },
            tags=tags,
        ),
        Operation(
            "GET",
            "/api/v1/jobs/{id}/files/{name}",
            api.download,
            "downloadFile",
            "Download a result file (range requests supported)",
            description="Send `Range: bytes=START-END` to resume or fetch part of a file.",
            params=(
                ID,
                Param("name", "path", "a name from the job's files", {"type": "string"}),
            ),
            responses={
                200: Reply(
                    "the file (its type guessed from the name)", media_type="*/*", schema={}
                ),
                206: Reply("the requested range", media_type="*/*", schema={}),
                401: UNAUTHORIZED,
                404: _err("no such job or file (results expire after the retention time)"),
                416: Reply("the range lies outside the file"),
            },
            tags=tags,
            route="/api/v1/jobs/{id}/files/{name:.+}",
        ),
    ]
