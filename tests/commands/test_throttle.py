"""latest_every: the first progress at once, then the newest per interval, the reply always."""

from __future__ import annotations

import asyncio

from bot.commands import Progress, Reply
from bot.commands.throttle import latest_every


async def source(gaps: list[float]):
    for n, gap in enumerate(gaps):
        await asyncio.sleep(gap)
        yield Progress("j", "stems", n / 10, f"step {n}")
    await asyncio.sleep(0.3)
    yield Reply(text="done", job_id="j")


async def test_coalesces_and_flushes_held_progress() -> None:
    got = [u async for u in latest_every(source([0, 0.01, 0.01, 0.01]), interval_s=0.2)]
    texts = [u.text for u in got]
    # step 0 at once; steps 1-2 superseded; step 3 delivered when the interval is up,
    # before the reply arrives 0.3 s later; then the reply.
    assert texts == ["step 0", "step 3", "done"]
    assert isinstance(got[-1], Reply)


async def test_source_errors_reach_the_consumer() -> None:
    async def broken():
        yield Progress("j", "id", 0.0, "start")
        raise RuntimeError("boom")

    got = []
    try:
        async for update in latest_every(broken(), 0.1):
            got.append(update)
    except RuntimeError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the error was swallowed")
    assert [u.text for u in got] == ["start"]
