"""The class's board of runs in Streamlit: a student's opt-in on the Train page, the sharing of
that session's runs while they train, and the board the teacher projects (the "Class runs" page).

Sharing is off until the student turns it on, and belongs to one session: a random animal name
and file id are picked for it (:func:`nnviz.class_runs.anonymous_name`), kept in its
``st.session_state``. Turning it off takes that session's runs off the board. The files live in
:func:`nnviz.class_runs.class_dir`, shared by every app process that shares the user models.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

from nnviz import class_runs
from nnviz.figures.training_curves import comparison_figure
from nnviz.jobs.metrics import MetricsSnapshot
from ui.live_chart import live_chart
from ui.session_runs import current_run, history
from ui.teacher import presented

SHARING = "class_sharing"  # whether this session shares (kept while the Train page's toggle is not drawn)
IDENTITY = "class_identity"  # (share id, anonymous name)
PUBLISHED = "class_published"  # {run number: (time, status, finished epochs)} of the last write
BOARD_MAX = 12  # runs drawn on the chart, the most recently updated; the table lists them all


def identity() -> tuple[str, str]:
    """This session's ``(share id, anonymous name)``, picked on first use and then kept."""
    if IDENTITY not in st.session_state:
        st.session_state[IDENTITY] = (class_runs.new_share_id(), class_runs.anonymous_name())
    return st.session_state[IDENTITY]


def sharing() -> bool:
    return bool(st.session_state.get(SHARING))


def _publish(number: int, dataset: str, architecture: dict, config: dict, status: str, steps, smoothed,
             steps_per_epoch: int, epochs) -> None:
    share_id, name = identity()
    try:
        class_runs.publish(class_runs.class_dir(), share_id, name, number, dataset, architecture, config, status,
                           steps, smoothed, steps_per_epoch, epochs)
    except OSError:
        return  # a full or read-only disk: the board misses this update; training goes on
    st.session_state.setdefault(PUBLISHED, {})[number] = (time.monotonic(), status, len(epochs))


def share_live(run, snap: MetricsSnapshot | None) -> None:
    """Put ``run`` (a :class:`~nnviz.jobs.live_run.LiveRun`) on the board if this session shares:
    at most every :data:`nnviz.class_runs.PUBLISH_EVERY_S` seconds while it trains, and at once
    when its status or number of finished epochs changes. Called at each poll of the Train page."""
    if run is None or snap is None or not sharing():
        return
    last = st.session_state.get(PUBLISHED, {}).get(run.number)
    if last is not None and last[1:] == (snap.status, len(snap.epochs)) and (
            not snap.active or time.monotonic() - last[0] < class_runs.PUBLISH_EVERY_S):
        return
    job = run.job
    _publish(run.number, job.dataset, job.architecture, job.config.to_dict(), snap.status, snap.steps,
             snap.smoothed, run.steps_per_epoch, snap.epochs)


def _share_all() -> None:
    """The toggle's callback: share this session's runs so far, or take them all off the board."""
    on = bool(st.session_state.get("class_share_toggle"))
    st.session_state[SHARING] = on
    st.session_state[PUBLISHED] = {}
    if not on:
        class_runs.withdraw(class_runs.class_dir(), identity()[0])
        return
    for record in history():
        _publish(record.number, record.dataset, record.architecture, record.config, record.status, record.steps,
                 record.smoothed, record.steps_per_epoch, record.epochs)
    run = current_run()
    if run is not None and not run.archived:
        share_live(run, run.worker.snapshot())


def share_toggle() -> None:
    """The Train page's opt-in, off by default."""
    st.toggle("Share my runs with the class", value=sharing(), key="class_share_toggle", on_change=_share_all,
              help="Your runs' settings and curves appear on the Class runs page under a random animal name, "
                   "never your name or your data. Turn it off to take them off the board.")
    if sharing():
        st.caption(f"Your runs appear on the **Class runs** page as **{identity()[1]}**.")


def board_panel() -> None:
    """The class's runs side by side, redrawn every 2 s while one of them trains (else every 10 s):
    their loss and accuracy curves overlaid, named by animal and by the settings that differ, and
    a table of every run with its final test accuracy."""
    runs = class_runs.board(class_runs.class_dir())

    @st.fragment(run_every=2.0 if any(r.active for r in runs) else 10.0)
    def board():
        shown = class_runs.board(class_runs.class_dir())
        if not shown:
            st.info("No shared runs yet. On the **Train a network** page, students turn on **Share my runs with "
                    "the class** and start a run; it appears here as it trains.", icon=":material/groups:")
            return
        drawn = sorted(sorted(shown, key=lambda r: r.updated)[-BOARD_MAX:], key=lambda r: (r.name, r.number))
        figure = comparison_figure(drawn, height=380, labels=class_runs.board_labels(drawn))
        figure.update_layout(uirevision="class-board")  # a run hidden from the legend stays hidden
        # Shorter subplot titles: the two meet above the middle on a tablet's width otherwise.
        for title, text in zip(figure.layout.annotations, ("Training loss (smoothed)", "Test accuracy")):
            title.text = text
        live_chart(presented(figure), key="class_board_chart", config={"displayModeBar": False},
                   alt="Loss and test accuracy of the runs the class shared, overlaid")
        if len(shown) > len(drawn):
            st.caption(f"The chart shows the {len(drawn)} most recently updated of {len(shown)} runs. Click a name "
                       "in the legend to hide or show its run.")
        st.dataframe(class_runs.board_rows(shown), hide_index=True, width="stretch")

    board()


def clear_controls() -> None:
    """For the teacher: empty the board. When ``$NNVIZ_TEACHER_CODE`` is set, only with that code."""
    with st.expander("For the teacher: clear the board", icon=":material/delete_sweep:"):
        code = os.environ.get("NNVIZ_TEACHER_CODE")
        with st.form("class_clear", border=False):
            typed = st.text_input("Teacher's code", type="password", key="class_code") if code else None
            sure = st.checkbox("Remove every shared run from the board", key="class_clear_sure")
            if st.form_submit_button("Clear the board", icon=":material/delete_sweep:"):
                if not sure:
                    st.warning("Tick the box first: this removes every student's shared runs.")
                elif code and not hmac.compare_digest((typed or "").encode(), code.encode()):
                    st.error("That is not the teacher's code. Nothing was removed.")
                else:
                    removed = class_runs.clear(class_runs.class_dir())
                    st.success(f"Removed {removed} run(s). Runs that are still training come back at their "
                               f"next update.")
