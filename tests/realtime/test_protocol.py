"""Signing scheme and message verification (the wire contract)."""

from __future__ import annotations

import hashlib
import hmac

from realtime.protocol import MessageVerifier, decode_message, encode_message, encode_signed, sign


def test_signature_is_hmac_sha256_over_the_documented_payload():
    expected = hmac.new(b"k", b"/bpm\n1700000000.5\n126.0\n8", hashlib.sha256).hexdigest()
    assert sign("k", "/bpm", "1700000000.5", [126.0, 8]) == expected
    assert (
        sign("k", "/status", "1", []) == hmac.new(b"k", b"/status\n1\n", hashlib.sha256).hexdigest()
    )


def test_floats_survive_the_trip_so_signatures_verify():
    data = encode_signed("tok", "/volume", [0, 0.7], now=1000.0)
    address, params = decode_message(data)
    assert params[2:] == [0, 0.7]  # a 32-bit float would decode as 0.699999988...
    assert MessageVerifier("tok").check(address, params, now=1001.0).ok


def test_verifier_reasons():
    v = MessageVerifier("tok")
    addr, params = decode_message(encode_signed("tok", "/play", [1], now=500.0))
    assert v.check(addr, params, now=529.0).ok
    assert v.check(addr, params, now=529.5).reason == "replayed"
    assert MessageVerifier("tok").check(addr, params, now=531.0).reason == "stale"
    assert MessageVerifier("other").check(addr, params, now=500.0).reason == "bad_signature"
    assert MessageVerifier("tok").check("/stop", params, now=500.0).reason == "bad_signature"
    assert v.check(*decode_message(encode_message("/play", [1])), now=500.0).reason == "unsigned"
    assert v.check("/play", ["soon", "ab", 1], now=500.0).reason == "unsigned"
    assert v.check("/play", ["nan", "ab", 1], now=500.0).reason == "stale"


def test_replay_memory_forgets_only_what_is_stale_anyway():
    v = MessageVerifier("tok")
    for i in range(100):
        addr, params = decode_message(encode_signed("tok", "/bpm", [100.0 + i], now=float(i)))
        assert v.check(addr, params, now=float(i)).ok
    assert len(v._seen) <= 32  # entries older than 30 s were pruned
