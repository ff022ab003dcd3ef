"""AudD (https://docs.audd.io/): multipart upload of a short audio window with the API token."""

from __future__ import annotations

from typing import Any

import aiohttp

from core.identify.apis.http import json_or_raise
from core.identify.online import Answer, RateLimited, Refused, ServiceDown, Window

# error codes AudD documents: 900/901 bad or missing token, 902 limit reached,
# 904 not enough audio; 611 is its rate limit
_REFUSED = {900, 901, 902}
_RATE = {611}


class AudDService:
    name = "audd"
    window_s = 12.0  # AudD recommends 10-20 s
    hop_s = 45.0
    sample_rate = 22050

    def __init__(self, base_url: str, token: str, rate_per_s: float = 2.0) -> None:
        self.base_url = base_url
        self.token = token
        self.rate_per_s = rate_per_s

    async def query(self, http: aiohttp.ClientSession, window: Window) -> Answer:
        form = aiohttp.FormData()
        form.add_field("api_token", self.token)
        form.add_field("return", "timecode")
        form.add_field(
            "file", window.encoded("OGG", "VORBIS"), filename="window.ogg", content_type="audio/ogg"
        )
        async with http.post(self.base_url, data=form) as resp:
            data = await json_or_raise(resp)
        return parse_answer(data)


def parse_answer(data: Any) -> Answer:
    if not isinstance(data, dict):
        raise ServiceDown("unexpected answer (not a JSON object)")
    if data.get("status") == "error":
        error = data.get("error") or {}
        code = error.get("error_code")
        message = error.get("error_message") or "error"
        if code in _REFUSED:
            raise Refused(f"{message} (code {code})")
        if code in _RATE:
            raise RateLimited(None)
        raise ServiceDown(f"{message} (code {code})")
    result = data.get("result")
    if not isinstance(result, dict):
        return Answer()
    extra: dict[str, Any] = {
        k: result[k] for k in ("timecode", "album", "song_link") if k in result
    }
    return Answer(result.get("artist") or None, result.get("title") or None, extra)
