"""Streamlit glue of the Photos page: the shared network, per-session answers, the session's
labelled photos, head training in the background worker, and submissions.

The network is loaded once per server (``st.cache_resource``) and only read. Everything a
student uploads lives in this session: answers in ``st.session_state`` (keyed by the file's
SHA-256, so a rerun does not recompute them), extracted archives in a temporary folder of the
session's own.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from nnviz.archives import ArchiveError, clear_folder, extract_zip
from nnviz.images import ImageReadError
from nnviz.photos import backbone
from nnviz.photos.classify import AnimalClassifier, AnimalPrediction, grad_cam
from nnviz.photos.features import FeatureCache, Features, extract_features
from nnviz.photos.labelled import (IMAGE_SUFFIXES, DatasetError, LabelledPhotos, find_labelled_photos, is_image_file,
                                   split_photos)
from nnviz.photos.transfer import HeadJob
from nnviz.run_queue import shared_queue
from nnviz.worker import TrainingWorker

ROOT = Path(__file__).resolve().parent.parent
PHOTO_TYPES = [suffix[1:] for suffix in IMAGE_SUFFIXES]  # what the uploader accepts
ANSWERS = "photos_answers"
TRAINING = "photos_training"
SUBMISSION = "photos_submission"
POLL_S = 0.5


def example_folder() -> Path | None:
    """Real photos to try without uploading: ``$NNVIZ_EXAMPLE_PHOTOS``, else the project's shared
    data (``../shared/data/animals``) when it is there; None otherwise."""
    folder = Path(os.environ.get("NNVIZ_EXAMPLE_PHOTOS") or ROOT.parent / "shared" / "data" / "animals")
    return folder if folder.is_dir() else None


def example_photos() -> dict[str, Path]:
    """``{"pets/Beagle_01125.jpg": path, …}`` of the example folder's photos, sorted."""
    folder = example_folder()
    if folder is None:
        return {}
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if is_image_file(p)}


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


def photo_grad_cam(pred: AnimalPrediction, target: int) -> np.ndarray:
    """Grad-CAM ``(224, 224)`` in [0, 1] for ImageNet class ``target``, cached in the session."""
    cache = st.session_state.setdefault("photos_cams", {})
    key = (hashlib.sha256(pred.input.numpy().tobytes()).hexdigest(), target)
    if key not in cache:
        cache.clear()  # one photo at a time is looked at; keep only its maps
        cache[key] = grad_cam(animal_classifier(), pred.input, target)
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


def session_folder(kind: str) -> str:
    """A fresh temporary folder for this session's ``kind`` of upload (the previous one is removed)."""
    old = st.session_state.get(f"photos_dir_{kind}")
    if old:
        clear_folder(old)
    folder = tempfile.mkdtemp(prefix=f"nnviz-{kind}-")
    st.session_state[f"photos_dir_{kind}"] = folder
    return folder


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
    training = PhotoTraining(key, session_folder("train"))
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

    training.features = extract_features(training.photos.paths, model=animal_classifier().model, cache=FeatureCache(),
                                         on_progress=show, names=training.photos.ids)
    training.skipped = list(training.features.errors.values())
    bar.empty()


def start_head_training(training: PhotoTraining, config, test_fraction: float) -> None:
    """Train a new head on the extracted features in the background worker (the Train page's)."""
    photos = training.usable
    split = split_photos(photos.labels, photos.sites, test_fraction, config.seed)
    training.job = HeadJob(training.features.values[training.features.ok], photos, split, config)
    training.saved_as = None
    training.worker = TrainingWorker(training.job, queue=shared_queue(), name="nnviz-photo-head").start()


def submission_upload(upload, training: PhotoTraining):
    """Predict an uploaded zip of unlabelled photos with ``test_features.csv``; returns the
    :class:`nnviz.photos.submission.Submission` or an error message. Cached per upload in the session."""
    from nnviz.photos.submission import predict_submission, read_test_features

    key = (f"{upload.name}:{upload.size}:{getattr(upload, 'file_id', '')}", id(training.job))
    done = st.session_state.get(SUBMISSION)
    if done is not None and done[0] == key:
        return done[1]
    folder = Path(session_folder("test"))
    try:
        extract_zip(upload.getvalue(), folder)
        csvs = sorted(folder.rglob("test_features.csv"))
        if not csvs:
            raise DatasetError("the zip has no test_features.csv (columns id, filepath[, site])")
        ids, paths = read_test_features(csvs[0])
        bar = st.progress(0.0, text="Predicting the photos…")
        result = predict_submission(training.job.model, training.job.card, ids, paths, model=animal_classifier().model,
                                    cache=FeatureCache(),
                                    on_progress=lambda d, t: bar.progress(d / max(t, 1), text=f"{d} of {t} photos"))
        bar.empty()
    except (ArchiveError, DatasetError, OSError) as exc:
        result = f"{upload.name}: {exc}"
    st.session_state[SUBMISSION] = (key, result)
    return result


def input_rgb(pred: AnimalPrediction) -> np.ndarray:
    """The 224 × 224 crop the network saw, as ``(224, 224, 3)`` uint8."""
    return backbone.unnormalize(pred.input)
