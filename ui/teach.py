"""Streamlit glue of "Train your own classifier", the way Teachable Machine does it: name a few
classes, collect examples for each with the camera or by upload (or load the one-click example),
train a head on the frozen network, then test it live on new pictures, with Grad-CAM.

Collected pictures are written only into this session's folder (:mod:`ui.session_files`),
which is removed when the session ends. Training reuses :class:`ui.photos.PhotoTraining`, so the
results, the save form and the submission work the same for a zip of labelled photos.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from nnviz.figures import photos as fig
from nnviz.images import ImageReadError, open_image
from nnviz.photos import backbone
from nnviz.photos.classify import in_words
from nnviz.photos.examples import example_classes
from nnviz.photos.labelled import LabelledPhotos
from nnviz.photos.transfer import head_answer, head_grad_cam
from ui import photos as ui
from ui.layout import wrapping_row
from ui.photos import PLOT, PhotoTraining
from ui.session_files import session_folder

SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")

COLLECTION = "teach_collection"
MAX_CLASSES = 6
MIN_PER_CLASS = 2  # one to train on, one held out to measure the head honestly


@dataclass
class Collection:
    """This session's classes and their example pictures (files in the session's folder, or the
    shipped example photos)."""

    names: list[str] = field(default_factory=lambda: ["class 1", "class 2"])
    examples: list[list[Path]] = field(default_factory=lambda: [[], []])
    seen: set[tuple[int, str]] = field(default_factory=set)  # (class, SHA-256) already added
    shots: set[str] = field(default_factory=set)  # SHA-256 of camera shots already added to a class

    def resize(self, n: int) -> None:
        while len(self.names) < n:
            self.names.append(f"class {len(self.names) + 1}")
            self.examples.append([])
        del self.names[n:], self.examples[n:]

    def add(self, i: int, name: str, data: bytes, camera: bool = False) -> str | None:
        """Add one picture to class ``i``; returns the plain-words reason when it is refused.
        The widgets hand the same picture back at every rerun: each is added once (a camera
        shot once in all, so choosing another class does not copy the last shot into it)."""
        sha = hashlib.sha256(data).hexdigest()
        if (i, sha) in self.seen or (camera and sha in self.shots):
            return None
        self.seen.add((i, sha))
        if camera:
            self.shots.add(sha)
        try:
            backbone.check_size(open_image(data, name), name)
        except ImageReadError as exc:
            return str(exc)
        # The file is named by its hash; of the student's file name only a plain extension is kept.
        suffix = Path(name).suffix.lower()
        path = session_folder("camera") / str(i) / f"{sha[:16]}{suffix if SUFFIX.fullmatch(suffix) else '.jpg'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.examples[i].append(path)
        return None

    def photos(self) -> LabelledPhotos:
        """The collected pictures as labelled photos (classes in the cards' order)."""
        paths = [p for ps in self.examples for p in ps]
        labels = np.array([i for i, ps in enumerate(self.examples) for _ in ps], dtype=np.int64)
        ids = [f"{self.names[i]}/{p.name}" for i, ps in enumerate(self.examples) for p in ps]
        return LabelledPhotos(paths, labels, list(self.names), ids)

    def key(self) -> str:
        return "collected:" + hashlib.sha256(repr((self.names, self.examples)).encode()).hexdigest()[:16]


def collection() -> Collection:
    return st.session_state.setdefault(COLLECTION, Collection())


def load_example() -> None:
    """The one-click example: bird, big cat and antelope, 18 shipped camera-trap photos each."""
    classes = example_classes()
    st.session_state[COLLECTION] = Collection(list(classes), [list(v) for v in classes.values()])
    st.session_state["teach_classes"] = len(classes)
    for i, name in enumerate(classes):
        st.session_state[f"teach_name_{i}"] = name


def collect() -> Collection:
    """The class cards: a name, camera shots and uploads for each class."""
    c = collection()
    st.session_state.setdefault("teach_classes", len(c.names))
    st.button("One-click example: bird, big cat, antelope", icon=":material/auto_awesome:", on_click=load_example,
              key="teach_example", help="54 Snapshot Serengeti camera-trap photos shipped with the app")
    n = st.number_input("How many classes", 2, MAX_CLASSES, key="teach_classes")
    c.resize(int(n))
    for i in range(len(c.names)):
        st.session_state.setdefault(f"teach_name_{i}", c.names[i])
        c.names[i] = st.session_state[f"teach_name_{i}"].strip() or f"class {i + 1}"
    target = st.segmented_control("Each camera shot shows", range(len(c.names)), format_func=lambda i: c.names[i],
                                  default=0, key="teach_target")
    cam, choice = st.columns([1, 1], gap="medium")
    choice.caption("Choose the class, then take pictures: each shot is added to that class. Vary the angle, the "
                   "distance and the light, as the network will meet them later.")
    shot = cam.camera_input("Camera", key="teach_camera")
    if shot is not None and target is not None:
        problem = c.add(int(target), "camera shot.jpg", shot.getvalue(), camera=True)
        if problem:
            st.error(problem, icon=":material/broken_image:")
    # A card per class, three to a row on a desktop, fewer where a card would be under 16 rem (its
    # upload box then cuts off the list of file types).
    for i, card in enumerate(wrapping_row("teach_cards", ["flex: 1 1 16rem"] * len(c.names), gap="small",
                                          border=True)):
        with card:
            st.text_input("Class name", key=f"teach_name_{i}")
            for up in st.file_uploader("Add photos", type=ui.PHOTO_TYPES, accept_multiple_files=True,
                                       key=f"teach_upload_{i}") or []:
                problem = c.add(i, up.name, up.getvalue())
                if problem:
                    st.error(problem, icon=":material/broken_image:")
            st.caption(f"**{len(c.examples[i])} example{'' if len(c.examples[i]) == 1 else 's'}**")
            if c.examples[i]:
                st.image([str(p) for p in c.examples[i][-6:]], width=56)
    return c


def ready(c: Collection) -> str | None:
    """Why the collection cannot be trained on yet, or None."""
    if len(set(c.names)) < len(c.names):
        return "Give every class a different name."
    short = [n for n, ex in zip(c.names, c.examples) if len(ex) < MIN_PER_CLASS]
    if short:
        return (f"Every class needs at least {MIN_PER_CLASS} examples (one to learn from, one to check it): "
                f"add some to {', '.join(short)}.")
    return None


def training_for(c: Collection) -> PhotoTraining:
    """The session's training state for this collection (a new one when the collection changed)."""
    current: PhotoTraining | None = st.session_state.get(ui.TRAINING)
    if current is not None and current.upload_key == c.key():
        return current
    if current is not None and current.worker is not None:
        current.worker.stop(wait_s=1.0)
    training = PhotoTraining(c.key(), str(session_folder("camera")), photos=c.photos())
    st.session_state[ui.TRAINING] = training
    return training


def labelled_set(c: Collection) -> PhotoTraining | None:
    """The photos to train on: a zip of labelled photos when one is uploaded (the expander, for
    larger sets), else the collected classes; None, with what is missing, when not ready."""
    with st.expander("A larger set? Upload a zip of labelled photos"):
        st.markdown("One folder per class (`cats/…`, `dogs/…`), or the Conser-vision layout: `train_features.csv` "
                    "(`id`, `filepath`, `site`), `train_labels.csv` (`id` and one 0/1 column per class) and the images.")
        zip_upload = st.file_uploader("Labelled photos (zip)", type=["zip"], key="photos_train_zip")
    if zip_upload is not None:
        return ui.labelled_upload(zip_upload)
    if problem := ready(c):
        st.info(problem, icon=":material/photo_library:")
        return None
    return training_for(c)


def try_it(training: PhotoTraining) -> None:
    """Test the trained head live: a new camera shot or upload, its answer and Grad-CAM."""
    st.subheader("Test it on a new picture")
    a, b = st.columns(2, gap="medium")
    shot = a.camera_input("Take a new picture", key="teach_test_camera")
    upload = b.file_uploader("…or upload one", type=ui.PHOTO_TYPES, key="teach_test_upload")
    picture = shot or upload
    if picture is None:
        st.caption("The head has never seen this picture: what does it answer?")
        return
    try:
        x = backbone.preprocess(open_image(picture.getvalue(), picture.name), picture.name)
    except ImageReadError as exc:
        st.error(str(exc), icon=":material/broken_image:")
        return
    model, head, classes = ui.animal_classifier().model, training.job.model, training.photos.classes
    probs = head_answer(model, head, x)
    best = int(np.argmax(probs))
    left, right = st.columns([2, 3], gap="medium")
    with left:
        st.metric("Your classifier says", in_words(classes[best], float(probs[best])), f"{probs[best]:.0%} probability",
                  delta_color="off", delta_arrow="off")
        st.plotly_chart(fig.class_bars(classes, probs), config=PLOT, key="teach_answer_bars")
    with right:
        st.plotly_chart(fig.grad_cam_figure(backbone.unnormalize(x), head_grad_cam(model, head, x, best), classes[best]),
                        config=PLOT, key="teach_cam")
