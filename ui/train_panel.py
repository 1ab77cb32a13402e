"""Streamlit glue of the Train page: the settings widgets, this session's run, its history.

Each session keeps its own :class:`~nnviz.jobs.live_run.LiveRun` in ``st.session_state`` (so runs
of different sessions never see each other); all sessions wait in the one server-wide
:func:`~nnviz.jobs.queue.shared_queue`. A run whose browser tab is gone (the session is no longer
connected to the server) stops itself after a grace period.
"""

from __future__ import annotations

import inspect
import os

import streamlit as st

from nnviz import data, numpy_mlp
from nnviz.checkpoints import save_user_model, taken_model_names
from nnviz.figures.training_curves import answers_html, batch_loss_figure, epoch_figure
from nnviz.jobs import live_run
from nnviz.codegen import standalone_script
from nnviz.jobs.live_run import (OPTIMIZER_NAMES, LiveRun, RunRecord, TrainJob, archive_if_ended,
                                 default_model_name, describe_run, verdict)
from nnviz.jobs.metrics import DIVERGED, FAILED, PAUSED, QUEUED, STOPPED
from nnviz.jobs.numpy_job import KIND as NUMPY
from nnviz.jobs.numpy_job import NumpyJob
from nnviz.jobs.queue import shared_queue, threads_per_run
from nnviz.models import architecture_for, available_devices
from nnviz.names import ACTIVATIONS, MODEL_KINDS
from nnviz.divergence import LEARNING_RATES
from nnviz.training import QUICK_CNN, QUICK_CONFIG, TrainConfig
from ui import class_view
from ui.teacher import presented
from ui.layout import wrapping_row
from ui.live_chart import live_chart
from ui.saved_models import remember
from ui.session_runs import LIVE, current_run, history

POLL_S = float(os.environ.get("NNVIZ_TRAIN_POLL_S") or live_run.POLL_S)
# How a verdict looks: st.success/info/warning/error by its level, an icon by level (and status).
VERDICT_STYLE = {"success": (st.success, ":material/check_circle:"), "info": (st.info, ":material/pause:"),
                 "warning": (st.warning, ":material/casino:"), "error": (st.error, ":material/error:")}
CLIENT_GRACE_S = 30.0  # a closed tab's run stops after this long (a reload reconnects sooner)

BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)
TRAIN_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 50_000, 60_000)
WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
CHANNELS = (4, 8, 16, 32, 64, 128)
NETWORKS = MODEL_KINDS  # kind → the button's word


