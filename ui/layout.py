"""Layout for narrow screens: rows that wrap by their contents' width, and a sidebar that folds
away after a page is chosen on a phone.

``st.columns`` only stacks below 640 px of window width; above it, on a tablet with the sidebar
open (about 490 px of page), three columns squeeze their labels into broken words and their
numbers into "9…". :func:`wrapping_row` gives each cell a minimum width instead (CSS ``flex``
on containers found by their ``key``: Streamlit gives each keyed element the class
``st-key-<key>``), so cells that do not fit move to the next line.

The stylesheets are fixed strings built from the caller's literal keys and sizes; nothing a user
typed goes into them.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# Streamlit folds the sidebar after a page link is chosen only when the browser's user agent says
# "mobile" (its frontend's `isMobile` check); a phone whose browser asks for the desktop site, or a
# narrow window, keeps it open over most of the page. Below Streamlit's `md` breakpoint (768 px) the
# sidebar overlays the page, so there it is folded after a page link is chosen whatever the agent
# says, by pressing its own collapse button. Installed once per browser tab.
FOLD_SIDEBAR_JS = """<script>
if (!window.nnvizFoldsSidebar) {
  window.nnvizFoldsSidebar = true;
  document.addEventListener('click', (event) => {
    if (window.innerWidth >= 768 || !event.target.closest('[data-testid="stSidebarNav"] a')) return;
    setTimeout(() => {
      const fold = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (fold && fold.getAttribute('aria-expanded') === 'true') fold.click();  // not yet folded by Streamlit
    }, 0);
  }, true);
}
</script>"""


def fold_sidebar_after_navigation() -> None:
    """Call once per run (``app.py``): on a screen narrower than 768 px the sidebar folds away
    after a page link in it is chosen (see :data:`FOLD_SIDEBAR_JS`). Takes no room: it is a
    script in the sidebar, below its last widget."""
    st.sidebar.html(FOLD_SIDEBAR_JS, unsafe_allow_javascript=True)


def _cell_selector(key: str) -> str:
    """The CSS selector of the layout wrapper (the flex item) of the container keyed ``key``."""
    return f'[data-testid="stLayoutWrapper"]:has(> .st-key-{key})'


def wrapping_row(key: str, cells: list[str], gap: str = "medium", border: bool = False) -> list[DeltaGenerator]:
    """Containers side by side in a row that wraps: one per entry of ``cells``, each entry the CSS
    declarations of that cell as a flex item, e.g. ``"flex: 1 1 15rem"`` (grows, shrinks, and is
    at least 15 rem wide before the row wraps it onto a new line), ``"flex: 0 0 auto"`` (as wide
    as its contents), ``"flex: 1 1 100%"`` (always a line of its own).

    Args:
        key: the row's key, unique on the page; the cells are keyed ``{key}-0``, ``{key}-1``, ….
        cells: CSS declarations per cell (fixed strings from the code, never user input).
        gap: Streamlit's gap between cells ("small", "medium", "large").
        border: draw a border around each cell (a card).
    """
    row = st.container(horizontal=True, gap=gap, key=key)
    containers = [row.container(border=border, key=f"{key}-{i}") for i in range(len(cells))]
    rules = "".join(f"{_cell_selector(f'{key}-{i}')} {{ min-width: 0; {css} }}\n" for i, css in enumerate(cells))
    st.html(f"<style>\n{rules}</style>")  # a stylesheet alone goes to the page's head: it takes no room
    return containers


# KaTeX draws a displayed formula at 1.21 em; on a phone the longest of Under the hood's (the
# neuron's sum with its numbers) is then wider than the screen and scrolls, its end out of sight.
FORMULAS_CSS = """<style>
@media (max-width: 640px) { .katex-display > .katex { font-size: 1em; } }
</style>"""


def formulas_fit_phones() -> None:
    """Draw displayed formulas (``st.latex``) at the text's size on a screen narrower than 640 px,
    so that they fit its width (see :data:`FORMULAS_CSS`); a stylesheet, it takes no room."""
    st.html(FORMULAS_CSS)
