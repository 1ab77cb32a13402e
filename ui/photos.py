"""Streamlit glue of the Photos page: the shared network, per-session answers, the session's
labelled photos, head training in the background worker, and submissions — and the page's
larger pieces (the answers table, the live curves, the results, the save form, the submission).

The network is loaded once per server (``st.cache_resource``) and only read. Everything a
student uploads lives in this session: answers in ``st.session_state`` (keyed by the file's
SHA-256, so a rerun does not recompute them), extracted archives in a temporary folder of the
session's own.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from nnviz.archives import ArchiveError, extract_zip
from nnviz.checkpoints import save_user_model
from nnviz.figures import photos as fig
from nnviz.figures.training_curves import batch_loss_figure, epoch_figure
from nnviz.images import ImageReadError
from nnviz.photos import backbone
from nnviz.photos.classify import AnimalClassifier, AnimalPrediction, grad_cam
from nnviz.photos.features import FeatureCache, Features, extract_features
from nnviz.photos.labelled import IMAGE_SUFFIXES, DatasetError, LabelledPhotos, find_labelled_photos, split_photos
from nnviz.photos.transfer import HeadJob
from nnviz.jobs.live_run import POLL_S
from nnviz.jobs.metrics import ENDED, smoothing_for
from nnviz.jobs.queue import shared_queue
from nnviz.jobs.worker import TrainingWorker
from ui.live_chart import live_chart
from ui.session_files import session_folder

PHOTO_TYPES = [suffix[1:] for suffix in IMAGE_SUFFIXES]  # what the uploader accepts
ANSWERS = "photos_answers"
TRAINING = "photos_training"
SUBMISSION = "photos_submission"
PLOT = {"displayModeBar": False}  # plotly config of the page's charts


@st.cache_resource(show_spinner="Loading EfficientNet-Lite0 (pretrained on ImageNet)…")
def animal_classifier() -> AnimalClassifier:
    """The network, loaded once per server and shared by all sessions (never modified)."""
    return AnimalClassifier()


def answer(name: str, data: bytes) -> AnimalPrediction | str:
    """The prediction for one photo, or the plain-words reason it cannot be read; cached per
    session by the bytes' SHA-256."""
    cache = st.session_state.setdefault(ANSWERS, {})
    key = hashlib.sha256(data).hexdigest()
    if key not in cache:
        try:
            cache[key] = animal_classifier().predict_file(data, name)
        except ImageReadError as exc:
            cache[key] = str(exc)
        if len(cache) > 200:  # a long session: keep memory bounded
            cache.pop(next(iter(cache)))
    return cache[key]


def show_answers(answers: dict[str, AnimalPrediction | str]) -> dict[str, AnimalPrediction]:
    """Name each photo that could not be read with its reason, and tabulate the others' answers;
    returns the readable ones, ``{name: prediction}``."""
    good = {n: a for n, a in answers.items() if not isinstance(a, str)}
    for name, a in answers.items():
        if isinstance(a, str):
            st.error(f"**{name}** — not used: {a.split(': ', 1)[-1]}", icon=":material/broken_image:")
    if good:
        # Three narrow text columns, so the table fits a tablet's width without scrolling sideways.
        rows = [{"photo": Path(n).name, "animal group": f"{a.answer} — {a.group_probabilities[a.group]:.0%}",
                 "top ImageNet class": f"{a.top5[0].name} — {a.top5[0].probability:.0%}"} for n, a in good.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={"photo": st.column_config.TextColumn(width=96),
                                    "animal group": st.column_config.TextColumn(width=136),
                                    "top ImageNet class": st.column_config.TextColumn(width=118)})
    return good


def photo_grad_cam(pred: AnimalPrediction, target: int) -> np.ndarray:
    """Grad-CAM ``(224, 224)`` in [0, 1] for ImageNet class ``target``, cached in the session."""
    cache = st.session_state.setdefault("photos_cams", {})
    key = (hashlib.sha256(pred.input.numpy().tobytes()).hexdigest(), target)
    if key not in cache:
        cache.clear()  # one photo at a time is looked at; keep only its maps
        cache[key] = grad_cam(animal_classifier(), pred.input, target)
    return cache[key]


