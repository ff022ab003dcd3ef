"""The job kinds the runner knows, with their limits.

Functions are named by import path and resolved in the worker process, so a kind
whose pipeline is not installed is simply reported as not available.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from core.jobs.context import JobFunction
from core.settings import Settings


@dataclass(frozen=True)
class JobKind:
    name: str
    func: str  # "package.module:function"
    concurrency: int = 1
    timeout_s: float = 3600.0
    max_attempts: int = 3
    # Params whose value, when it is a local file, is hashed by content for dedupe.
    input_params: tuple[str, ...] = ("source",)
    description: str = ""

    @property
    def module(self) -> str:
        return self.func.split(":", 1)[0]

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False

    def resolve(self) -> JobFunction:
        """The job function itself (imported here: call it in the worker process)."""
        module, _, attr = self.func.partition(":")
        func: JobFunction = getattr(importlib.import_module(module), attr)
        return func


def builtin_kinds(settings: Settings) -> dict[str, JobKind]:
    kinds = [
        JobKind(
            "identify",
            "core.identify.job:identify_job",
            concurrency=settings.concurrency_identify,
            timeout_s=settings.timeout_identify_s,
            max_attempts=settings.job_max_attempts,
            description="which tracks a DJ mix plays",
        ),
        JobKind(
            "stems",
            "core.stems.job:stems_job",
            concurrency=settings.concurrency_stems,
            timeout_s=settings.timeout_stems_s,
            max_attempts=settings.job_max_attempts,
            description="Demucs stems and backing tracks",
        ),
        JobKind(
            "sections",
            "core.sections.job:sections_job",
            concurrency=settings.concurrency_sections,
            timeout_s=settings.timeout_sections_s,
            max_attempts=settings.job_max_attempts,
            input_params=("sources", "source"),
            description="tempo-aligned sections",
        ),
        JobKind(
            "probe",
            "core.audio.job:probe_job",
            concurrency=2,
            timeout_s=600,
            max_attempts=settings.job_max_attempts,
            description="fetch and validate an audio input",
        ),
    ]
    return {kind.name: kind for kind in kinds}
