"""Fetching links through yt-dlp, against a media file served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.audio.fetch import check_url, fetch_url, resolve_source
from core.errors import BadInput
from core.settings import load_settings
from tests.audio.audio_files import encode, tone
from tests.loopback_http import serve_folder


@pytest.fixture
def media_server(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    encode(tone(tmp_path / "src.wav", seconds=6.0), folder / "song.mp3", "-b:a", "128k")
    (folder / "page.txt").write_text("nothing to see")
    with serve_folder(folder) as url:
        yield url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.mp3",
        "http://localhost:8080/a",
        "http://10.1.2.3/a",
        "http://192.168.0.10/a",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/a",
        "http://0.0.0.0/a",
    ],
)
def test_private_addresses_refused(url):
    with pytest.raises(BadInput, match="private/internal address"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp3", "file:///etc/passwd", "http:///x"])
def test_bad_schemes_and_hosts_refused(url):
    with pytest.raises(BadInput):
        check_url(url, allow_private=False)


def test_loopback_media_refused_by_default(home, media_server, tmp_path):
    settings = load_settings(home=home)
    with pytest.raises(BadInput, match="private/internal"):
        resolve_source(f"{media_server}/song.mp3", tmp_path / "w", settings)


def test_loopback_media_fetched_when_allowed(home, media_server, tmp_path):
    settings = load_settings(home=home, allow_private_urls=True)
    seen: list[float] = []
    info = resolve_source(
        f"{media_server}/song.mp3", tmp_path / "w", settings, lambda f, t: seen.append(f)
    )
    assert info.path.parent == tmp_path / "w" / "download"
    assert abs(info.duration_s - 6.0) < 0.2
    assert seen and seen[-1] == pytest.approx(1.0)


def test_download_size_cap(home, media_server, tmp_path):
    settings = load_settings(home=home, allow_private_urls=True, max_download_mb=0.01)
    with pytest.raises(BadInput, match="MB limit"):
        fetch_url(f"{media_server}/song.mp3", tmp_path / "w", settings)


def test_duration_cap_on_links(home, media_server, tmp_path):
    settings = load_settings(home=home, allow_private_urls=True, max_duration_s=2)
    with pytest.raises(BadInput, match="over the limit"):
        resolve_source(f"{media_server}/song.mp3", tmp_path / "w", settings)


def test_non_media_link_refused_clearly(home, media_server, tmp_path):
    settings = load_settings(home=home, allow_private_urls=True)
    with pytest.raises(BadInput) as err:
        resolve_source(f"{media_server}/page.txt", tmp_path / "w", settings)
    assert "page" in str(err.value) or "audio" in str(err.value) or "download" in str(err.value)


def test_missing_link_refused(home, media_server, tmp_path):
    settings = load_settings(home=home, allow_private_urls=True)
    with pytest.raises(BadInput, match="cannot download|404|nothing"):
        fetch_url(f"{media_server}/missing.mp3", tmp_path / "w", settings)
    assert not list(Path(tmp_path / "w").glob("input.*"))
