"""The checks behind ``cratebot doctor``: each returns one row with its fix.

Network checks open a TCP connection with a short timeout in a thread, so an
offline machine answers in seconds instead of waiting on DNS.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from core.settings import Settings

Level = Literal["OK", "WARN", "FAIL"]
_TIMEOUT_S = 3.0
_TELEGRAM_TOKEN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
_DISCORD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str = ""


def reachable(url: str, timeout_s: float = _TIMEOUT_S) -> str | None:
    """None when a TCP connection to ``url``'s host and port opens, else why not."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    host = parts.hostname
    if not host:
        return f"no host in {url!r}"
    try:
        port = parts.port or {"https": 443, "http": 80, "redis": 6379, "rediss": 6379}.get(
            parts.scheme, 443
        )
    except ValueError:
        return f"bad port in {url!r}"
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                outcome.append(None)
        except OSError as exc:
            outcome.append(exc.strerror or type(exc).__name__)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout_s + 0.5)
    return outcome[0] if outcome else f"no answer from {host}:{port} in {timeout_s:g} s"


def check_ffmpeg(settings: Settings) -> Check:
    from core.audio import ffmpeg_exe

    try:
        exe = ffmpeg_exe()
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("ffmpeg", "FAIL", str(exc), "pip install imageio-ffmpeg, or install ffmpeg")
    first = (out.stdout.splitlines() or ["?"])[0]
    return Check("ffmpeg", "OK", f"{' '.join(first.split()[:3])} ({exe})")


def check_portaudio(settings: Settings) -> Check:
    found = ctypes.util.find_library("portaudio")
    if found:
        return Check("PortAudio", "OK", found)
    return Check(
        "PortAudio",
        "WARN",
        "not found (only the Pi server's sound output needs it)",
        "apt-get install libportaudio2",
    )


def check_database(settings: Settings) -> Check:
    from sqlalchemy import create_engine, text

    from storage.db import sync_url

    shown = settings.database_url.split("@")[-1]
    try:
        engine = create_engine(
            sync_url(settings.database_url), connect_args=_connect_args(settings)
        )
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - every driver error means "cannot use it"
        reason = str(exc).splitlines()[0][:120]
        return Check("database", "FAIL", f"{shown}: {reason}", "check CRATEBOT_DATABASE_URL")
    return Check("database", "OK", shown)


def _connect_args(settings: Settings) -> dict[str, object]:
    if settings.database_url.startswith("postgresql"):
        return {"connect_timeout": int(_TIMEOUT_S)}
    return {}


def check_broker(settings: Settings) -> Check:
    url = str(getattr(settings, "broker_url", "") or os.environ.get("CRATEBOT_BROKER_URL", ""))
    if not url:
        return Check("broker", "OK", "none (jobs run inside `cratebot serve`)")
    problem = reachable(url)
    shown = url.split("@")[-1]
    if problem:
        return Check(
            "broker", "FAIL", f"{shown}: {problem}", "start Redis or fix CRATEBOT_BROKER_URL"
        )
    return Check("broker", "OK", shown)


def check_weights(settings: Settings) -> Check:
    from core.stems.model_store import status
    from core.stems.models import DEFAULT_MODEL

    found = status(DEFAULT_MODEL, settings.models_dir)
    if found.present:
        return Check("Demucs weights", "OK", f"{DEFAULT_MODEL}: {found.where}")
    return Check(
        "Demucs weights",
        "WARN",
        f"{DEFAULT_MODEL} not on this machine (stems needs it)",
        f"cratebot models fetch {DEFAULT_MODEL}  (or try --model demucs_unittest)",
    )


def check_secret(settings: Settings) -> Check:
    if settings.secret is not None:
        if len(settings.secret.get_secret_value()) < 16:
            return Check("secret", "WARN", "CRATEBOT_SECRET is short", "use 32+ random characters")
        return Check("secret", "OK", "CRATEBOT_SECRET set")
    key_file = settings.home / "secret.key"
    if key_file.is_file():
        return Check("secret", "OK", f"kept in {key_file}")
    return Check("secret", "OK", f"will be created in {key_file} at first `serve`")


