"""A real ``cratebot worker`` with the runner tests' job kinds added (tests/runner).

Usage: python -m tests.scaleout.worker_process QUEUES CONCURRENCY
(settings from the environment: CRATEBOT_HOME, CRATEBOT_BROKER_URL, CRATEBOT_DATABASE_URL)
"""

from __future__ import annotations

import logging
import sys

from core.jobs.celery_backend import run_worker
from core.jobs.kinds import builtin_kinds
from core.settings import load_settings
from tests.runner.helpers import runner_kinds


def main(queues: str, concurrency: str) -> int:
    settings = load_settings()
    kinds = {**builtin_kinds(settings), **runner_kinds()}
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    return run_worker(settings, tuple(queues.split(",")), int(concurrency), kinds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
