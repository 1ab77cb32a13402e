"""Train: pick a dataset, a network and a recipe, then watch the network learn, live."""

import streamlit as st

from nnviz.figures.training_curves import comparison_figure
from nnviz.jobs.live_run import overlay_labels
from ui import class_view, train_panel

st.title("Train a network")
st.caption("Choose the data, the network and how it learns, press **Start**, and watch the loss fall and the "
           "answers change. The defaults are a quick recipe: a small CNN that reaches about 99 % on MNIST in "
           "one epoch.")

run = train_panel.current_run()
train_panel.archive(run)
active = run is not None and run.worker.snapshot().active

with st.expander("Settings" + (" (locked while the run is active)" if active else ""), expanded=run is None,
                 icon=":material/tune:"):
    architecture, dataset, config = train_panel.settings(disabled=active)
with st.expander("The code behind this run: a PyTorch script", icon=":material/code:"):
    train_panel.show_code(architecture, dataset, config)
if st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=active, key="train_start"):
    train_panel.start_run(architecture, dataset, config)
    st.rerun()  # redraw with the settings locked and the live panel polling
class_view.share_toggle()


@st.fragment(run_every=train_panel.POLL_S if active else None)
def live_panel():
    """Redrawn twice a second while the run is active: progress, loss curve, answers."""
    train_panel.show_live(run, polling=active, planned_epochs=config.epochs)


# The same three areas in the same order whether or not there is a run, so that the two charts
# are the same elements for the page's lifetime (a chart that moved would be built again).
run_area, live_area, epoch_area = st.container(), st.container(), st.container()
if run is not None:
    with run_area:
        train_panel.show_run(run)  # first: it records what the page shows, for the fragment to compare
with epoch_area:
    train_panel.show_epochs(run, planned_epochs=config.epochs)
with live_area:
    live_panel()

runs = train_panel.history()
last = runs[-1] if runs else None
if last is not None and last.model is not None and not active:
    st.subheader("Keep this network")
    with st.form("train_save", border=True):
        name = st.text_input("Name", value=train_panel.default_name(last), key=f"train_name_{last.number}",
                             help="Saved in the user models folder with its model card.")
        if st.form_submit_button("Save", icon=":material/save:", disabled=last.saved_as is not None):
            try:
                train_panel.save_run(last, name.strip())
            except ValueError as exc:
                st.error(str(exc))
    if last.saved_as:
        where = "the **Draw** and **Inspect** pages" if last.dataset == "mnist" else "the **Inspect** page"
        st.success(f"Saved as **{last.saved_as}**. Choose it on {where}.", icon=":material/check_circle:")

if runs:
    st.subheader("Your runs")
    st.dataframe([r.row() for r in reversed(runs)], hide_index=True, width="stretch")
    train_panel.replay_controls(runs, disabled=active)
    labels = {r.number: f"#{r.number} {r.label}" for r in runs}
    chosen = st.multiselect("Overlay the curves of", list(labels), format_func=labels.get, max_selections=4,
                            default=[r.number for r in runs[-2:]], key=f"train_compare_{len(runs)}",
                            help="For example a learning rate of 0.1 against 0.01, or an MLP against a CNN.")
    if chosen:
        compared = [r for r in runs if r.number in chosen]
        st.plotly_chart(comparison_figure(compared, labels=overlay_labels(compared)), width="stretch",
                        config={"displayModeBar": False})
