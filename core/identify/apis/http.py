"""What every recognition service's HTTP status means to the online recognizer."""

from __future__ import annotations

from typing import Any

import aiohttp

from core.identify.online import RateLimited, Refused, ServiceDown


def retry_after(resp: aiohttp.ClientResponse) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def json_or_raise(resp: aiohttp.ClientResponse) -> Any:
    """The JSON body, or the exception the recognizer acts on (back off, give up, note)."""
    if resp.status == 429:
        raise RateLimited(retry_after(resp))
    if resp.status in (401, 403):
        raise Refused(f"HTTP {resp.status}")
    if resp.status >= 400:
        raise ServiceDown(f"HTTP {resp.status}")
    return await resp.json(content_type=None)
