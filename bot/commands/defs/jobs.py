"""/jobs: the user's recent jobs and their state."""

from __future__ import annotations

from bot.commands.define import CommandDef
from bot.commands.job_commands import list_jobs

COMMAND = CommandDef(
    "jobs",
    "/jobs",
    "/jobs",
    "your recent jobs and their state",
    order=90,
    aliases=("job",),
    run=list_jobs,
)
