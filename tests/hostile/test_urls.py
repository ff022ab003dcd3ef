"""Hostile and broken links against loopback servers: every hop is checked.

With ``CRATEBOT_ALLOW_PRIVATE_URLS`` off, the "public" site is let through by its exact
``127.0.0.1:PORT`` in ``CRATEBOT_PRIVATE_URL_ALLOWLIST``; the "internal" server on
another port serves real media and must never see a request.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.audio.fetch import fetch_url, resolve_source
from core.errors import BadInput, CrateBotError, TransientError
from core.settings import load_settings
from tests.audio.audio_files import encode, tone
from tests.hostile.servers import Site, page, redirect, send_bytes, serve, stream, text

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Sites:
    outer: Site
    inner: Site
    media: Path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    src = tone(folder / "src.wav", seconds=4.0)
    encode(src, folder / "song.mp3", "-b:a", "64k")
    hls = folder / "hls"
    hls.mkdir()
    encode(
        src,
        hls / "list.m3u8",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_list_size",
        "0",
        "-hls_segment_filename",
        str(hls / "seg%d.ts"),
    )
    return folder


@pytest.fixture
def sites(media: Path) -> Iterator[Sites]:
    with serve(media) as outer, serve(media) as inner:
        yield Sites(outer, inner, media)


def _settings(home: Path, outer: Site | None, **extra: object):
    allow = (f"127.0.0.1:{outer.port}",) if outer else ()
    return load_settings(home=home, allow_private_urls=False, private_url_allowlist=allow, **extra)


def _hls_pointing_to(base: str, media: Path) -> str:
    lines = (media / "hls" / "list.m3u8").read_text().splitlines()
    return "\n".join(f"{base}/hls/{line}" if line.endswith(".ts") else line for line in lines)


def _refused_inward(sites: Sites, home: Path, tmp_path: Path, url: str) -> str:
    dest = tmp_path / "w" / "download"
    with pytest.raises(BadInput) as err:
        resolve_source(url, tmp_path / "w", _settings(home, sites.outer))
    message = str(err.value)
    print("REFUSED:", url, "->", message)
    assert "Traceback" not in message and "\n" not in message
    assert sites.inner.requests == [], "a request reached the internal server"
    assert not dest.exists(), "partial download left behind"
    return message


# -- every hop: redirects, embedded URLs, playlists ---------------------------------

INWARD_REDIRECTS = [
    ("301", lambda inner: redirect(f"{inner}/song.mp3", 301)),
    ("302", lambda inner: redirect(f"{inner}/song.mp3", 302)),
    ("303", lambda inner: redirect(f"{inner}/song.mp3", 303)),
    ("307", lambda inner: redirect(f"{inner}/song.mp3", 307)),
    ("308", lambda inner: redirect(f"{inner}/song.mp3", 308)),
    ("localhost", lambda inner: redirect(inner.replace("127.0.0.1", "localhost") + "/song.mp3")),
    ("127.1", lambda inner: redirect(inner.replace("127.0.0.1", "127.1") + "/song.mp3")),
    ("decimal-ip", lambda inner: redirect(inner.replace("127.0.0.1", "2130706433") + "/song.mp3")),
    ("zero-host", lambda inner: redirect(inner.replace("127.0.0.1", "0.0.0.0") + "/song.mp3")),
    (
        "mapped-v6",
        lambda inner: redirect(inner.replace("127.0.0.1", "[::ffff:127.0.0.1]") + "/song.mp3"),
    ),
    ("metadata", lambda inner: redirect("http://169.254.169.254/latest/meta-data/")),
    ("private-10", lambda inner: redirect("http://10.0.0.1/x.mp3")),
]


@pytest.mark.parametrize("name,make", INWARD_REDIRECTS, ids=[n for n, _ in INWARD_REDIRECTS])
def test_redirect_inward_refused(sites, home, tmp_path, name, make):
    sites.outer.routes["/go"] = make(sites.inner.base)
    message = _refused_inward(sites, home, tmp_path, f"{sites.outer.base}/go")
    assert "private/internal" in message


def test_redirect_chain_turning_inward_refused(sites, home, tmp_path):
    sites.outer.routes["/a"] = redirect(f"{sites.outer.base}/b")
    sites.outer.routes["/b"] = redirect(f"{sites.outer.base}/c")
    sites.outer.routes["/c"] = redirect(f"{sites.inner.base}/song.mp3")
    message = _refused_inward(sites, home, tmp_path, f"{sites.outer.base}/a")
    assert "private/internal" in message
    assert sites.outer.requests[:3] == ["/a", "/b", "/c"]


EMBEDDED = {
    "og-audio": '<html><head><meta property="og:audio" content="{u}/song.mp3"></head></html>',
    "og-audio-secure": '<html><head><meta property="og:audio:secure_url" content="{u}/song.mp3">'
    '<meta property="og:audio" content="{u}/song.mp3"></head></html>',
    "audio-tag": '<html><body><audio src="{u}/song.mp3"></audio></body></html>',
    "source-tag": '<html><body><audio><source src="{u}/song.mp3" type="audio/mpeg">'
    "</audio></body></html>",
    "twitter-stream": '<html><head><meta name="twitter:player:stream" content="{u}/song.mp3">'
    '<meta name="twitter:card" content="player"></head></html>',
    "jwplayer": "<html><body><script>jwplayer('p').setup({{file: '{u}/song.mp3'}});"
    "</script></body></html>",
}


@pytest.mark.parametrize("name", sorted(EMBEDDED))
def test_embedded_media_inward_refused(sites, home, tmp_path, name):
    sites.outer.routes["/page"] = page(EMBEDDED[name].format(u=sites.inner.base))
    message = _refused_inward(sites, home, tmp_path, f"{sites.outer.base}/page")
    assert "private/internal" in message or "cannot download" in message or "audio" in message


def test_og_audio_outward_still_works(sites, home, tmp_path):
    sites.outer.routes["/page"] = page(EMBEDDED["og-audio"].format(u=sites.outer.base))
    info = resolve_source(f"{sites.outer.base}/page", tmp_path / "w", _settings(home, sites.outer))
    assert abs(info.duration_s - 4.0) < 0.3
    assert sites.inner.requests == []


def test_hls_segments_inward_refused(sites, home, tmp_path):
    body = _hls_pointing_to(sites.inner.base, sites.media)
    sites.outer.routes["/live.m3u8"] = text(body, "application/vnd.apple.mpegurl")
    message = _refused_inward(sites, home, tmp_path, f"{sites.outer.base}/live.m3u8")
    assert "private/internal" in message


def test_hls_master_pointing_inward_refused(sites, home, tmp_path):
    master = (
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\n'
        f"{sites.inner.base}/hls/list.m3u8\n"
    )
    sites.outer.routes["/master.m3u8"] = text(master, "application/vnd.apple.mpegurl")
    message = _refused_inward(sites, home, tmp_path, f"{sites.outer.base}/master.m3u8")
    assert "private/internal" in message or "cannot download" in message


def test_hls_on_the_public_site_works(sites, home, tmp_path):
    info = resolve_source(
        f"{sites.outer.base}/hls/list.m3u8", tmp_path / "w", _settings(home, sites.outer)
    )
    assert abs(info.duration_s - 4.0) < 0.5
    assert sites.inner.requests == []


def test_redirect_within_the_public_site_works(sites, home, tmp_path):
    sites.outer.routes["/go"] = redirect(f"{sites.outer.base}/song.mp3")
    info = resolve_source(f"{sites.outer.base}/go", tmp_path / "w", _settings(home, sites.outer))
    assert abs(info.duration_s - 4.0) < 0.3


def test_dns_rebinding_caught_at_connect(sites, home, tmp_path, monkeypatch):
    """The name resolves to the allowed address when checked, then to the internal one."""
    real = socket.getaddrinfo
    calls = {"n": 0}

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            calls["n"] += 1
            target = sites.outer.port if calls["n"] == 1 else sites.inner.port
            return real(
                "127.0.0.1", target if port in (80, sites.outer.port) else port, *args, **kwargs
            )
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings = load_settings(
        home=home,
        allow_private_urls=False,
        private_url_allowlist=(f"127.0.0.1:{sites.outer.port}",),
    )
    url = f"http://rebind.example:{sites.outer.port}/song.mp3"
    with pytest.raises(BadInput, match="private/internal"):
        fetch_url(url, tmp_path / "w" / "download", settings)
    assert sites.inner.requests == []
    assert not (tmp_path / "w" / "download").exists()


# -- only http(s) at every hop -------------------------------------------------------

ODD_SCHEME_TARGETS = [
    "file:///etc/passwd",
    "ftp://127.0.0.1:{inner_port}/song.mp3",
    "data:audio/mpeg;base64,SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4Ljc2LjEwMAAAAAAAAAAAAAAA",
    "gopher://127.0.0.1:{inner_port}/_GET%20/",
    "ws://127.0.0.1:{inner_port}/",
]


@pytest.mark.parametrize("target", ODD_SCHEME_TARGETS, ids=lambda t: t.split(":")[0])
def test_redirect_to_other_schemes_refused(sites, home, tmp_path, target):
    sites.outer.routes["/go"] = redirect(target.format(inner_port=sites.inner.port))
    _refused_inward(sites, home, tmp_path, f"{sites.outer.base}/go")


# -- caps while streaming ------------------------------------------------------------

MP3_FRAME_BYTES = 4096


def test_stream_without_length_stopped_at_the_cap(sites, home, tmp_path):
    chunk = (sites.media / "song.mp3").read_bytes()[:MP3_FRAME_BYTES]
    sites.outer.routes["/radio"] = stream(chunk, total=None)
    cap_mb = 1.0
    with pytest.raises(BadInput, match="1 MB limit"):
        fetch_url(
            f"{sites.outer.base}/radio",
            tmp_path / "w",
            _settings(home, sites.outer, max_download_mb=cap_mb),
        )
    assert not (tmp_path / "w").exists()
    # what the server managed to push includes loopback socket buffers; it stays far
    # below the tens of megabytes an uncapped download would take
    assert sites.outer.bytes_sent < cap_mb * 1024 * 1024 + 16 * 1024 * 1024


def test_finite_stream_without_length_over_the_cap(sites, home, tmp_path):
    chunk = b"\xff\xfb\x90\x64" + bytes(MP3_FRAME_BYTES - 4)
    sites.outer.routes["/big"] = stream(chunk, total=40 * 1024 * 1024)
    with pytest.raises(BadInput, match="MB limit"):
        fetch_url(
            f"{sites.outer.base}/big",
            tmp_path / "w",
            _settings(home, sites.outer, max_download_mb=2),
        )
    assert not (tmp_path / "w").exists()


def test_stated_length_over_the_cap_refused_before_download(sites, home, tmp_path):
    with pytest.raises(BadInput, match="MB limit"):
        fetch_url(
            f"{sites.outer.base}/song.mp3",
            tmp_path / "w",
            _settings(home, sites.outer, max_download_mb=0.01),
        )
    assert not (tmp_path / "w").exists()


def test_endless_slow_stream_cut_at_max_duration(sites, home, tmp_path):
    chunk = (sites.media / "song.mp3").read_bytes()[:2048]
    sites.outer.routes["/live"] = stream(chunk, total=None, delay_s=0.05)
    with pytest.raises(BadInput, match="without end"):
        fetch_url(
            f"{sites.outer.base}/live",
            tmp_path / "w",
            _settings(home, sites.outer, max_duration_s=1.5),
        )
    assert not (tmp_path / "w").exists()


# -- broken sites ----------------------------------------------------------------------


def test_http_404(sites, home, tmp_path):
    with pytest.raises(BadInput, match="404|cannot download"):
        resolve_source(
            f"{sites.outer.base}/nothing.mp3", tmp_path / "w", _settings(home, sites.outer)
        )
    assert not (tmp_path / "w" / "download").exists()


def test_http_500_is_transient(sites, home, tmp_path):
    def fail(handler):
        handler.send_error(503)

    sites.outer.routes["/down.mp3"] = fail
    with pytest.raises(TransientError):
        resolve_source(f"{sites.outer.base}/down.mp3", tmp_path / "w", _settings(home, sites.outer))


def test_page_without_media(sites, home, tmp_path):
    sites.outer.routes["/blog"] = page("<html><body><p>no music here</p></body></html>")
    with pytest.raises(BadInput):
        resolve_source(f"{sites.outer.base}/blog", tmp_path / "w", _settings(home, sites.outer))


def test_garbage_served_as_audio(sites, home, tmp_path):
    sites.outer.routes["/noise.mp3"] = lambda h: send_bytes(h, bytes(range(256)) * 64, "audio/mpeg")
    with pytest.raises(BadInput, match="not an audio file|no audio|cannot decode"):
        resolve_source(
            f"{sites.outer.base}/noise.mp3", tmp_path / "w", _settings(home, sites.outer)
        )


def test_empty_body(sites, home, tmp_path):
    sites.outer.routes["/empty.mp3"] = lambda h: send_bytes(h, b"", "audio/mpeg")
    with pytest.raises(BadInput):
        resolve_source(
            f"{sites.outer.base}/empty.mp3", tmp_path / "w", _settings(home, sites.outer)
        )


def test_redirect_loop(sites, home, tmp_path):
    sites.outer.routes["/loop"] = redirect(f"{sites.outer.base}/loop")
    with pytest.raises(CrateBotError):
        resolve_source(f"{sites.outer.base}/loop", tmp_path / "w", _settings(home, sites.outer))
    assert not (tmp_path / "w" / "download").exists()


def test_not_allow_listed_site_refused_up_front(sites, home, tmp_path):
    with pytest.raises(BadInput, match="private/internal"):
        resolve_source(f"{sites.outer.base}/song.mp3", tmp_path / "w", _settings(home, None))
    assert sites.outer.requests == [] and sites.inner.requests == []


def test_allow_private_switch_still_reaches_loopback(sites, home, tmp_path):
    settings = load_settings(home=home, allow_private_urls=True)
    sites.outer.routes["/go"] = redirect(f"{sites.inner.base}/song.mp3")
    info = resolve_source(f"{sites.outer.base}/go", tmp_path / "w", settings)
    assert abs(info.duration_s - 4.0) < 0.3
    assert sites.inner.requests and set(sites.inner.requests) == {"/song.mp3"}


# -- malformed and odd links, refused without any request ------------------------------

MALFORMED = [
    "http://[::1",
    "http://127.0.0.1:99999/x.mp3",
    "http://example.com:0/x.mp3",
    "http://",
    "http:///x.mp3",
    "https://user:pass@/x",
    "ftp://example.com/a.mp3",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript://alert(1)",
    "ws://example.com/socket",
    "http://[::1]/x.mp3",
    "http://[::]/x.mp3",
    "http://[fe80::1%25eth0]/x.mp3",
    "http://0/x.mp3",
    "http://0x7f.1/x.mp3",
    "http://100.64.0.1/x.mp3",
    "http://224.0.0.1/x.mp3",
    "http://255.255.255.255/x.mp3",
    "http://[2001:db8::1]/x.mp3",
    "http://[::ffff:10.0.0.1]/x.mp3",
    "http://192.168.1.1:8080/x.mp3",
    "http://172.16.0.1/x.mp3",
    "http://169.254.169.254/latest/meta-data/",
    "HTTP://LOCALHOST/x.mp3",
    "http://localhost./x.mp3",
    "http://a b.example/x.mp3",
    "http://exa\u0000mple.com/x.mp3",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_or_private_links_refused_cleanly(home, tmp_path, url):
    with pytest.raises(BadInput) as err:
        resolve_source(url, tmp_path / "w", _settings(home, None))
    message = str(err.value)
    print("REFUSED:", url, "->", message)
    assert message and "\n" not in message and "Traceback" not in message
    assert not (tmp_path / "w").exists()


# -- the same through the real CLI: one line on stderr, no traceback -------------------


@pytest.mark.parametrize(
    "command",
    [["id"], ["stems"], ["analyze"]],
    ids=["id", "stems", "analyze"],
)
def test_cli_refuses_inward_redirect_in_one_line(sites, home, tmp_path, command):
    sites.outer.routes["/go"] = redirect(f"{sites.inner.base}/song.mp3")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CRATEBOT_HOME": str(home),
        "CRATEBOT_PRIVATE_URL_ALLOWLIST": f"127.0.0.1:{sites.outer.port}",
    }
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *command, f"{sites.outer.base}/go"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    assert "private/internal" in run.stderr, run.stderr
    assert sites.inner.requests == []
