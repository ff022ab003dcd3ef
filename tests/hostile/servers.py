"""Loopback HTTP servers that behave like hostile or broken media sites.

``inner`` stands for an internal service (the venue's network, a cloud metadata
endpoint): it serves real media, so a test fails loudly if the bot ever reaches it,
and it counts every request. ``outer`` stands for a public site (allow-listed by
port in the tests) and answers with redirects, pages, playlists and streams that
point inward or never end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Site:
    base: str
    port: int
    requests: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    files: Path | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up mid-stream are expected


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        site = self.server.site
        site.requests.append(self.path)
        path = self.path.split("?", 1)[0]
        route = site.routes.get(path)
        if route is not None:
            route(self)
            return
        if site.files is not None:
            target = (site.files / path.lstrip("/")).resolve()
            if target.is_file() and site.files.resolve() in target.parents:
                send_bytes(self, target.read_bytes(), _mime(target.name))
                return
        self.send_error(404)


def _mime(name: str) -> str:
    if name.endswith(".m3u8"):
        return "application/vnd.apple.mpegurl"
    if name.endswith(".ts"):
        return "video/mp2t"
    if name.endswith(".mp3"):
        return "audio/mpeg"
    if name.endswith(".html"):
        return "text/html"
    return "application/octet-stream"


def send_bytes(
    handler: BaseHTTPRequestHandler, data: bytes, mime: str, length: bool = True
) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", mime)
    if length:
        handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command == "HEAD":
        return
    try:
        handler.wfile.write(data)
        handler.server.site.bytes_sent += len(data)  # type: ignore[attr-defined]
    except OSError:
        pass


def redirect(location: str, code: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def page(html: str) -> Route:
    return lambda handler: send_bytes(handler, html.encode(), "text/html; charset=utf-8")


def text(body: str, mime: str) -> Route:
    return lambda handler: send_bytes(handler, body.encode(), mime)


def stream(
    chunk: bytes, total: int | None, delay_s: float = 0.0, mime: str = "audio/mpeg"
) -> Route:
    """``chunk`` repeated without Content-Length, up to ``total`` bytes (None: endless,
    until the client hangs up)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", mime)
        handler.end_headers()
        if handler.command == "HEAD":
            return
        site: Site = handler.server.site  # type: ignore[attr-defined]
        sent = 0
        deadline = time.monotonic() + 120  # bounded even if a client never hangs up
        try:
            while (total is None or sent < total) and time.monotonic() < deadline:
                handler.wfile.write(chunk)
                sent += len(chunk)
                site.bytes_sent += len(chunk)
                if delay_s:
                    time.sleep(delay_s)
        except OSError:
            pass

    return route


@contextmanager
def serve(files: Path | None = None) -> Iterator[Site]:
    server = _Server(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.site = Site(base=f"http://127.0.0.1:{port}", port=port, files=files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
