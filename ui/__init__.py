"""Streamlit glue shared by the pages: cached resources, widgets and session state. Pages import
this; ``nnviz`` never does.

The page scripts live in ``app_pages/``, not ``pages/``: a folder named ``pages/`` beside app.py
would switch a fresh server into Streamlit's legacy multipage mode, where the first visitor who
opens ``/draw`` directly gets no navigation."""
