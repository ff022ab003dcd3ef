"""Online recognizers: windows of the mix sent to a web service, politely and cached.

Each service gets windows of the length it works best with, a rate limiter
(aiolimiter), retries with backoff on 429/5xx (honouring ``Retry-After``), a
cache keyed by the hash of the window's audio, and clean failure: a timeout or
a dead service is a miss for that window, never a crashed job.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import numpy as np

from core.audio import decode_array
from core.identify.tracklist import Play, norm

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """429: the service asks us to slow down."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class ServiceDown(Exception):
    """5xx or a connection failure: worth another try after a pause."""


class Refused(Exception):
    """The service refuses us for good (bad token, quota): stop asking it in this run."""


class CircuitOpen(Exception):
    """The service could not be reached several times in a row: skip it for this job."""


#: Consecutive connection failures (refused, reset, DNS, timeout) that open the breaker.
BREAKER_THRESHOLD = 3


@dataclass
class Breaker:
    """Counts connection failures in a row across all windows of one job; once open, the
    service is skipped for the rest of the job instead of costing every window its
    retries and timeouts."""

    threshold: int = BREAKER_THRESHOLD
    failures: int = 0
    last_error: str = ""

    @property
    def open(self) -> bool:
        return self.failures >= self.threshold

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = str(exc) or type(exc).__name__

    def succeeded(self) -> None:
        self.failures = 0


@dataclass
class Window:
    start: float
    duration: float
    samples: np.ndarray  # mono float32
    sample_rate: int

    @property
    def digest(self) -> str:
        pcm = np.clip(self.samples * 32767, -32768, 32767).astype("<i2").tobytes()
        return hashlib.sha256(pcm + f"/{self.sample_rate}".encode()).hexdigest()

    def encoded(self, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, self.samples, self.sample_rate, format=fmt, subtype=subtype)
        return buf.getvalue()


@dataclass
class Answer:
    """A service's answer for one window: a track, or no match (``title is None``)."""

    artist: str | None = None
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"artist": self.artist, "title": self.title, "extra": self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        return cls(data.get("artist"), data.get("title"), dict(data.get("extra") or {}))


class Service(Protocol):
    name: str
    window_s: float
    hop_s: float
    sample_rate: int
    rate_per_s: float

    async def query(self, http: aiohttp.ClientSession, window: Window) -> Answer: ...


class Cache(Protocol):
    def cache_get(self, service: str, window_hash: str) -> dict[str, Any] | None: ...

    def cache_put(self, service: str, window_hash: str, answer: dict[str, Any]) -> None: ...


