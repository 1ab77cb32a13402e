"""Temporary folders that belong to one browser session and disappear with it.

A student's camera pictures and unpacked zips are written only below such a folder. The folder
is removed when its :class:`SessionFolder` is garbage-collected — Streamlit drops a session's
``st.session_state`` when the session ends (tab closed, after its disconnect timeout) — when
:meth:`SessionFolder.remove` is called, or at the latest when the server process exits
(``weakref.finalize`` runs pending finalizers at exit).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import streamlit as st


class SessionFolder:
    """A fresh ``tempfile.mkdtemp`` folder, removed with everything in it when this object goes."""

    def __init__(self, prefix: str = "nnviz-session-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def remove(self) -> None:
        """Delete the folder now (idempotent)."""
        self._finalizer()

    def __str__(self) -> str:
        return str(self.path)


def session_folder(kind: str, fresh: bool = False) -> Path:
    """This session's folder for ``kind`` (``"train"``, ``"test"``, ``"camera"``); with ``fresh``
    the previous one of that kind is removed and a new, empty one made."""
    key = f"session_folder_{kind}"
    folder: SessionFolder | None = st.session_state.get(key)
    if folder is None or fresh or not folder.path.is_dir():
        if folder is not None:
            folder.remove()
        folder = st.session_state[key] = SessionFolder(f"nnviz-{kind}-")
    return folder.path