def photo_occlusion(pred: AnimalPrediction, target: int) -> np.ndarray:
    """Occlusion ``(224, 224)`` float32 (probability drop of ImageNet class ``target`` when a grey
    patch covers each part, :func:`nnviz.occlusion.occlusion`), cached in the session."""
    from nnviz.occlusion import PHOTO_STRIDE, PHOTO_WINDOW, occlusion

    cache = st.session_state.setdefault("photos_occlusion", {})
    key = (hashlib.sha256(pred.input.numpy().tobytes()).hexdigest(), target)
    if key not in cache:
        cache.clear()  # one photo at a time is looked at; keep only its maps
        classifier = animal_classifier()
        # 0.0 is mid-grey for an input in [-1, 1]
        cache[key] = occlusion(classifier.model, pred.input[None].to(classifier.device), target,
                               window=PHOTO_WINDOW, stride=PHOTO_STRIDE, baseline=0.0, batch=16)[0]
    return cache[key]


# --- training a head ------------------------------------------------------------------------


@dataclass
class PhotoTraining:
    """This session's labelled photos and what was done with them."""

    upload_key: str
    folder: str
    photos: LabelledPhotos | None = None
    error: str | None = None
    features: Features | None = None
    job: HeadJob | None = None
    worker: TrainingWorker | None = None
    saved_as: str | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> LabelledPhotos | None:
        """The photos whose features could be extracted."""
        if self.photos is None or self.features is None:
            return None
        return self.photos.subset(np.flatnonzero(self.features.ok))


def labelled_upload(upload) -> PhotoTraining | None:
    """Unpack an uploaded zip of labelled photos once (per distinct upload) and read it."""
    if upload is None:
        return st.session_state.get(TRAINING)
    key = f"{upload.name}:{upload.size}:{getattr(upload, 'file_id', '')}"
    current: PhotoTraining | None = st.session_state.get(TRAINING)
    if current is not None and current.upload_key == key:
        return current
    if current is not None and current.worker is not None:
        current.worker.stop(wait_s=1.0)
    training = PhotoTraining(key, str(session_folder("train", fresh=True)))
    try:
        extract_zip(upload.getvalue(), training.folder)
        training.photos = find_labelled_photos(training.folder)
    except (ArchiveError, DatasetError, OSError) as exc:
        training.error = f"{upload.name}: {exc}"
    st.session_state[TRAINING] = training
    return training