def plan_windows(
    stretches: list[tuple[float, float]], window_s: float, hop_s: float
) -> list[tuple[float, float]]:
    """(start, duration) of windows spread over each stretch, at least one per stretch."""
    out = []
    for a, b in stretches:
        length = b - a
        if length < min(window_s, 3.0):
            continue
        if length <= window_s:
            out.append((a, length))
            continue
        n = int((length - window_s) // hop_s) + 1
        used = (n - 1) * hop_s + window_s
        first = a + (length - used) / 2  # centred, away from the crossfades at the edges
        out.extend((first + i * hop_s, window_s) for i in range(n))
    return out


@dataclass
class OnlineResult:
    plays: list[Play]
    queried: int = 0
    cached: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


async def _ask(
    service: Service,
    http: aiohttp.ClientSession,
    window: Window,
    limiter: Any,
    attempts: int,
    backoff_s: float,
    breaker: Breaker | None = None,
) -> Answer:
    breaker = breaker if breaker is not None else Breaker()
    for attempt in range(attempts):
        if breaker.open:
            raise CircuitOpen(breaker.last_error)
        async with limiter:
            try:
                answer = await service.query(http, window)
                breaker.succeeded()
                return answer
            except TimeoutError as exc:  # a miss for this window, as before; counted
                breaker.failed(exc)
                raise
            except aiohttp.ClientConnectionError as exc:
                breaker.failed(exc)
                log.info("%s: %s (attempt %d)", service.name, exc, attempt + 1)
                wait = backoff_s * 2**attempt
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else backoff_s * 2**attempt
            except (ServiceDown, aiohttp.ClientPayloadError) as exc:
                log.info("%s: %s (attempt %d)", service.name, exc, attempt + 1)
                wait = backoff_s * 2**attempt
        if attempt + 1 < attempts:
            await asyncio.sleep(min(wait, 30.0) * (1 + 0.1 * random.random()))
    raise ServiceDown(f"{service.name}: no answer after {attempts} attempts")


async def recognize(
    service: Service,
    source: Path,
    stretches: list[tuple[float, float]],
    cache: Cache | None,
    timeout_s: float = 20.0,
    attempts: int = 4,
    backoff_s: float = 1.0,
    concurrency: int = 4,
    progress: Callable[[float, str], None] | None = None,
) -> OnlineResult:
    """Ask ``service`` about windows over ``stretches`` of ``source``; group answers into plays."""
    from aiolimiter import AsyncLimiter

    planned = plan_windows(stretches, service.window_s, service.hop_s)
    result = OnlineResult([])
    if not planned:
        return result
    limiter = AsyncLimiter(max(service.rate_per_s, 0.01), 1.0)
    semaphore = asyncio.Semaphore(concurrency)
    refused: list[str] = []
    breaker = Breaker()
    skipped = 0
    answers: dict[float, Answer] = {}
    done = 0

    async def one(http: aiohttp.ClientSession, start: float, duration: float) -> None:
        nonlocal done, skipped
        async with semaphore:
            if refused:
                return
            if breaker.open:
                skipped += 1
                return
            samples = await asyncio.to_thread(
                decode_array, source, service.sample_rate, 1, start, duration
            )
            window = Window(start, duration, samples[:, 0].copy(), service.sample_rate)
            if len(window.samples) < service.sample_rate:  # under a second: nothing to ask
                return
            key = window.digest
            cached = cache.cache_get(service.name, key) if cache else None
            if cached is not None:
                answers[start] = Answer.from_json(cached)
                result.cached += 1
            else:
                try:
                    answer = await asyncio.wait_for(
                        _ask(service, http, window, limiter, attempts, backoff_s, breaker),
                        timeout=timeout_s * attempts + 5,
                    )
                except Refused as exc:
                    refused.append(str(exc))
                    return
                except CircuitOpen:
                    skipped += 1
                    return
                except (TimeoutError, ServiceDown, aiohttp.ClientError) as exc:
                    result.failed += 1
                    log.info("%s: window at %.0f s is a miss: %s", service.name, start, exc)
                    return
                result.queried += 1
                answers[start] = answer
                if cache:
                    cache.cache_put(service.name, key, answer.as_json())
            done += 1
            if progress:
                progress(done / len(planned), f"{service.name}: {done}/{len(planned)} windows")

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(one(http, s, d) for s, d in planned))
    if refused:
        result.notes.append(f"{service.name} refused the request: {refused[0]}")
    if breaker.open:
        result.notes.append(
            f"{service.name} was unreachable ({breaker.failures} connection failures in a "
            f"row: {breaker.last_error}); skipped it for the remaining {skipped} window(s)"
        )
    if result.failed:
        result.notes.append(
            f"{service.name}: {result.failed} window(s) got no answer (timeout or service error)"
        )
    result.plays = group_answers(service.name, planned, answers, max_gap_s=service.hop_s)
    return result


def group_answers(
    name: str, planned: list[tuple[float, float]], answers: dict[float, Answer], max_gap_s: float
) -> list[Play]:
    """Neighbouring windows (at most ``max_gap_s`` apart) naming the same track become one play."""
    plays: list[Play] = []
    run: list[tuple[float, float, Answer]] = []

    def close() -> None:
        if run:
            a = run[0][2]
            conf = 0.6 if len(run) == 1 else min(0.95, 0.7 + 0.1 * (len(run) - 1))
            plays.append(
                Play(run[0][0], run[-1][0] + run[-1][1], a.artist, a.title, conf, {name}, None)
            )
            run.clear()

    for start, duration in planned:
        answer = answers.get(start)
        if answer is None or answer.title is None:
            close()
            continue
        if run and (
            (norm(run[-1][2].title), norm(run[-1][2].artist))
            != (norm(answer.title), norm(answer.artist))
            or start - (run[-1][0] + run[-1][1]) > max_gap_s
        ):
            close()
        run.append((start, duration, answer))
    close()
    return plays
