"""/cancel: cancel one of the user's jobs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.define import CommandDef, option
from bot.commands.job_commands import cancel_job


@dataclass(frozen=True)
class CancelArgs:
    job_id: str = option(
        "the job's id", required=True, aliases=("id",), positional=True, default=""
    )


COMMAND = CommandDef(
    "cancel",
    "/cancel",
    "/cancel JOB_ID",
    "cancel one of your jobs",
    order=100,
    args=CancelArgs,
    aliases=("cancel_job",),
    run=cancel_job,
)