def check_telegram(settings: Settings) -> Check:
    if settings.telegram_token is None:
        return Check("Telegram", "OK", "not configured (CRATEBOT_TELEGRAM_TOKEN unset)")
    token = settings.telegram_token.get_secret_value()
    if not _TELEGRAM_TOKEN.match(token):
        return Check(
            "Telegram",
            "FAIL",
            "token does not look like a bot token (digits:letters)",
            "copy the token BotFather gave you into CRATEBOT_TELEGRAM_TOKEN",
        )
    base = settings.telegram_base_url or "https://api.telegram.org/bot"
    problem = reachable(base)
    if problem:
        return Check(
            "Telegram", "WARN", f"{urlsplit(base).netloc}: {problem}", "check the network/proxy"
        )
    return Check("Telegram", "OK", f"token looks valid; {urlsplit(base).netloc} reachable")


def check_discord(settings: Settings) -> Check:
    if settings.discord_token is None:
        return Check("Discord", "OK", "not configured (CRATEBOT_DISCORD_TOKEN unset)")
    if not _DISCORD_TOKEN.match(settings.discord_token.get_secret_value()):
        return Check(
            "Discord",
            "FAIL",
            "token does not look like a bot token (three dot-separated parts)",
            "copy the Bot token from the Developer Portal into CRATEBOT_DISCORD_TOKEN",
        )
    problem = reachable("https://discord.com")
    if problem:
        return Check("Discord", "WARN", f"discord.com: {problem}", "check the network/proxy")
    return Check("Discord", "OK", "token looks valid; discord.com reachable")


def check_shazam(settings: Settings) -> Check:
    recognizers = settings.identify_recognizers or "local,shazam"
    if "shazam" not in recognizers:
        return Check("Shazam", "OK", "not used (CRATEBOT_IDENTIFY_RECOGNIZERS)")
    problem = reachable(settings.shazam_url)
    if problem:
        return Check(
            "Shazam",
            "WARN",
            f"{urlsplit(settings.shazam_url).netloc}: {problem}",
            "identify still works with the local library; or set "
            "CRATEBOT_IDENTIFY_RECOGNIZERS=local",
        )
    return Check("Shazam", "OK", f"{urlsplit(settings.shazam_url).netloc} reachable")


def check_disk(settings: Settings) -> Check:
    usage = shutil.disk_usage(settings.home)
    free_gb = usage.free / 1e9
    detail = f"{free_gb:.1f} GB free in {settings.home}"
    if free_gb < 1:
        return Check("free disk", "FAIL", detail, "free space or point CRATEBOT_HOME elsewhere")
    if free_gb < 5:
        return Check("free disk", "WARN", detail, "stems of long mixes need several GB")
    return Check("free disk", "OK", detail)


CHECKS: tuple[Callable[[Settings], Check], ...] = (
    check_ffmpeg,
    check_portaudio,
    check_database,
    check_broker,
    check_weights,
    check_secret,
    check_telegram,
    check_discord,
    check_shazam,
    check_disk,
)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, network ones in parallel; a check that breaks is a FAIL row."""
    results: list[Check | None] = [None] * len(CHECKS)

    def run(i: int, check: Callable[[Settings], Check]) -> None:
        try:
            results[i] = check(settings)
        except Exception as exc:  # noqa: BLE001 - doctor reports, it never crashes
            name = check.__name__.removeprefix("check_")
            results[i] = Check(name, "FAIL", f"check failed: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(CHECKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return [
        r or Check(CHECKS[i].__name__.removeprefix("check_"), "FAIL", "no answer in 30 s")
        for i, r in enumerate(results)
    ]
