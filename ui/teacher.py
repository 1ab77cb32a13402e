"""The teacher's tools in Streamlit: presentation mode for a projector, and the join URL with its
QR code on the Home page. (The class's board of runs is :mod:`ui.class_view`.)

Presentation mode belongs to one session: it lives in that session's ``st.session_state`` and
its stylesheet is sent to that session's page only, so a teacher projecting never changes what a
student sees. ``?present=1`` in the address turns it on when a session starts (a bookmark for the
projector), and the address keeps that parameter while the mode is on.
"""

from __future__ import annotations

import base64
import html
import os

import streamlit as st

import plotly.graph_objects as go

from nnviz import join
from nnviz.figures.style import scale_fonts

PRESENT = "teacher_present"
# Text in Streamlit is sized in rem, and so are the fonts Streamlit's chart theme gives every
# st.plotly_chart figure: a larger root font size enlarges both, laid out anew, hover intact.
# Components and HTML blocks size their own text in pixels; they are zoomed instead. A zoomed
# frame keeps pointer positions right inside it (the live charts' hover, the drawing canvas);
# CSS zoom on a plotly chart outside a frame would not (its hover lands beside the point).
# 1.35 % of the window's width: 26 px on a 1920-px projector, 20 px (the least) at 1400 px, against
# the usual 16 px; larger clips the Train page's settings at 1400 px.
ROOT_FONT = "clamp(20px, 1.35vw, 30px)"
ZOOM = 1.3
# Plotly figures drawn outside Streamlit's chart theme (the live charts) set their fonts in pixels:
# scaled by this on top of their frame's zoom, they read like the text around them.
FIGURE_FONT_SCALE = 1.35
PRESENTATION_CSS = f"""<style>
html:root {{ font-size: {ROOT_FONT}; }}
[data-testid="stMainBlockContainer"] {{ max-width: 100%; padding: 2.5rem 2.5rem 4rem; }}
[data-testid="stHtml"] {{ zoom: {ZOOM}; }}
iframe[title="ui.live_chart.live_chart"] {{ zoom: {ZOOM}; width: 100% !important; }}
[data-testid="stLayoutWrapper"]:has(> [data-testid="stVerticalBlock"] > [data-testid="stElementContainer"] iframe[title="ui.digit_canvas.digit_canvas"]) {{ zoom: {ZOOM}; }}
</style>"""


def presentation_mode() -> bool:
    """Whether this session is in presentation mode: on its first run ``?present=1`` decides,
    afterwards the sidebar toggle (:func:`presentation_toggle`)."""
    if PRESENT not in st.session_state:
        st.session_state[PRESENT] = st.query_params.get("present") == "1"
    return bool(st.session_state[PRESENT])


def _sync_address() -> None:
    """Keep ``?present=1`` in the address while the mode is on (page links drop query parameters),
    so that the projector's page can be bookmarked at any time."""
    if st.session_state.get(PRESENT):
        st.query_params["present"] = "1"
    elif "present" in st.query_params:
        del st.query_params["present"]


def apply_presentation_mode() -> bool:
    """Call once per run, from ``app.py`` before the page runs: in presentation mode, send the
    large-type stylesheet (:data:`PRESENTATION_CSS`, fixed: nothing a user typed is in it).
    Returns whether the mode is on (``app.py`` collapses the sidebar with it)."""
    on = presentation_mode()
    _sync_address()
    if on:
        st.html(PRESENTATION_CSS)
    return on


def presented(figure: go.Figure) -> go.Figure:
    """``figure`` with larger fonts (:data:`FIGURE_FONT_SCALE`) in presentation mode, and taller
    by as much so that the larger tick labels keep their spacing; else as it is. For the live
    charts, whose fonts Streamlit's chart theme does not set."""
    if not presentation_mode():
        return figure
    larger = scale_fonts(figure, FIGURE_FONT_SCALE)
    if larger.layout.height:
        larger.update_layout(height=round(larger.layout.height * FIGURE_FONT_SCALE))
    return larger


def presentation_toggle() -> None:
    """The sidebar's "Presentation mode" toggle (the sidebar collapses when it is turned on; its
    arrow opens it again to turn it off)."""
    st.sidebar.toggle("Presentation mode", key=PRESENT, on_change=_sync_address,
                      help="Large type and figures for a projector, and the sidebar folded away. Only this "
                           "browser tab changes. Add ?present=1 to the address to start in this mode.")


def current_join() -> join.Join:
    """How the class reaches this server (:func:`nnviz.join.join_url`), from Streamlit's
    ``server.address``, ``server.port`` and ``server.baseUrlPath``, the teacher's own page
    address, this machine's interfaces and ``$NNVIZ_JOIN_URL``.

    Raises:
        ValueError: ``$NNVIZ_JOIN_URL`` is set but is not an http(s) URL.
    """
    return join.join_url(st.get_option("server.address"), int(st.get_option("server.port")),
                         join.machine_interfaces(), override=os.environ.get("NNVIZ_JOIN_URL"),
                         browser_url=st.context.url, route=join.route_address(),
                         base_path=st.get_option("server.baseUrlPath") or "")


@st.cache_data(max_entries=8, show_spinner=False)
def qr_html(url: str) -> str:
    """The QR code of ``url`` as an ``<img>`` at most 320 CSS pixels wide that shrinks with its
    column (st.image's fixed width would stick out of a tablet's column), its URL escaped below."""
    data = base64.b64encode(join.qr_png(url, scale=10)).decode()
    return (f"<figure style='margin:0;text-align:center'><img src='data:image/png;base64,{data}' "
            f"alt='QR code of {html.escape(url, quote=True)}' style='width:100%;max-width:320px;"
            f"image-rendering:pixelated'/><figcaption style='font-size:14px;color:#6C757D'>"
            f"{html.escape(url)}</figcaption></figure>")


def join_panel() -> None:
    """For the teacher, folded away so that students are not puzzled by it (open in presentation
    mode, on the projector): the address to type and its QR code, or why there is none and how to
    open the server to the class."""
    with st.expander("For the teacher: let the class join", icon=":material/qr_code_2:",
                     expanded=presentation_mode()):
        try:
            joined = current_join()
        except ValueError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        if joined.url is None:
            st.warning(joined.note, icon=":material/lan:")
            if joined.local_only:
                st.caption("Only on a network you trust, such as the classroom's: anyone on it can then "
                           "open the app. Or set NNVIZ_JOIN_URL to the address of a proxy in front of it.")
            return
        text, code = st.columns([3, 2], vertical_alignment="center")
        text.markdown("Students open this address in their browser, or scan the code with a phone camera:")
        text.code(joined.url, language=None)
        text.caption(joined.note + " Each student gets their own session: nobody sees another's drawings, "
                                   "runs or models, unless they share a run on the **Class runs** page.")
        with code:
            st.html(qr_html(joined.url))
