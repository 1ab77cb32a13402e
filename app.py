"""nnviz — the app's entry point: ``streamlit run app.py``. It only sets up the navigation;
each page is a thin script in ``pages/`` over the ``nnviz`` library."""

import streamlit as st

st.set_page_config(page_title="nnviz — how neural networks see images", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/draw.py", title="Draw a digit", icon="✏️", url_path="draw"),
]

st.navigation(PAGES).run()
