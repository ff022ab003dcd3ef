"""Shazam: the signature is computed locally by shazamio's Rust core; we send the request.

shazamio's own ``Shazam.recognize`` hard-codes ``https://amp.shazam.com`` and
retries up to 20 times inside its HTTP client, which would bypass our rate
limiter, cache and timeout-is-a-miss rule. So only its signature generator
(``shazamio_core.Recognizer``) is used, and the request it would send
(``shazamio.misc.ShazamUrl.SEARCH_FROM_FILE`` with ``Converter.data_search``'s
body) is built here against a configurable base URL.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp

from core.identify.apis.http import json_or_raise
from core.identify.online import Answer, ServiceDown, Window

TAG_PATH = "/discovery/v5/{language}/{country}/iphone/-/tag/{u1}/{u2}"
TAG_QUERY = {
    "sync": "true",
    "webv3": "true",
    "sampling": "true",
    "connected": "",
    "shazamapiversion": "v3",
    "sharehub": "true",
    "hubv5minorversion": "v5.1",
    "hidelb": "true",
    "video": "v3",
}


class ShazamService:
    name = "shazam"
    window_s = 10.0  # Shazam clients send ~10-12 s; 15 s and more never matches
    hop_s = 30.0
    sample_rate = 16000  # the signature generator works at 16 kHz mono

    def __init__(
        self, base_url: str, rate_per_s: float = 1.0, language: str = "en-US", country: str = "GB"
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rate_per_s = rate_per_s
        self.language = language
        self.country = country

    async def signature(self, window: Window) -> dict[str, Any]:
        from shazamio_core import Recognizer, SearchParams

        seconds = max(1, int(round(window.duration)))
        recognizer = Recognizer(segment_duration_seconds=seconds)
        sig = await recognizer.recognize_bytes(
            window.encoded(), SearchParams(segment_duration_seconds=seconds)
        )
        return {
            "timezone": sig.timezone,
            "signature": {"uri": sig.signature.uri, "samplems": sig.signature.samples},
            "timestamp": sig.timestamp or int(time.time() * 1000),
            "context": {},
            "geolocation": {},
        }

    async def query(self, http: aiohttp.ClientSession, window: Window) -> Answer:
        body = await self.signature(window)
        url = self.base_url + TAG_PATH.format(
            language=self.language,
            country=self.country,
            u1=str(uuid.uuid4()).upper(),
            u2=str(uuid.uuid4()).upper(),
        )
        headers = {
            "X-Shazam-Platform": "IPHONE",
            "X-Shazam-AppVersion": "14.1.0",
            "Accept": "*/*",
            "Accept-Language": self.language,
            "User-Agent": "Shazam/3685 CFNetwork/1197 Darwin/20.0.0",
        }
        async with http.post(url, params=TAG_QUERY, json=body, headers=headers) as resp:
            data = await json_or_raise(resp)
        return parse_answer(data)


def parse_answer(data: Any) -> Answer:
    if not isinstance(data, dict):
        raise ServiceDown("unexpected answer (not a JSON object)")
    track = data.get("track")
    if not data.get("matches") or not isinstance(track, dict):
        return Answer()
    match = data["matches"][0] if isinstance(data["matches"][0], dict) else {}
    extra = {k: match.get(k) for k in ("offset", "timeskew", "frequencyskew") if k in match}
    extra["key"] = track.get("key")
    return Answer(track.get("subtitle") or None, track.get("title") or None, extra)
