"""The logic of /jobs and /cancel, and the ownership check ``follow`` shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.api import CommandContext, Reply
from bot.commands.define import NoArgs
from core.errors import BadInput
from storage.models import Job

if TYPE_CHECKING:
    from bot.commands.defs.cancel import CancelArgs
    from bot.commands.layer import CommandLayer


async def list_jobs(layer: CommandLayer, ctx: CommandContext, args: NoArgs) -> Reply:
    owner_id = await layer.repo.owner_id(ctx.platform, ctx.user_id, ctx.display_name)
    jobs = await layer.repo.list(owner_id=owner_id, limit=10)
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


async def own_job(layer: CommandLayer, ctx: CommandContext, job_id: str) -> Job:
    """The job, if it is the user's (or the user is a configured admin)."""
    job = await layer.repo.get(job_id)
    if job is None:
        raise BadInput(f"no job {job_id!r}; /jobs lists yours")
    owner = job.owner
    mine = owner is not None and (owner.platform, owner.user_id) == (ctx.platform, ctx.user_id)
    if not (mine or layer.configured_admin(ctx)):
        raise BadInput(f"job {job_id} is not yours")
    return job


async def cancel_job(layer: CommandLayer, ctx: CommandContext, args: CancelArgs) -> Reply:
    job_id = args.job_id
    job = await own_job(layer, ctx, job_id)
    if job.state not in ("queued", "running"):
        return Reply(text=f"job {job_id} already {job.state}", job_id=job_id, error=True)
    state = await layer.runner.cancel(job_id)
    if state == "cancelled":
        return Reply(text=f"job {job_id} cancelled", job_id=job_id)
    if state == "cancelling":
        return Reply(text=f"job {job_id} is being stopped", job_id=job_id)
    return Reply(text=f"job {job_id} already {state}", job_id=job_id, error=True)
