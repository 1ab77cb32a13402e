"""nnviz — the app's entry point: ``streamlit run app.py``. It only sets up the navigation and
this session's presentation mode; each page is a thin script in ``app_pages/`` over the ``nnviz``
library."""

from pathlib import Path

import streamlit as st

from ui import layout, teacher

# The browser tab's icon, served by this server: a ":material/…:" icon would be fetched from Google.
ICON = Path(__file__).with_name("ui") / "assets" / "icon.png"

presenting = teacher.apply_presentation_mode()
st.set_page_config(page_title="nnviz — how neural networks see images", page_icon=str(ICON),
                   layout="wide", initial_sidebar_state="collapsed" if presenting else "auto")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/draw.py", title="Draw a digit", icon=":material/draw:", url_path="draw"),
    st.Page("app_pages/inspect.py", title="Open the network", icon=":material/biotech:", url_path="inspect"),
    st.Page("app_pages/cnn.py", title="How a CNN sees", icon=":material/grid_on:", url_path="cnn"),
    st.Page("app_pages/compare.py", title="Compare two networks", icon=":material/compare:", url_path="compare"),
    st.Page("app_pages/train.py", title="Train a network", icon=":material/model_training:", url_path="train"),
    st.Page("app_pages/class_runs.py", title="Class runs", icon=":material/groups:", url_path="class-runs"),
    st.Page("app_pages/under_the_hood.py", title="Under the hood", icon=":material/neurology:", url_path="under-the-hood"),
    st.Page("app_pages/photos.py", title="Photos of animals", icon=":material/pets:", url_path="photos"),
]

page = st.navigation(PAGES)
teacher.presentation_toggle()
layout.fold_sidebar_after_navigation()
page.run()
