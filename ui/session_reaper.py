"""Ending the sessions of closed tabs on time, so that a class that has left leaves nothing behind.

When a tab closes, Streamlit keeps its session for ``server.disconnectedSessionTTL`` seconds (120
by default) in case the tab reconnects. The store it keeps them in (a TTL cache) drops an expired
session only when another session is stored, that is when the next tab closes: after the last
class of the day leaves, every one of its sessions stays in memory with its drawings, uploaded
photos, temporary folders and trained networks (measured with ``benchmarks/memory_trace.py``:
30 students left 13.7 MB of Python objects behind, and the tensors and files they held). Nor
are those sessions shut down, so their uploaded files stay in Streamlit's upload store.

:func:`end_expired_sessions_every` starts one thread per server that, every few seconds, takes
the expired sessions out of that store, shuts each down as Streamlit does for a session it ends
itself (its uploaded files go), lets Python's cycle collector free what they held (the app turns
Streamlit's own collection after each run off, see ``.streamlit/config.toml``) and gives the
freed pages back to the system (:mod:`nnviz.memory`).

The store is internal to Streamlit (``Runtime._session_mgr._session_storage``, a
``MemorySessionStorage`` around a ``TTLCache``); where a Streamlit version lays it out otherwise
this module logs that once and does nothing, so the app runs as before.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import threading

from nnviz.memory import release_freed_memory

log = logging.getLogger(__name__)
_lock = threading.Lock()
_thread: threading.Thread | None = None
_warned: list[bool] = []


def end_expired_sessions(timeout_s: float = 30.0) -> int:
    """Shut down and forget every disconnected session whose reconnect time has passed; returns
    how many (0 where there is no Streamlit runtime in this process or its store is not the
    in-memory one this module knows). Call it from any thread but the server's event loop: the
    sessions are shut down on that loop, as Streamlit shuts down its own, and this waits for it
    (up to ``timeout_s`` seconds)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return 0
    runtime = Runtime.instance()
    manager = getattr(runtime, "_session_mgr", None)
    cache = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    lock = getattr(manager, "_storage_lock", None)
    loop = getattr(getattr(runtime, "_async_objs", None), "eventloop", None)
    if cache is None or not hasattr(cache, "expire") or lock is None or loop is None:
        if not _warned:
            _warned.append(True)
            log.info("this Streamlit version keeps sessions elsewhere: closed tabs' sessions end when it ends them")
        return 0

    def end_on_loop() -> int:
        with lock:  # the manager's own lock around its store
            expired = cache.expire()
        for _, info in expired:
            try:
                info.session.shutdown()  # its uploaded and media files, its script thread
            except Exception:  # an already half-closed session: forgetting it is all that is left
                log.debug("could not shut down an expired session", exc_info=True)
        return len(expired)

    future = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(end_on_loop())
        except BaseException as exc:
            future.set_exception(exc)

    loop.call_soon_threadsafe(run)
    ended = future.result(timeout_s)
    if ended:
        gc.collect()  # sessions hold reference cycles, and the app turns Streamlit's collection off
        release_freed_memory()
    return ended


def end_expired_sessions_every(seconds: float = 10.0) -> None:
    """Start, once per process, a daemon thread that calls :func:`end_expired_sessions` every
    ``seconds`` seconds; later calls do nothing.

    Raises:
        ValueError: ``seconds`` is not positive.
    """
    global _thread
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    with _lock:
        if _thread is not None:
            return

        def loop():
            stop = threading.Event()
            while not stop.wait(seconds):
                try:
                    end_expired_sessions()
                except Exception:  # never let housekeeping take the server down
                    log.warning("ending expired sessions failed", exc_info=True)

        _thread = threading.Thread(target=loop, name="nnviz-session-reaper", daemon=True)
        _thread.start()