def extract(training: PhotoTraining) -> None:
    """Extract the backbone features of the session's photos with a progress bar (cached per image
    on disk, so photos seen before cost nothing)."""
    bar = st.progress(0.0, text="Running the photos through the frozen network…")

    def show(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Features of {done} of {total} photos")

    # Features of this session's photos are cached in its own folder only (camera pictures never
    # leave the session), so a second training on the same photos costs nothing.
    cache = FeatureCache(session_folder("features"))
    training.features = extract_features(training.photos.paths, model=animal_classifier().model, cache=cache,
                                         on_progress=show, names=training.photos.ids)
    training.skipped = list(training.features.errors.values())
    bar.empty()


def start_head_training(training: PhotoTraining, config, test_fraction: float) -> None:
    """Train a new head on the extracted features in the background worker (the Train page's)."""
    photos = training.usable
    split = split_photos(photos.labels, photos.sites, test_fraction, config.seed)
    training.job = HeadJob(training.features.values[training.features.ok], photos, split, config)
    training.saved_as = None
    training.worker = TrainingWorker(training.job, queue=shared_queue(), name="nnviz-photo-head",
                                     smoothing=smoothing_for(training.job.steps_per_epoch)).start()


def submission_upload(upload, training: PhotoTraining):
    """Predict an uploaded zip of unlabelled photos with ``test_features.csv``; returns the
    :class:`nnviz.photos.submission.Submission` or an error message. Cached per upload in the session."""
    from nnviz.photos.submission import predict_submission, read_test_features

    key = (f"{upload.name}:{upload.size}:{getattr(upload, 'file_id', '')}", id(training.job))
    done = st.session_state.get(SUBMISSION)
    if done is not None and done[0] == key:
        return done[1]
    folder = session_folder("test", fresh=True)
    try:
        extract_zip(upload.getvalue(), folder)
        csvs = sorted(folder.rglob("test_features.csv"))
        if not csvs:
            raise DatasetError("the zip has no test_features.csv (columns id, filepath[, site])")
        ids, paths = read_test_features(csvs[0])
        bar = st.progress(0.0, text="Predicting the photos…")
        result = predict_submission(training.job.model, training.job.card, ids, paths, model=animal_classifier().model,
                                    cache=FeatureCache(session_folder("features")),
                                    on_progress=lambda d, t: bar.progress(d / max(t, 1), text=f"{d} of {t} photos"))
        bar.empty()
    except (ArchiveError, DatasetError, OSError) as exc:
        result = f"{upload.name}: {exc}"
    st.session_state[SUBMISSION] = (key, result)
    return result


def live_head_curves(training: PhotoTraining, running: bool) -> None:
    """The head's progress and learning curves, redrawn every ``POLL_S`` while it trains (a
    fragment: only this part reruns); when the run ends, the whole page reruns for the results."""
    @st.fragment(run_every=POLL_S if running else None)
    def live_curves():
        snap = training.worker.snapshot()
        if running and not snap.active:
            st.rerun()  # finished: redraw the whole page with the results
        job = training.job
        st.progress(snap.progress, text=f"{snap.status.capitalize()} · {len(snap.epochs)} of {job.config.epochs} "
                                        f"epochs · {job.split.description}")
        a, b = st.columns(2)
        live = {**PLOT, "staticPlot": running}  # redrawn in place while polling, as on the Train page
        with a:
            live_chart(batch_loss_figure(snap.steps, snap.losses, snap.smoothed, job.steps_per_epoch, job.config.epochs),
                       key="photos_loss", config=live, alt="Training loss of the head, per batch")
        with b:
            live_chart(epoch_figure(snap.epochs, job.config.epochs), key="photos_epoch_curves", config=live,
                       alt="Loss and accuracy of the head per epoch")

    live_curves()


def show_head_results(training: PhotoTraining) -> bool:
    """The trained head's held-out accuracy, log loss and confusion matrix; False (with the
    worker's message if it failed) while it is still training or when it has no results."""
    snap = training.worker.snapshot()
    if snap.status not in ENDED:
        return False
    m = training.job.metrics
    if m is None:
        st.error(snap.message)
        return False
    classes = training.photos.classes
    st.subheader("How good is your head?")
    a, b, c = st.columns(3)
    a.metric("Held-out accuracy", f"{m.accuracy:.1%}", f"chance {1 / len(classes):.0%}", delta_color="off",
             delta_arrow="off")
    b.metric("Log loss (the competition's metric)", f"{m.log_loss:.3f}",
             f"guessing uniformly: {math.log(len(classes)):.3f}", delta_color="off", delta_arrow="off")
    c.metric("Held-out photos", m.n)
    st.plotly_chart(fig.confusion_figure(m.confusion, classes), config=PLOT, key="photos_confusion")
    return True


def save_head_form(training: PhotoTraining) -> None:
    """Save the trained head under a name of the student's (:func:`nnviz.checkpoints.save_user_model`)."""
    job = training.job
    with st.form("photos_save"):
        save_name = st.text_input("Save the head as", value="my-photo-head", key="photos_save_name")
        if st.form_submit_button("Save", icon=":material/save:"):
            try:
                training.saved_as = str(save_user_model(job.model, job.card, save_name))
            except ValueError as exc:
                st.error(str(exc))
    if training.saved_as:
        st.success(f"Saved as {training.saved_as}. Use it from the command line: "
                   f"`python -m nnviz submit --model {save_name} --features test_features.csv`")


def show_submission(result) -> None:
    """A submission's first rows and its download button, or why there is none (the message
    from :func:`submission_upload`); unreadable photos are named (they get uniform probabilities)."""
    if isinstance(result, str):
        st.error(result, icon=":material/folder_off:")
        return
    for message in result.errors.values():
        st.warning(f"{message} — given uniform probabilities", icon=":material/broken_image:")
    csv_text = result.to_csv()
    st.dataframe(pd.read_csv(io.StringIO(csv_text)).head(20), hide_index=True)
    st.caption(f"The first rows of submission.csv: {len(result.ids)} rows in all, each a probability "
               "distribution over your classes (it sums to 1).")
    st.download_button("Download submission.csv", csv_text, "submission.csv", "text/csv",
                       icon=":material/download:", key="photos_download")


def input_rgb(pred: AnimalPrediction) -> np.ndarray:
    """The 224 × 224 crop the network saw, as ``(224, 224, 3)`` uint8."""
    return backbone.unnormalize(pred.input)
