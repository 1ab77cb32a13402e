"""Giving freed memory back to the operating system, for a server that many sessions pass through.

glibc's ``malloc`` keeps memory that Python and torch free inside its arenas (one per thread that
allocated, up to 8 per core) for reuse, so a server's resident memory stays at its peak after a
class of sessions has come and gone. ``malloc_trim(0)`` returns the free pages of every arena
(glibc ≥ 2.8; ``man 3 malloc_trim``). Elsewhere (macOS, musl) there is nothing to call and this
module does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def release_freed_memory() -> bool:
    """Return glibc's free heap pages to the operating system now (a few milliseconds).

    Returns:
        True if memory was given back, False if there was none to give or no glibc.
    """
    return bool(_LIBC.malloc_trim(0)) if _LIBC is not None else False


def release_freed_memory_every(seconds: float = 30.0) -> None:
    """Start, once per process, a daemon thread that calls :func:`release_freed_memory` every
    ``seconds`` seconds; later calls do nothing. Cheap when there is nothing to return.

    Raises:
        ValueError: ``seconds`` is not positive.
    """
    global _thread
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    with _lock:
        if _thread is not None or _LIBC is None:
            return
        stop = threading.Event()

        def loop():
            while not stop.wait(seconds):
                release_freed_memory()

        _thread = threading.Thread(target=loop, name="nnviz-malloc-trim", daemon=True)
        _thread.start()
