"""Streamlit glue shared by the pages: cached resources and small widgets. Pages import this;
``nnviz`` never does."""
