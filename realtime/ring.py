"""Single-producer single-consumer rings between the control thread and the audio callback.

Slots are allocated up front and indices only grow, so posting and taking never
allocate or lock. This relies on the GIL making a list-slot store and an int
attribute store atomic and ordered (true for CPython with the GIL; a free-threaded
build would need real atomics). There must be exactly one producer and one consumer
per ring: the asyncio loop thread posts commands, the callback takes them.
"""

from __future__ import annotations

from typing import Any


class RingFull(RuntimeError):
    pass


class Command:
    __slots__ = ("code", "deck", "a", "b", "payload", "seq")

    def __init__(self) -> None:
        self.code = 0
        self.deck = 0
        self.a = 0.0
        self.b = 0.0
        self.payload: Any = None
        self.seq = 0


class CommandRing:
    """Control thread -> callback. The callback reads a slot, then releases it."""

    def __init__(self, capacity: int = 256):
        self._slots = [Command() for _ in range(capacity)]
        self._capacity = capacity
        self._write = 0  # written only by the producer
        self._read = 0  # written only by the consumer

    def post(
        self, code: int, deck: int = 0, a: float = 0.0, b: float = 0.0, payload: Any = None
    ) -> int:
        """Queue a command; returns its sequence number (1, 2, ...)."""
        if self._write - self._read >= self._capacity:
            raise RingFull("engine command queue is full (is the audio engine running?)")
        slot = self._slots[self._write % self._capacity]
        slot.code, slot.deck, slot.a, slot.b, slot.payload = code, deck, a, b, payload
        slot.seq = self._write + 1
        self._write += 1  # publish only after the slot is filled
        return slot.seq

    @property
    def posted(self) -> int:
        """Sequence number of the last command posted (0 before any)."""
        return self._write

    def peek(self) -> Command | None:
        """Oldest unread command, or None. Call :meth:`release` when done with it."""
        if self._read == self._write:
            return None
        return self._slots[self._read % self._capacity]

    def release(self) -> None:
        self._read += 1


class ObjectRing:
    """Callback -> control thread hand-back of objects (replaced tracks), so their
    memory is freed outside the callback."""

    def __init__(self, capacity: int = 64):
        self._slots: list[Any] = [None] * capacity
        self._capacity = capacity
        self._write = 0
        self._read = 0

    def put(self, obj: Any) -> bool:
        if self._write - self._read >= self._capacity:
            return False
        self._slots[self._write % self._capacity] = obj
        self._write += 1
        return True

    def drain(self) -> int:
        n = 0
        while self._read < self._write:
            self._slots[self._read % self._capacity] = None
            self._read += 1
            n += 1
        return n
