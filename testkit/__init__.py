"""Helpers shared by the tests, the benchmarks and the scripts (never by the app): driving the app in
Chromium (:mod:`testkit.browser_drawing`) and speaking Streamlit's websocket protocol without a
browser (:mod:`testkit.st_protocol`). Installed with the project (``pip install -e .``)."""
