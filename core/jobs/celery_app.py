"""The Celery application: one task, one queue per job kind, the job's state in the database.

The message carries only the job id; parameters, attempts, progress and the result
live in the database, so a message delivered twice or late is harmless (the claim is a
conditional UPDATE and only one worker wins it).

Why the broker is not trusted to notice a dead worker: with Redis, an unacknowledged
message comes back only after the transport's ``visibility_timeout`` (one hour by
default), and that timeout must exceed the longest job (stems may run 6 h) or Redis
hands a still-running job to a second worker. So messages are acknowledged when a
worker starts the task (Celery's default, ``acks_late=False``), and liveness is judged
from heartbeats in the database instead (``storage.workers``): a worker refreshes its
running jobs' ``heartbeat_at`` every ``CRATEBOT_WORKER_HEARTBEAT_S``; any worker or
front-end that finds a running job silent for ``CRATEBOT_WORKER_DEAD_AFTER_S`` re-queues
it (attempts bounded by ``CRATEBOT_JOB_MAX_ATTEMPTS``) and publishes a new message.
Restart time is then about ``dead_after + sweep interval`` whatever the job's length.
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings

TASK_NAME = "cratebot.run_job"


def make_app(settings: Settings) -> Any:
    """A Celery app on ``CRATEBOT_BROKER_URL`` (imported lazily: the default install runs
    without a broker)."""
    from celery import Celery  # type: ignore[import-untyped]

    app = Celery("cratebot", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the database
        task_acks_late=False,  # see the module docstring
        # A busy worker takes no message it cannot start at once: a message reserved but
        # not yet acknowledged by a worker that then dies would wait out the visibility
        # timeout in Redis, while one still in the queue goes to the next free worker.
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # so Flower / `celery events` can watch the queues
        task_send_sent_event=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 12 * 3600},
    )
    return app


def publish(app: Any, job_id: str, kind: str) -> None:
    """Send the job to its kind's queue (a worker listening on that queue runs it)."""
    app.send_task(TASK_NAME, args=[job_id], queue=kind, routing_key=kind)


def waiting(app: Any, queue: str) -> int:
    """Messages waiting in a queue (on Redis: the lengths of its lists)."""
    with app.connection_for_write() as conn:
        return int(conn.default_channel.queue_declare(queue=queue, passive=False).message_count)
