"""Class runs: the runs students chose to share, side by side, so that the class compares them together."""

import streamlit as st

from ui import class_view

st.title("Class runs")
st.caption("Runs the class chose to share from the **Train a network** page, each under a random animal name. "
           "Their curves are overlaid and named by the settings that differ: who learned fastest with which "
           "learning rate, and who blew up? The board updates while the runs train.")

class_view.board_panel()
class_view.clear_controls()
