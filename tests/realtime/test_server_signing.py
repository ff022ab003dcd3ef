"""Unsigned, stale, replayed and wrongly signed datagrams are dropped, counted, unanswered."""

from __future__ import annotations

import socket
import time

from realtime.protocol import encode_message, encode_signed

from .conftest import TOKEN


def _send_raw(port: int, data: bytes) -> bytes | None:
    """Send one datagram from a fresh socket; return any reply within 0.4 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.4)
        sock.sendto(data, ("127.0.0.1", port))
        try:
            return sock.recv(65536)
        except TimeoutError:
            return None


async def test_bad_messages_are_ignored_and_counted(pi):
    port = pi.port
    attacks = {
        "unsigned": encode_message("/bpm", [200.0]),
        "stale": encode_signed(TOKEN, "/bpm", [201.0], now=time.time() - 60),
        "future": encode_signed(TOKEN, "/bpm", [202.0], now=time.time() + 60),
        "bad_signature": encode_signed("not-the-token", "/bpm", [203.0]),
        "tampered": encode_signed(TOKEN, "/bpm", [90.0]).replace(b"/bpm", b"/bpx", 1),
        "malformed": b"\x00garbage",
    }
    for name, datagram in attacks.items():
        assert _send_raw(port, datagram) is None, f"{name} got a reply"
    good = encode_signed(TOKEN, "/bpm", [130.0])
    assert _send_raw(port, good) is not None  # /done /bpm
    assert _send_raw(port, good) is None  # the same bytes again: a replay
    state = await pi.client().status()
    assert state["target_bpm"] == 130.0
    assert state["dropped_by_reason"] == {
        "unsigned": 1, "stale": 2, "replayed": 1, "bad_signature": 2, "malformed": 1, "busy": 0,
    }  # fmt: skip
    assert state["dropped_messages"] == 7
    pi.stop()