def _client_alive_check():
    """A thread-safe callable telling whether this session's browser is still connected
    (always True where there is no server runtime, e.g. under AppTest)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def start_run(architecture: dict, dataset: str, config: TrainConfig) -> LiveRun:
    """Start a run for this session (one at a time: the caller checks none is active)."""
    current = current_run()
    number = len(history()) + 1 + (1 if current and not current.archived else 0)
    job = (NumpyJob if architecture["kind"] == NUMPY else TrainJob)(architecture, dataset, config)
    run = LiveRun.start(number, job, queue=shared_queue(),
                        client_alive=_client_alive_check(), client_grace_s=CLIENT_GRACE_S)
    st.session_state[LIVE] = run
    return run


def archive(run: LiveRun | None) -> RunRecord | None:
    """Add ``run`` to this session's history once it has ended (see
    :func:`nnviz.jobs.live_run.archive_if_ended`)."""
    return archive_if_ended(run, history())


def save_run(record: RunRecord, name: str) -> str:
    """Save ``record``'s model under ``name`` in the user models folder; returns the card path.

    Raises:
        ValueError: the name is invalid or taken, the run has no model to save, or the disk is
            full (a plain message; nothing is overwritten).
    """
    if record.model is None or record.card is None:
        raise ValueError("This run has no trained model to save.")
    path = save_user_model(record.model, record.card, name)
    remember(name)  # this session's lists show it; other sessions' do not
    record.saved_as = name
    return str(path)


def default_name(record: RunRecord) -> str:
    return default_model_name(record, taken_model_names())


def settings(disabled: bool) -> tuple[dict, str, TrainConfig]:
    """The run's settings as widgets; returns ``(architecture, dataset, config)``.

    Defaults are the quick recipe (:data:`nnviz.training.QUICK_CNN`, :data:`nnviz.training.QUICK_CONFIG`).
    """
    quick = QUICK_CONFIG
    # Three groups side by side where each gets 15 rem, else under each other (a tablet, a phone):
    # narrower, the labels break mid-word and the choices are cut off.
    c1, c2, c3 = wrapping_row("train_settings_row", ["flex: 1 1 15rem"] * 3, gap="large")
    with c1:
        st.markdown("**Data and network**")
        dataset = st.selectbox("Dataset", list(data.DATASETS), format_func=lambda n: data.DATASETS[n].title,
                               key="train_dataset", disabled=disabled)
        if not data.is_available(dataset):  # say so before Start, not as a failed run
            st.info(data.missing_sentence(dataset), icon=":material/cloud_off:")
        kind = st.segmented_control("Network", list(NETWORKS), default="cnn", key="train_kind", disabled=disabled,
                                    format_func=NETWORKS.get, wrap=True,
                                    help="CNN: convolutional network — small kernels slide over the image "
                                         "(conv → ReLU → max-pool, twice). MLP: multi-layer perceptron — every "
                                         "pixel is connected to every neuron of the first layer. From scratch: "
                                         "the same MLP, trained by this app's own NumPy code instead of PyTorch.")
        kind = kind or "cnn"
        if kind == "cnn":
            a, b = wrapping_row("train_cnn_row", ["flex: 1 1 9rem"] * 2)
            ch1 = a.select_slider("Conv 1 channels", CHANNELS, value=QUICK_CNN["channels"][0], key="train_c1",
                                  disabled=disabled, help="Feature maps computed by the first convolution.")
            ch2 = b.select_slider("Conv 2 channels", CHANNELS, value=QUICK_CNN["channels"][1], key="train_c2",
                                  disabled=disabled, help="Feature maps computed by the second convolution.")
            architecture = architecture_for("cnn", dataset, channels=(ch1, ch2), cnn_hidden=QUICK_CNN["hidden"],
                                            kernel_size=QUICK_CNN["kernel_size"], dropout=QUICK_CNN["dropout"],
                                            batch_norm=QUICK_CNN["batch_norm"],
                                            pool_before_norm=QUICK_CNN["pool_before_norm"])
        else:
            a, b = wrapping_row("train_mlp_row", ["flex: 1 1 9rem"] * 2)
            layers = a.select_slider("Hidden layers", (0, 1, 2, 3), value=2, key="train_layers", disabled=disabled)
            width = b.select_slider("Width of each", WIDTHS, value=256, key="train_width", disabled=disabled,
                                    help="Neurons per hidden layer.")
            activation = st.segmented_control("Activation", list(ACTIVATIONS), default="relu", wrap=True,
                                              key="train_act", disabled=disabled) or "relu"
            architecture = architecture_for("mlp", dataset, hidden=[width] * layers, activation=activation)
            if kind == NUMPY:
                architecture["kind"] = NUMPY
                st.caption("Plain SGD written in NumPy (no momentum, no Adam); with a schedule the learning rate "
                           "shrinks ×0.9 per epoch. Race it against the PyTorch MLP of the same shape.")
    with c2:
        st.markdown("**Optimiser**")
        optimizer = st.segmented_control("Optimiser", list(OPTIMIZER_NAMES), default=quick.optimizer,
                                         format_func=OPTIMIZER_NAMES.get, key="train_opt", wrap=True,
                                         disabled=disabled or kind == NUMPY) or quick.optimizer
        optimizer = "sgd" if kind == NUMPY else optimizer
        lr = st.select_slider("Learning rate", LEARNING_RATES, value=quick.learning_rate, key="train_lr",
                              format_func=lambda v: f"{v:g}", disabled=disabled,
                              help="Size of each weight update. Too small: slow learning. Too large: the loss "
                                   "jumps around or explodes. With the one-cycle schedule this is the peak rate.")
        schedule = st.toggle("One-cycle schedule (warm up, then slow down)", value=quick.schedule == "onecycle",
                             key="train_sched", disabled=disabled, wrap=True,
                             help="Raise the learning rate during the first quarter of the run, then lower it "
                                  "towards zero (Smith & Topin 2017). Off: the same rate throughout.")
        batch = st.select_slider("Batch size", BATCH_SIZES, value=quick.batch_size, key="train_bs",
                                 disabled=disabled, help="Images per weight update.")
    with c3:
        st.markdown("**Run**")
        epochs = st.number_input("Epochs", 1, 30, quick.epochs, key="train_epochs", disabled=disabled,
                                 help="Passes over the training images.")
        n_max = data.train_set_size(dataset)
        sizes = [s for s in TRAIN_SIZES if s < n_max] + [n_max]
        train_size = st.select_slider("Training images", sizes, value=n_max, key=f"train_n_{dataset}",
                                      format_func=lambda v: f"{v:,}" + (" (all)" if v == n_max else ""),
                                      disabled=disabled, help="A random subset makes a quicker demo.")
        a, b = wrapping_row("train_seed_row", ["flex: 1 1 8rem"] * 2)
        seed = a.number_input("Seed", 0, 2**31 - 1, quick.seed, key="train_seed", disabled=disabled,
                              help="Fixes the random starting weights and the order of the images.")
        devices = ["cpu"] if kind == NUMPY else available_devices()
        device = b.selectbox("Device", devices, key="train_device", disabled=disabled,
                             help="Best first: a CUDA GPU, then Apple's MPS, then the CPU.")
    config = TrainConfig(**{**quick.to_dict(), "epochs": int(epochs), "batch_size": int(batch),
                            "learning_rate": float(lr), "optimizer": optimizer,
                            "schedule": "onecycle" if schedule else "constant", "seed": int(seed), "device": device,
                            "train_size": None if train_size >= n_max else int(train_size),
                            "num_threads": threads_per_run() if device == "cpu" else None})
    return architecture, dataset, config


def load_settings(record: RunRecord) -> None:
    """Put ``record``'s settings into the settings widgets (a button's callback, so it runs before
    they are drawn). With the same seed the next run starts from the same weights and sees the
    images in the same order: change one setting, and the comparison is fair."""
    arch, c, state = record.architecture, record.config, st.session_state
    state["train_dataset"], state["train_kind"] = record.dataset, arch["kind"]
    if arch["kind"] == "cnn":
        state["train_c1"], state["train_c2"] = arch["channels"]
    else:
        hidden = arch.get("hidden", [])
        state["train_layers"], state["train_width"] = len(hidden), hidden[0] if hidden else 256
        state["train_act"] = arch.get("activation", "relu")
    state["train_opt"], state["train_lr"], state["train_bs"] = c["optimizer"], c["learning_rate"], c["batch_size"]
    state["train_sched"], state["train_epochs"] = c["schedule"] == "onecycle", c["epochs"]
    state[f"train_n_{record.dataset}"] = c["train_size"] or data.train_set_size(record.dataset)
    state["train_seed"] = c["seed"]


def replay_controls(runs: list[RunRecord], disabled: bool) -> None:
    """Pick an earlier run and load its settings, to replay it with one change."""
    by_number = {r.number: r for r in runs}
    a, b = st.columns([3, 1], vertical_alignment="bottom")
    number = a.selectbox("Replay a run with one change", list(reversed(by_number)), key="train_replay_pick",
                         format_func=lambda n: f"#{n} {by_number[n].label}", disabled=disabled)
    b.button("Load its settings", icon=":material/replay:", key="train_replay", disabled=disabled,
             on_click=load_settings, args=(by_number[number],), width="stretch")
    st.caption("The same seed gives the same starting weights and the same order of images: change one "
               "setting, press **Start training**, and compare the two runs below.")


def show_code(architecture: dict, dataset: str, config: TrainConfig) -> None:
    """The standalone script of these settings (:func:`nnviz.codegen.standalone_script`), to read
    and to download; for the from-scratch network, its own NumPy code (:mod:`nnviz.numpy_mlp`)."""
    if architecture["kind"] == NUMPY:
        st.caption("This network is trained by the app's own code, written from scratch in NumPy: the forward "
                   "pass, softmax, cross-entropy, backpropagation and the gradient-descent step, each line with "
                   "its formula. Here it is, whole.")
        st.code(inspect.getsource(numpy_mlp), language="python", line_numbers=True)
        return
    script = standalone_script(architecture, dataset, config, describe_run(architecture, dataset, config))
    st.caption("The same network, data and recipe in plain PyTorch — the model, the loop, the test — to run "
               "outside the app or paste into a notebook. Same seed: same starting weights, same order of images.")
    st.download_button("Download train_nnviz.py", script, "train_nnviz.py", "text/x-python",
                       icon=":material/download:", key="train_code_download")
    st.code(script, language="python", line_numbers=True)


def show_run(run: LiveRun) -> None:
    """Title, controls and how the run stands (paused, finished, stopped, diverged). Drawn by the
    page, outside the polling fragment: these change only when the run's status does, and the
    fragment then reruns the page (each element in the fragment costs the browser work at every
    poll, taken from the CPU the training needs)."""
    worker, config = run.worker, run.job.config
    snap = worker.snapshot()
    run.shown = (snap.status, len(snap.epochs))
    st.markdown(f"**Run #{run.number}** — {run.label}")
    if snap.active:
        b1, b2, _ = st.columns([1, 1, 5])
        if snap.status == PAUSED:
            b1.button("Resume", icon=":material/play_arrow:", on_click=worker.resume, key="train_resume",
                      width="stretch")
        else:
            b1.button("Pause", icon=":material/pause:", on_click=worker.pause, key="train_pause",
                      disabled=snap.status == QUEUED, width="stretch")
        b2.button("Stop", icon=":material/stop:", on_click=worker.stop, key="train_stop", width="stretch",
                  help="End the run now. The network keeps what it has learned so far.")
        # st.progress eases its bar into each new value, repainting for a fraction of a second at
        # every update; twice a second that cost the browser 0.05 core. Jump instead.
        st.html("<style>[data-testid='stProgress'] * { transition: none !important; }</style>")
    said = verdict(snap.status, snap.message, snap.epochs, len(data.dataset_info(run.job.dataset).classes),
                   config.learning_rate)
    if said is not None:
        show, icon = VERDICT_STYLE[said.level]
        show(said.text, icon=":material/stop_circle:" if snap.status == STOPPED else icon)


def show_live(run: LiveRun | None, polling: bool, planned_epochs: int) -> None:
    """Progress, loss curve and live predictions of ``run``; call inside a fragment.

    Drawn before any run too, as an empty loss chart: the chart's frame then loads plotly.js once,
    with the page, instead of while the first run trains (0.75 s of the browser's CPU), and it
    stays the same chart through every run. ``planned_epochs`` sets its x axis when there is no run.

    When ``polling`` (the fragment reruns itself) and the run's status or number of finished
    epochs differs from what :func:`show_run` drew, the whole page is rerun once: the controls and
    messages change, the epoch chart gains its point, and a run that has ended unlocks the
    settings and offers to save its model.
    """
    snap = run.worker.snapshot() if run is not None else None
    class_view.share_live(run, snap)  # on the class's board, if this session shares
    if polling and not snap.active:
        archive(run)
        st.rerun()
    if polling and (snap.status, len(snap.epochs)) != run.shown:
        st.rerun()

    last = snap.last_batch if snap is not None else None
    # Messages and progress go in one container that is always there, so that the chart below
    # keeps its place in the page when they appear (an element that moves is built anew).
    top = st.container()
    if snap is not None and snap.status == QUEUED:
        top.info(f"Waiting for a free training slot: you are number **{snap.queue_position}** in the queue. "
                 f"This server trains {shared_queue().max_runs} run(s) at a time so that each stays fast.",
                 icon=":material/hourglass_top:")
    elif snap is not None and snap.active and last is None:
        top.caption("Loading the images and building the network…")
    if last is not None:
        top.progress(snap.progress, text=live_run.progress_text(last, run.job.config.epochs,
                                                                 snap.samples_per_s if snap.active else None,
                                                                 snap.eta_s if snap.active else None))

    left, right = st.columns([3, 2], gap="medium")
    with left:
        if snap is None:
            figure = batch_loss_figure([], [], [], 1, planned_epochs)
        else:
            # A run that stopped or blew up early is shown whole, not as a line at epoch 0.
            figure = batch_loss_figure(snap.steps, snap.losses, snap.smoothed, run.steps_per_epoch,
                                       run.job.config.epochs, zoom_to_data=snap.status in (STOPPED, DIVERGED, FAILED))
        # Redrawn in place (st.plotly_chart would build a new chart at every update). While
        # polling, a static plot (no hover or zoom layers): the browser does the least work, and
        # it may share the CPU with the training.
        live_chart(presented(figure), key="train_chart_loss", config={"displayModeBar": False, "staticPlot": polling},
                   alt="Training loss per batch: the loss of every batch and its moving average, by epoch")
    with right:
        if snap is not None and snap.preview is not None:
            st.html(answers_html(snap.preview))
        elif snap is None:
            st.caption("Press **Start training**: the loss of every batch draws itself on the left, and here "
                       "the network answers a few test images, right or wrong, as it learns.")


def show_epochs(run: LiveRun | None, planned_epochs: int) -> None:
    """The per-epoch chart of ``run`` (empty before any run, its x axis ``planned_epochs`` long).

    Drawn by the page, outside the polling fragment: it changes once per epoch, when the fragment
    reruns the page. A live chart, so that the new point is drawn into the chart already there
    (st.plotly_chart would build a new one: half a second of the browser's CPU, while it trains).
    """
    if run is None:
        figure = epoch_figure([], planned_epochs)
    else:
        figure = epoch_figure(run.worker.snapshot().epochs, run.job.config.epochs)
    live_chart(presented(figure), key="train_chart_epochs", config={"displayModeBar": False},
               alt="Loss and accuracy per epoch, on the training images and on the test images")
