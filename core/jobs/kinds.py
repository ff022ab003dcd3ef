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


@dataclass(frozen=True)
class _Builtin:
    name: str
    func: str
    limits: str  # which settings' concurrency_*/timeout_*_s apply (crate adds share sections')
    input_params: tuple[str, ...]
    description: str


_BUILTINS = (
    _Builtin("identify", "core.identify.job:identify_job", "identify", ("source",),
             "which tracks a DJ mix plays"),
    _Builtin("stems", "core.stems.job:stems_job", "stems", ("source",),
             "Demucs stems and backing tracks"),
    _Builtin("sections", "core.sections.job:sections_job", "sections", ("sources", "source"),
             "tempo-aligned sections"),
    _Builtin("crate_add", "core.crates.add:crate_add_job", "sections", ("sources",),
             "tracks into a chat's crate"),
)  # fmt: skip


def builtin_kinds(settings: Settings) -> dict[str, JobKind]:
    return {
        b.name: JobKind(
            b.name,
            b.func,
            concurrency=int(getattr(settings, f"concurrency_{b.limits}")),
            timeout_s=float(getattr(settings, f"timeout_{b.limits}_s")),
            max_attempts=settings.job_max_attempts,
            input_params=b.input_params,
            description=b.description,
        )
        for b in _BUILTINS
    }
