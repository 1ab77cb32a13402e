"""This session's training runs, as the Train page and the class board both read them: the run
now live (if any) and the history of ended ones, kept in ``st.session_state``. A module of its own so
that ``ui.class_view`` reads them without importing the Train page's glue (which imports it)."""

from __future__ import annotations

import streamlit as st

from nnviz.jobs.live_run import LiveRun, RunRecord

LIVE = "train_live"  # session-state key of the current LiveRun
HISTORY = "train_history"  # session-state key of the list of RunRecords, oldest first


def current_run() -> LiveRun | None:
    return st.session_state.get(LIVE)


def history() -> list[RunRecord]:
    return st.session_state.setdefault(HISTORY, [])
