"""Refuse connections to non-public addresses while a download runs.

Checking a link's host before handing it to yt-dlp is not enough: a public page can
redirect inward, name an inward ``og:audio`` URL or list inward HLS segments, and a
host name can resolve to a public address for the check and a private one for the
connection (DNS rebinding). So the check sits where the connection is made:
``socket.socket.connect`` is wrapped once per process, and the wrapper applies the
policy only in a thread that is inside :func:`guarded_connections` (the thread that
runs yt-dlp), to the address being connected to. Other threads are untouched.

yt-dlp has no documented hook at the connection level (its request handlers create
sockets inside ``requests``/``urllib3``), which is why this is done at the socket.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_state = threading.local()
_install_lock = threading.Lock()
_installed = False


def is_public(address: str) -> bool:
    """A globally routable unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return ip.is_global and not ip.is_multicast


class InwardConnectionRefused(ConnectionRefusedError):
    """Raised in place of connecting to a private/internal address."""


@dataclass
class ConnectionPolicy:
    """What one download may connect to; records what it refused and what it reached."""

    allowed: frozenset[tuple[str, int | None]] = frozenset()
    refused: list[str] = field(default_factory=list)
    connected: list[str] = field(default_factory=list)

    def permits(self, address: str, port: int) -> bool:
        if is_public(address):
            return True
        return (address, port) in self.allowed or (address, None) in self.allowed


def parse_allowlist(entries: Iterable[str]) -> frozenset[tuple[str, int | None]]:
    """``["127.0.0.1:8080", "nas.local"]`` -> resolved ``(address, port|None)`` pairs."""
    allowed: set[tuple[str, int | None]] = set()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        host, port = entry, None
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        elif entry.count(":") == 1:
            host, _, tail = entry.partition(":")
            port = int(tail) if tail.isdigit() else None
        try:
            infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            continue
        for info in infos:
            allowed.add((str(info[4][0]), port))
    return frozenset(allowed)


def _guarded_connect(original: Any) -> Any:
    def connect(sock: socket.socket, address: Any) -> Any:
        policy: ConnectionPolicy | None = getattr(_state, "policy", None)
        if policy is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            host, port = str(address[0]), int(address[1])
            if not policy.permits(host, port):
                policy.refused.append(host)
                raise InwardConnectionRefused(
                    f"refused to connect to {host}: a private/internal address"
                )
            policy.connected.append(host)
        elif policy is not None and sock.family not in (socket.AF_INET, socket.AF_INET6):
            policy.refused.append(str(address))
            raise InwardConnectionRefused("refused a local (non-internet) socket")
        return original(sock, address)

    return connect


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        socket.socket.connect = _guarded_connect(socket.socket.connect)  # type: ignore[method-assign]
        socket.socket.connect_ex = _guarded_connect(socket.socket.connect_ex)  # type: ignore[method-assign]
        _installed = True


@contextmanager
def guarded_connections(policy: ConnectionPolicy) -> Iterator[ConnectionPolicy]:
    """Apply ``policy`` to every socket this thread connects inside the block."""
    _install()
    previous = getattr(_state, "policy", None)
    _state.policy = policy
    try:
        yield policy
    finally:
        _state.policy = previous
