"""A plotly chart that redraws in place: for figures that change several times a second.

``st.plotly_chart`` gives each chart an identity computed from its figure, so a new figure is a
new element: the browser builds a new chart from scratch (``Plotly.newPlot`` plus Streamlit's
layout pass) at every update. Twice a second, during live training, that cost headless Chromium
about 0.15 of a CPU core, taken from the 2 cores the training needs (see
``benchmarks/bench_training.py``). This component keeps one chart per ``key`` and hands every new
figure to plotly.js's own ``Plotly.react``, which updates the chart it already drew.

The figure is built with plotly in Python as everywhere else, and drawn by the plotly.js that the
plotly Python package ships (``plotly.offline.get_plotlyjs()``), so it looks and behaves like any
other plotly chart (without Streamlit's chart theme). ``st.plotly_chart`` stays the choice for
charts drawn once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit.components.v1 as components

from nnviz.files import atomic_write_bytes, cache_dir

FRAME_HTML = Path(__file__).with_name("live_chart") / "index.html"


def component_dir() -> Path:
    """The folder the component is served from: ``index.html`` and ``plotly.min.js``.

    Written once per plotly version and page version under ``$NNVIZ_CACHE_DIR`` (default
    ``~/.cache/nnviz``, else the temporary folder): Streamlit serves a component's files from one
    folder, and plotly.js (4.6 MB) belongs to the installed plotly package, not to this repository.

    Raises:
        OSError: neither folder can be written.
    """
    page = FRAME_HTML.read_bytes()
    name = f"live-chart-{plotly.__version__}-{hashlib.sha256(page).hexdigest()[:12]}"
    roots = [cache_dir(),
             Path(tempfile.gettempdir()) / f"nnviz-{os.getuid() if hasattr(os, 'getuid') else 'user'}"]
    for root in roots:  # a read-only home folder falls back to the temporary folder
        folder = root / name
        try:
            if not (folder / "plotly.min.js").is_file():
                from plotly.offline import get_plotlyjs

                atomic_write_bytes(folder / "plotly.min.js", get_plotlyjs().encode(), durable=False)
            if not (folder / "index.html").is_file():
                atomic_write_bytes(folder / "index.html", page, durable=False)
            return folder
        except OSError as exc:
            error = exc
    raise OSError(f"Cannot write the live chart's files under {roots[0]} or {roots[1]}: {error}")


_component = components.declare_component("live_chart", path=str(component_dir()))


def live_chart(figure: go.Figure, *, key: str, config: dict | None = None, alt: str = "") -> None:
    """Show ``figure``; the chart drawn under the same ``key`` on the last run is updated in place.

    Args:
        figure: any plotly figure; its ``layout.height`` (pixels, default 400) sets the frame's
            height and its width follows the container.
        key: the chart's identity across reruns (required: without it there is nothing to update).
        config: plotly.js config, e.g. ``{"staticPlot": True}``.
        alt: a text description for screen readers.
    """
    _component(figure=figure.to_json(), config=config or {}, alt=alt, key=key, default=None)
