"""Job kind ``stems``: Demucs stems, backing tracks and HPSS parts of one source, zipped."""

from __future__ import annotations

import shutil
from typing import Any

from core.jobs.context import JobContext
from core.jobs.types import JobOutput
from core.stems.options import StemsOptions
from core.stems.pipeline import run_stems


def stems_job(ctx: JobContext, params: dict[str, Any]) -> JobOutput:
    """Params: ``source`` (path or URL) and the optional keys of :class:`StemsOptions`.

    Publishes the zip, every output file and ``manifest.json``; the result holds
    their names (relative to ``workdir``) and the manifest.
    """
    settings, progress, workdir = ctx.settings, ctx.progress, ctx.workdir
    options = StemsOptions.from_params(params)
    scratch = workdir / "scratch"
    try:
        result = run_stems(options, settings, workdir, scratch, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    names = [path.name for path in result.files]
    return JobOutput(
        result={
            "zip": result.zip_path.name,
            "files": names,
            "manifest": result.manifest,
        },
        files=[result.zip_path.name, *names, result.manifest_path.name],
    )
