"""Result pages in a real browser: headless Chromium (Debian's) driven by Playwright,
against a real ``cratebot serve`` on loopback, with jobs run through ``cratebot chat``."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.identify.synth import write_songs
from tests.stems.tiny_models import save_package, tiny_htdemucs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/setup does it)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    """A home with finished identify, stems and sections jobs, served by `cratebot serve`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.port = _free_port()
        repo = root / "models"
        repo.mkdir()
        save_package(tiny_htdemucs(), repo / "tinyht.th")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRATEBOT_")} | {
            "CRATEBOT_HOME": str(self.home),
            "CRATEBOT_SECRET": "pages-test-secret",
            "CRATEBOT_HTTP_PORT": str(self.port),
            "CRATEBOT_IDENTIFY_RECOGNIZERS": "local",
            "CRATEBOT_DEMUCS_REPO": str(repo),
            "CRATEBOT_OFFLINE": "1",
        }
        self.jobs: dict[str, str] = {}

    def cratebot(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli.main", *args],
            cwd=ROOT,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def chat(self, command: str) -> dict:
        out = self.cratebot("chat", "--json", "--out", str(self.root / "out"), "-c", command)
        assert out.returncode == 0, out.stdout + out.stderr
        replies = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        return replies[-1]

    def link(self, job_id: str, **env: str) -> str:
        out = self.cratebot("jobs", "link", job_id, **env)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]


def _job_id(reply: dict) -> str:
    text = json.dumps(reply)
    match = re.search(r'"job_id": "([A-Za-z0-9_-]+)"', text) or re.search(
        r'"id": "([A-Za-z0-9_-]+)"', text
    )
    assert match, text
    return match.group(1)


def wait_for(page: object, expression: str, timeout_s: float = 60.0) -> object:
    """Poll ``expression`` in the page (wait_for_function would need 'unsafe-eval', which
    the pages' Content-Security-Policy rightly refuses)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {expression}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("pages")
    s = Site(root)
    songs = write_songs(root / "songs", 3, seconds=40.0)
    assert s.cratebot("index", *map(str, songs)).returncode == 0
    mix = root / "mix.wav"
    parts = [sf.read(p, dtype="float32")[0][5 * 44100 : 30 * 44100] for p in songs]
    sf.write(mix, np.concatenate(parts), 44100)
    s.jobs["identify"] = _job_id(s.chat(f"/id {mix}"))
    song = root / "song.wav"
    sf.write(song, sf.read(songs[0], dtype="float32")[0][: 6 * 44100], 44100)
    s.jobs["stems"] = _job_id(s.chat(f"/stems {song} model=tinyht"))
    s.jobs["sections"] = _job_id(s.chat(f"/sections {root / 'songs'} bpm=120 delta=40 bars=4"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve"],
        cwd=ROOT,
        env=s.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{s.port}/health", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        yield s
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.slow
def test_identify_page_shows_the_tracklist(site: Site, browser: object) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 800})  # a phone
    response = page.goto(site.link(site.jobs["identify"]))
    assert response.status == 200
    rows = page.locator("table.tracks tbody tr")
    text = page.locator("table.tracks").inner_text()
    for k in range(3):
        assert f"Song {k}" in text
    assert rows.count() >= 3
    # The timeline is interactive and keyboard usable.
    first = page.locator("#timeline .span").first
    first.focus()
    page.keyboard.press("Enter")
    assert "active" in (page.locator("table.tracks tbody tr").first.get_attribute("class") or "")
    page.keyboard.press("ArrowRight")
    assert "active" in (page.locator("#timeline .span").nth(1).get_attribute("class") or "")
    # Exports: CSV from the page, CUE and JSON through signed download links.
    csv_href = page.locator("p.exports a", has_text="CSV").get_attribute("href")
    body = urllib.request.urlopen(f"http://127.0.0.1:{site.port}{csv_href}").read().decode()
    assert body.startswith("start,end,artist,title,speed,confidence,recognizer")
    assert page.locator("p.exports a", has_text="CUE").count() == 1
    # Nothing is loaded from outside the server.
    assert page.evaluate(
        "performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))"
    )
    page.close()


@pytest.mark.slow
def test_stem_lanes_mute_and_solo(site: Site, browser: object) -> None:
    page = browser.new_page()
    page.goto(site.link(site.jobs["stems"]))
    wait_for(
        page,
        "window.cratebotPlayer && (window.cratebotPlayer.ready || window.cratebotPlayer.error)",
    )
    assert page.evaluate("window.cratebotPlayer.error || null") is None
    lanes = page.locator(".lane")
    assert lanes.count() == 4
    lanes.nth(0).locator("button.mute").click()
    assert lanes.nth(0).locator("button.mute").get_attribute("aria-pressed") == "true"
    gains = page.evaluate("window.cratebotPlayer.lanes.map(l => l.effective)")
    assert gains == [0, 1, 1, 1]
    page.keyboard.press("Shift+2")  # solo the second lane from the keyboard
    gains = page.evaluate("window.cratebotPlayer.lanes.map(l => l.effective)")
    assert gains == [0, 1, 0, 0]
    page.locator("#play").click()
    wait_for(page, "window.cratebotPlayer.playing === true")
    page.close()


@pytest.mark.slow
def test_sections_page_has_a_player_per_part(site: Site, browser: object) -> None:
    page = browser.new_page()
    page.goto(site.link(site.jobs["sections"]))
    parts = page.locator("article.part")
    assert parts.count() >= 1
    assert page.locator("article.part audio").count() == parts.count()
    src = page.locator("article.part audio").first.get_attribute("src")
    with urllib.request.urlopen(f"http://127.0.0.1:{site.port}{src}") as r:
        assert r.read(4) == b"RIFF"
    assert page.locator("p.summary a", has_text="sections.csv").count() == 1
    page.close()


@pytest.mark.slow
def test_tampered_and_expired_links_are_refused(site: Site, browser: object) -> None:
    url = site.link(site.jobs["identify"])
    page = browser.new_page()
    tampered = re.sub(
        r"sig=([0-9a-f])", lambda m: "sig=" + ("0" if m.group(1) != "0" else "1"), url
    )
    response = page.goto(tampered)
    assert response.status == 403
    assert "signature is invalid" in page.content()
    expired = site.link(site.jobs["identify"], CRATEBOT_LINK_TTL_S="-60")
    response = page.goto(expired)
    assert response.status == 410
    assert "expired" in page.content()
    other_job = url.replace(site.jobs["identify"], site.jobs["stems"])
    assert page.goto(other_job).status == 403
    page.close()
