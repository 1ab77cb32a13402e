"""Streamlit glue shared by the pages: cached resources and small widgets. Pages import this;
``nnviz`` never does."""

import streamlit as _st
from streamlit.runtime.pages_manager import PagesManager as _PagesManager

# With a pages/ folder beside app.py, a fresh Streamlit server runs the requested page file on
# its own (the old "pages directory" mode) until some session has executed app.py's
# st.navigation. The first visitor who opens /draw directly would get that mode: no navigation
# labels, no wide layout. Every page imports ui, so switch to app.py's navigation and rerun.
if _PagesManager.uses_pages_directory:
    _PagesManager.uses_pages_directory = False
    _st.rerun()
