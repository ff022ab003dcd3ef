"""Figures for hostile input: time to refuse a damaged file, bytes fetched past the size cap,
and how many cases each hostile test class tries.

    python3 -m benchmarks.hostile_inputs
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from core.audio import fetch as fetch_module
from core.audio.decode import decode_blocks
from core.audio.fetch import fetch_url
from core.audio.probe import probe_audio
from core.errors import BadInput
from core.settings import load_settings
from tests.hostile import test_urls
from tests.hostile.files import CASES, _long_corrupt_mp3, make_base
from tests.hostile.servers import serve, stream


def time_to_refuse(folder: Path, runs: int = 5) -> tuple[float, str]:
    base = make_base(folder / "base")
    path = Path(_long_corrupt_mp3(folder, base))
    took = []
    message = ""
    for _ in range(runs):
        began = time.perf_counter()
        try:
            probe_audio(path)
            for _block in decode_blocks(path):
                pass
        except BadInput as exc:
            message = str(exc)
        took.append(time.perf_counter() - began)
    return statistics.median(took), message


def past_the_cap(folder: Path, cap_mb: float = 1.0) -> tuple[int, int, int]:
    peak = {"bytes": 0}
    original = fetch_module._Caps.hook

    def recording(self: fetch_module._Caps, status: dict) -> None:  # type: ignore[type-arg]
        peak["bytes"] = max(peak["bytes"], int(status.get("downloaded_bytes") or 0))
        original(self, status)

    fetch_module._Caps.hook = recording  # type: ignore[method-assign]
    try:
        with serve() as site:
            site.routes["/radio"] = stream(b"\xff\xfb\x90\x64" + bytes(4092), total=None)
            settings = load_settings(
                home=folder / "home", allow_private_urls=True, max_download_mb=cap_mb
            )
            try:
                fetch_url(f"{site.base}/radio", folder / "dl", settings)
            except BadInput:
                pass
            sent = site.bytes_sent
    finally:
        fetch_module._Caps.hook = original  # type: ignore[method-assign]
    cap = settings.max_download_bytes
    return peak["bytes"] - cap, sent - cap, cap


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seconds, message = time_to_refuse(folder)
        print(f"damaged 90 s MP3 refused in {seconds * 1000:.0f} ms (median of 5): {message}")
        client, server, cap = past_the_cap(folder)
        print(
            f"endless stream, cap {cap} B: {client} B written past the cap "
            f"(one {fetch_module.BLOCK_BYTES} B block at most); the server pushed {server} B "
            "past it (loopback socket buffers included)"
        )
    kinds = {"bad": 0, "odd": 0}
    for case in CASES:
        kinds[case.kind] += 1
    print(
        f"files: {len(CASES)} generated cases ({kinds['bad']} bad, {kinds['odd']} odd), "
        "each through decode, analyze, identify and stems in-process"
    )
    redirects = len(test_urls.INWARD_REDIRECTS) + 1
    embedded = len(test_urls.EMBEDDED)
    schemes = len(test_urls.ODD_SCHEME_TARGETS)
    malformed = len(test_urls.MALFORMED)
    print(
        f"links: {redirects} inward redirects, {embedded} embedded-media pages, "
        f"2 HLS, 1 DNS rebinding, {schemes} odd-scheme redirects, {malformed} malformed/private "
        "links, 4 cap cases, 6 broken sites, 5 controls, 3 CLI"
    )


if __name__ == "__main__":
    main()
