"""``cratebot-pi``: run the venue audio server, or ``cratebot-pi send`` a command to one.

cratebot-pi [--host 0.0.0.0] [--port 57120] [--token T | CRATEBOT_PI_TOKEN]
            --music-dir DIR [--buffer-size 256|512|1024]
            [--stretch-method playback_rate|wsola|rubberband] [--device NAME]
            [--offline-render OUT.wav [--offline-speed X]]
            [--compat crowdstream] [--trust-movement-from HOST[,HOST...]]
cratebot-pi send [--host H] [--port P] [--token T] [--timeout S] ADDRESS [ARG...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from realtime import DEFAULT_PORT
from realtime.autobpm import AutoBpmConfig
from realtime.client import PiClient, PiCommandError, PiError, PiTimeout, parse_cli_args
from realtime.droplog import DEFAULT_INTERVAL_S
from realtime.engine import Engine
from realtime.stretch import METHODS, rubberband_status

TOKEN_ENV = "CRATEBOT_PI_TOKEN"
log = logging.getLogger("realtime.cli")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="cratebot-pi",
        description="Venue audio server controlled over signed OSC (UDP). "
        "Use 'cratebot-pi send ADDRESS args...' to talk to a running one.",
    )
    ap.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help="UDP port (0 picks a free one)")
    ap.add_argument("--token", default=None, help=f"shared secret (default: ${TOKEN_ENV})")
    ap.add_argument(
        "--music-dir", required=True, type=Path, help="folder /load paths are relative to"
    )
    ap.add_argument("--buffer-size", type=int, default=512, choices=(256, 512, 1024))
    ap.add_argument("--stretch-method", default="wsola", choices=METHODS)
    ap.add_argument("--device", default=None, help="output device name or index (sounddevice)")
    ap.add_argument(
        "--offline-render",
        type=Path,
        default=None,
        metavar="OUT.wav",
        help="no sound card: write the output to this WAV file",
    )
    ap.add_argument(
        "--offline-speed",
        type=float,
        default=None,
        metavar="X",
        help="with --offline-render: run X times faster than real time",
    )
    ap.add_argument("--sample-rate", type=int, default=44100)
    ap.add_argument("--decks", type=int, default=4)
    ap.add_argument(
        "--auto-bpm-config",
        type=Path,
        default=None,
        metavar="JSON",
        help="movement-to-BPM mapping (see realtime/autobpm.py)",
    )
    ap.add_argument(
        "--compat",
        default=None,
        choices=("crowdstream",),
        help="also accept Crowdstream's audio-server vocabulary (/cue, /start_group start_at, "
        "/deck_eq, ...), signed like ours; auto tempo starts on, as in Crowdstream",
    )
    ap.add_argument(
        "--trust-movement-from",
        default=None,
        metavar="HOST[,HOST...]",
        help="accept /dance/total_movement and /movement UNSIGNED from these addresses, "
        "names or networks (a movement detector cannot sign); all else stays signed",
    )
    ap.add_argument(
        "--drop-log-interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        metavar="S",
        help=f"seconds between summary lines about dropped datagrams (default {DEFAULT_INTERVAL_S:g})",
    )
    ap.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return ap


def resolve_trusted(spec: str) -> list[str]:
    """IP addresses and networks for ``--trust-movement-from``; names are looked up once."""
    import ipaddress

    out: list[str] = []
    for part in spec.split(","):
        host = part.strip()
        if not host:
            continue
        try:
            out.append(str(ipaddress.ip_network(host, strict=False)))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ValueError(f"--trust-movement-from: cannot resolve {host!r}: {exc}") from None
        out.extend(sorted({str(info[4][0]) for info in infos}))
    if not out:
        raise ValueError("--trust-movement-from needs at least one host")
    return out


def _send_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="cratebot-pi send", description="Send one signed command.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--token", default=None, help=f"shared secret (default: ${TOKEN_ENV})")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the reply")
    ap.add_argument("address", help="OSC address, e.g. /status or /bpm")
    ap.add_argument("args", nargs="*", help="arguments (numbers become ints/floats)")
    return ap


_SEND_OPTIONS = ("--host", "--port", "--token", "--timeout")


def split_send_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """(options, address and arguments): options may come before or after the address.

    Done by hand because argparse reads OSC arguments such as ``-inf`` or ``-6`` as
    unknown options once options may follow them; ``--`` ends the options.
    """
    options: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest.extend(argv[i + 1 :])
            break
        name = word.split("=", 1)[0]
        if name in _SEND_OPTIONS or word in ("-h", "--help"):
            options.append(word)
            if "=" not in word and word not in ("-h", "--help") and i + 1 < len(argv):
                options.append(argv[i + 1])
                i += 1
        else:
            rest.append(word)
        i += 1
    return options, rest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "send":
        return send_main(argv[1:])
    return serve_main(argv)


def send_main(argv: list[str]) -> int:
    options, rest = split_send_argv(argv)
    ns = _send_parser().parse_args([*options, "--", *rest])
    token = ns.token if ns.token is not None else os.environ.get(TOKEN_ENV, "")
    client = PiClient(ns.host, ns.port, token, timeout=ns.timeout)
    try:
        reply = asyncio.run(client.send(ns.address, *parse_cli_args(ns.args)))
    except PiTimeout as exc:
        print(f"timeout: {exc}", file=sys.stderr)
        return 3
    except PiCommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (PiError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if ns.address in ("/status", "/get_status") and reply:
        print(json.dumps(json.loads(reply[0]), indent=2))
    else:
        print(" ".join(["/done", ns.address, *(str(a) for a in reply)]))
    return 0


def serve_main(argv: list[str]) -> int:
    ap = _serve_parser()
    ns = ap.parse_args(argv)
    token = ns.token if ns.token is not None else os.environ.get(TOKEN_ENV, "")
    if not token and not is_loopback(ns.host):
        ap.error(
            f"refusing to listen on {ns.host} without a token: set --token or ${TOKEN_ENV}, "
            "or listen on a loopback address (--host 127.0.0.1)"
        )
    if not ns.music_dir.is_dir():
        ap.error(f"--music-dir {ns.music_dir} is not a folder")
    if ns.offline_speed is not None and ns.offline_render is None:
        ap.error("--offline-speed needs --offline-render")
    if ns.offline_speed is not None and not ns.offline_speed > 0:
        ap.error(f"--offline-speed must be > 0, got {ns.offline_speed}")
    if not 1 <= ns.decks <= 16:
        ap.error("--decks must be between 1 and 16")
    if not 8000 <= ns.sample_rate <= 192000:
        ap.error("--sample-rate must be between 8000 and 192000")
    if not 0.1 <= ns.drop_log_interval <= 3600:
        ap.error("--drop-log-interval must be between 0.1 and 3600 seconds")
    from realtime.server import parse_trusted_hosts

    try:
        ns.trusted = (
            parse_trusted_hosts(",".join(resolve_trusted(ns.trust_movement_from)))
            if ns.trust_movement_from is not None
            else []
        )
    except ValueError as exc:
        ap.error(str(exc))
    try:
        auto = (
            AutoBpmConfig.from_json(ns.auto_bpm_config) if ns.auto_bpm_config else AutoBpmConfig()
        )
    except ValueError as exc:
        ap.error(str(exc))
    logging.basicConfig(
        level=ns.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    rb_ok, rb_reason = rubberband_status()
    print(f"cratebot-pi: {rb_reason}", flush=True)
    if ns.stretch_method == "rubberband" and not rb_ok:
        print(f"cratebot-pi: refusing --stretch-method rubberband: {rb_reason}", file=sys.stderr)
        return 2
    if token and len(token) < 16:
        log.warning("token is shorter than 16 characters; use a long random one")
    if ns.trusted:
        log.warning(
            "unsigned movement accepted from %s: anyone who can send UDP from those "
            "addresses can steer auto tempo (nothing else)",
            ", ".join(str(n) for n in ns.trusted),
        )
    engine = Engine(
        ns.sample_rate,
        ns.buffer_size,
        ns.decks,
        ns.stretch_method,
        auto,
        bpm_auto=ns.compat == "crowdstream",
    )
    try:
        return asyncio.run(_serve(ns, engine, token))
    except KeyboardInterrupt:
        return 0


async def _serve(ns: argparse.Namespace, engine: Engine, token: str) -> int:
    from realtime.audio_output import AudioOutputError, open_stream
    from realtime.offline import OfflineRenderer
    from realtime.server import ControlServer

    # Other Python threads may hold the GIL for up to the switch interval (5 ms by
    # default) before the audio callback gets it; 1 ms keeps a 256-frame block safe.
    sys.setswitchinterval(0.001)
    loop = asyncio.get_running_loop()
    # Decoding and tempo analysis run in another process so they never compete with
    # the audio callback for the GIL; "spawn" because this process has threads.
    loader = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    server = ControlServer(
        engine,
        ns.music_dir,
        token,
        loader,
        compat=ns.compat,
        trusted_movement=ns.trusted,
        drop_log_interval_s=ns.drop_log_interval,
    )
    renderer: OfflineRenderer | None = None
    stream: Any = None
    try:
        try:
            await loop.create_datagram_endpoint(lambda: server, local_addr=(ns.host, ns.port))
        except OSError as exc:
            print(f"cratebot-pi: cannot listen on {ns.host}:{ns.port}: {exc}", file=sys.stderr)
            return 2
        try:
            if ns.offline_render is not None:
                renderer = OfflineRenderer(engine, ns.offline_render, ns.offline_speed or 1.0)
                renderer.start()
            else:
                stream = open_stream(engine, ns.device)
        except (AudioOutputError, OSError, RuntimeError) as exc:
            print(f"cratebot-pi: {exc}", file=sys.stderr)
            if renderer is None:
                print(
                    "cratebot-pi: no sound card here? --offline-render out.wav plays into a "
                    "file instead (add --offline-speed 10 to render faster than real time)",
                    file=sys.stderr,
                )
            return 2
        assert server.transport is not None
        host, port = server.transport.get_extra_info("sockname")[:2]
        where = f"offline render to {ns.offline_render}" if renderer else "sound card"
        extra = f", compat {ns.compat}" if ns.compat else ""
        print(
            f"cratebot-pi: listening on {host}:{port} ({where}, {engine.method}, "
            f"{engine.block_size} frames at {engine.sample_rate} Hz{extra})",
            flush=True,
        )
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            engine.retired.drain()
            if renderer is not None and renderer.error is not None:
                print(f"cratebot-pi: offline render failed: {renderer.error!r}", file=sys.stderr)
                return 1
        return 0
    finally:
        if renderer is not None:
            renderer.stop()
        if stream is not None:
            stream.stop()
            stream.close()
        await server.close()
        loader.shutdown(wait=True, cancel_futures=True)


if __name__ == "__main__":
    raise SystemExit(main())
