"""A worker attempt in-process: the context a job function gets and the typed messages
it ends with (the runner tests cover the same through real worker processes)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from core.jobs.context import run_in_process
from core.jobs.kinds import JobKind
from core.jobs.messages import Done, Failed, ProgressReport
from core.jobs.worker import WorkerTask, run_task
from core.settings import Settings

FUNCS = "tests.jobs.ctxfuncs"


def _task(settings: Settings, func: str, params: dict, workdir: Path) -> WorkerTask:
    kind = JobKind("test", f"{FUNCS}:{func}", input_params=())
    return WorkerTask(kind, "job123", 2, params, settings, workdir)


def test_job_gets_its_context_and_ends_with_done(settings: Settings, tmp_path: Path) -> None:
    receive, send = mp.Pipe(duplex=False)
    task = _task(settings, "echo_context_job", {"text": "hi"}, tmp_path / "work")
    outcome = run_task(task, send)
    assert outcome == Done(
        {"job_id": "job123", "attempt": 2, "home": str(settings.home), "params": ["text"]},
        ("out.txt",),
    )
    assert (tmp_path / "work" / "out.txt").read_text() == "hi"
    assert receive.recv() == ProgressReport(0.5, "halfway")


@pytest.mark.parametrize(
    ("kind", "category", "message"),
    [
        ("bad", "bad_input", "not audio"),
        ("transient", "transient", "network hiccup"),
        ("disk", "transient", "the disk is full"),
        ("other", "crash", "RuntimeError: boom"),  # in the logged trace, not the message
    ],
)
def test_failures_are_typed(
    settings: Settings, tmp_path: Path, kind: str, category: str, message: str
) -> None:
    _, send = mp.Pipe(duplex=False)
    outcome = run_task(_task(settings, "failing_job", {"kind": kind}, tmp_path), send)
    assert isinstance(outcome, Failed)
    assert outcome.category == category
    assert bool(outcome.trace) == (category == "crash" or kind == "disk")
    if category == "crash":
        # Users see an error id; the trace (logged) names the same id and the cause.
        assert "error id" in outcome.message and "Traceback" not in outcome.message
        error_id = outcome.message.split("error id ")[1].split(")")[0]
        assert f"error id {error_id}" in outcome.trace and message in outcome.trace
    else:
        assert outcome.message == message


def test_a_function_must_return_job_output(settings: Settings, tmp_path: Path) -> None:
    _, send = mp.Pipe(duplex=False)
    outcome = run_task(_task(settings, "not_an_output_job", {}, tmp_path), send)
    assert isinstance(outcome, Failed) and "not JobOutput" in outcome.trace


def test_run_in_process_builds_the_same_context(settings: Settings, tmp_path: Path) -> None:
    from tests.jobs.ctxfuncs import echo_context_job

    seen: list[tuple[float, str]] = []

    def sink(fraction: float, text: str = "") -> None:
        seen.append((fraction, text))

    output = run_in_process(echo_context_job, {"text": "x"}, tmp_path, settings, sink)
    assert output.result["job_id"] == "local" and output.result["attempt"] == 1
    assert seen == [(0.5, "halfway")]
