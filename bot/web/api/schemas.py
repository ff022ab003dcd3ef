"""Pydantic models of the HTTP API's requests and responses.

They are the single description of the API: handlers build their JSON from them and
``openapi.py`` turns them into the OpenAPI document, so the two cannot drift apart.
The options of each job kind are derived from the command layer's own command
definitions (names, types, choices, ranges), the same ones chat parsing and help use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from bot.commands.api import CommandSpec, OptionSpec
from bot.commands.specs import SPECS

JobStateName = Literal["queued", "running", "succeeded", "failed", "cancelled"]

# Options that are the job's input: over HTTP they come as the form's ``file``/``source``.
SOURCE_OPTIONS = frozenset({"source", "sources", "file"})


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(ApiModel):
    """Every 4xx answer: one line a person can act on."""

    error: str = Field(description="what is wrong, in one line", examples=["no job 'abc'"])
    status: int = Field(ge=400, le=599, description="the HTTP status, repeated")


class JobFile(ApiModel):
    name: str = Field(description="file name inside the job's results")
    size: int = Field(ge=0, description="bytes")
    url: str = Field(description="download URL (needs the same bearer token)")


class JobLinks(ApiModel):
    self: str = Field(description="this job")
    events: str = Field(description="server-sent progress events until the job ends")


class Job(ApiModel):
    """A job as its owner sees it."""

    id: str
    kind: str = Field(description="identify, stems, sections, ...")
    state: JobStateName
    progress: float = Field(ge=0.0, le=1.0, description="0..1")
    text: str = Field(description="a short progress line, e.g. 'separating 3/8'")
    error: str | None = Field(description="why it failed, when it did")
    attempts: int = Field(ge=0, description="runs so far, retries included")
    created_at: dt.datetime | None
    finished_at: dt.datetime | None
    reused: bool = Field(
        default=False,
        description="on submit: an equal job (same kind, options and input) was reused",
    )
    files: list[JobFile] = Field(description="result files, once succeeded")
    links: JobLinks


class JobList(ApiModel):
    jobs: list[Job] = Field(description="newest first")


_JSON_TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool}


def _option_field(option: OptionSpec) -> tuple[Any, Any]:
    kind: Any = _JSON_TYPES[option.type]
    if option.choices:
        kind = Literal[option.choices]  # type: ignore[valid-type]
    bounds: dict[str, Any] = {}
    if option.min_value is not None:
        bounds["ge"] = option.min_value
    if option.max_value is not None:
        bounds["le"] = option.max_value
    if option.type == "str" and not option.choices:
        bounds["max_length"] = 200
    if option.required:
        return kind, Field(description=option.description, **bounds)
    return kind | None, Field(default=None, description=option.description, **bounds)


def params_model(spec: CommandSpec) -> type[ApiModel]:
    """The ``params`` object of one job kind, from its command's options."""
    fields = {
        option.name: _option_field(option)
        for option in spec.options
        if option.name not in SOURCE_OPTIONS and option.type != "attachment"
    }
    name = f"{(spec.job_kind or spec.name).capitalize()}Params"
    model: type[ApiModel] = create_model(  # type: ignore[call-overload]
        name, __base__=ApiModel, __doc__=f"Options of {spec.job_kind} jobs: {spec.usage}", **fields
    )
    return model


JOB_SPECS: dict[str, CommandSpec] = {s.job_kind: s for s in SPECS if s.job_kind is not None}
PARAMS_MODELS: dict[str, type[ApiModel]] = {
    kind: params_model(spec) for kind, spec in JOB_SPECS.items()
}
