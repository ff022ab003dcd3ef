"""Keep a long identification's resident memory flat.

glibc raises its mmap threshold after each large ``free`` (up to 32 MiB), so the
per-batch temporary arrays of a streaming pipeline end up on the heap, which
fragments and is never given back: a 60-minute mix then costs ~50 MB more peak
RSS than its live data. Fixing the threshold keeps every large array in its own
mapping that ``free`` returns to the system at once.

The threshold is 2 MiB, not lower: each new mapping is paid for in page faults, and
at 256 KiB they cost ~5 s of system time per hour of mix (benchmarks/identify_speed.py).
The smaller arrays that then land on the heap are handed back with ``malloc_trim``
(``release_free_memory``) at intervals instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def limit_heap_growth(mmap_threshold: int = 2 * 1024 * 1024) -> bool:
    """Best effort; a no-op (False) where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    ok &= mallopt(_M_TRIM_THRESHOLD, 4 * mmap_threshold) == 1
    return bool(ok)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim``).

    Below the mmap threshold, streaming leaves many small freed blocks spread over the
    heap; the top-of-heap trim cannot return them, ``malloc_trim`` can (about 20 MB
    after a 60-minute mix, just before the step where memory peaks). Best effort.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
