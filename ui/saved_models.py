"""Which saved models a session sees: the shipped ones, and the user models this session saved or
opened by name — never another student's (their names and files stay out of this session's lists).

Saved models live on disk in the user models folder (:func:`nnviz.checkpoints.user_models_dir`),
so a restarted server loses none: a student opens one saved earlier by typing its name (the name
is what they chose; nobody is shown a list of other students' names). A saved model that cannot be
loaded (a truncated or corrupt file) is left out of the lists with a message naming its file,
and every other model keeps working.
"""

from __future__ import annotations

import streamlit as st

from nnviz.checkpoints import NAME_PATTERN, checkpoint_problem, list_cards

MINE = "saved_models_mine"  # session_state: names of the user models this session may see


def mine() -> set[str]:
    """Names of the user models this session saved or opened."""
    return st.session_state.setdefault(MINE, set())


def remember(name: str) -> None:
    """Let this session see the user model ``name`` (call after saving it)."""
    mine().add(name)


def visible_cards() -> tuple[list[dict], list[str]]:
    """``(cards, problems)``: the shipped cards and this session's user cards that load, shipped
    first; and a plain sentence naming the file of each of these that cannot be loaded."""
    problems: list[str] = []
    own = mine()
    cards = [c for c in list_cards() if c["source"] == "shipped" or c["name"] in own]
    usable = []
    for card in cards:
        problem = checkpoint_problem(card["path"])
        if problem:
            problems.append(problem)
        else:
            usable.append(card)
    return usable, problems


def open_saved_model(key: str) -> None:
    """A small form to open a model saved earlier (by this student, perhaps before a restart) by its name."""
    with st.expander("Open a model you saved earlier"):
        name = st.text_input("Its name", key=f"{key}_open_name", max_chars=64,
                             help="The name you gave it when you saved it.").strip()
        if not name:
            return
        if not NAME_PATTERN.match(name):
            st.error("Model names use letters, digits, '-', '_' and '.' only.")
            return
        if not any(c["name"] == name and c["source"] == "user" for c in list_cards()):
            st.error(f"No saved model is called {name!r}. Check the spelling.")
            return
        if name not in mine():
            remember(name)
            st.rerun()
