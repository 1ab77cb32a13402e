"""Photos: what a real image network (EfficientNet-Lite0, trained on ImageNet) makes of a photo —
its top classes, an animal group, where it looks, what is inside — and a classifier of your own."""

import io
import math
from dataclasses import replace

import pandas as pd
import streamlit as st

from nnviz.checkpoints import save_user_model
from nnviz.figures import photos as fig
from nnviz.figures.training_curves import batch_loss_figure, epoch_figure
from nnviz.photos import backbone
from nnviz.photos.transfer import HEAD_CONFIG
from nnviz.worker import ENDED
from ui import photos as ui
from ui.live_chart import live_chart
from ui.resources import use_one_thread_for_inference

PLOT = {"displayModeBar": False}

st.title("Photos: what a real network sees")
st.caption("EfficientNet-Lite0 is a 4.65-million-parameter network trained on 1.28 million ImageNet photos "
           "in 1,000 classes. Give it your photos — a camera-trap frame, your cat, a dog — and see its answer.")
use_one_thread_for_inference()
try:
    classifier = ui.animal_classifier()
except backbone.BackboneUnavailable as exc:
    st.error(str(exc))
    st.stop()
with st.expander("About this network (model card)"):
    st.json(backbone.model_card(), expanded=True)

# 1. Photos -------------------------------------------------------------------------------------
st.header("1. Your photos")
uploads = st.file_uploader("Upload one or many photos", type=ui.PHOTO_TYPES, accept_multiple_files=True,
                           key="photos_upload", help="JPEG, PNG, WebP, GIF (first frame), BMP or TIFF.")
examples = ui.example_photos()
chosen = st.multiselect("…or pick real example photos (Snapshot Serengeti camera traps and pets)", list(examples),
                        key="photos_examples") if examples else []
files = [(u.name, u.getvalue()) for u in uploads or []] + [(n, examples[n].read_bytes()) for n in chosen]
if not files:
    st.info("Upload a photo (or pick an example) to see what the network answers.", icon=":material/photo_camera:")
    st.stop()

answers = {name: ui.answer(name, data) for name, data in files}
good = {n: a for n, a in answers.items() if not isinstance(a, str)}
for name, a in answers.items():
    if isinstance(a, str):
        st.error(f"**{name}** — not used: {a.split(': ', 1)[-1]}", icon=":material/broken_image:")
if good:
    st.dataframe(pd.DataFrame([{"photo": n, "animal group": a.title, "group probability": a.group_probabilities[a.group],
                                "top ImageNet class": a.top5[0].name, "its probability": a.top5[0].probability}
                               for n, a in good.items()]),
                 hide_index=True, width="stretch",
                 column_config={"group probability": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
                                "its probability": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
if not good:
    st.stop()

# 2. One photo up close -------------------------------------------------------------------------
st.header("2. One photo up close")
name = st.selectbox("Photo", list(good), key="photos_pick")
pred = good[name]
left, middle, right = st.columns([2, 3, 3], gap="medium")
with left:
    st.plotly_chart(fig.image_figure(ui.input_rgb(pred), "Network input, 224 px"), config=PLOT,
                    key="photos_input")
    st.metric("Animal group", pred.title, f"{pred.group_probabilities[pred.group]:.1%} probability", delta_color="off", delta_arrow="off")
with middle:
    st.plotly_chart(fig.top5_bars(pred.top5), config=PLOT, key="photos_top5")
    st.caption("The network itself only knows ImageNet's 1,000 classes: 118 dog breeds, 59 kinds of bird, "
               "but also “espresso”, “volcano”, “lawn mower”.")
with right:
    st.plotly_chart(fig.group_bars(pred.group_probabilities), config=PLOT, key="photos_groups")
    st.caption("Each ImageNet class is a WordNet noun. A group's probability is the sum over every class "
               "below it in WordNet: dog = all 118 breeds, cat = 5 domestic cats, bird = 59 species. "
               "Animals outside the groups count as *other animal*; objects and scenes as *no animal (blank)*.")

# 3. Where it looks -----------------------------------------------------------------------------
st.header("3. Where it looks")
st.caption("Grad-CAM (Selvaraju et al. 2017): the last convolution's 7 × 7 feature maps, weighted by how much "
           "each raises the chosen class's score, upsampled to the photo. Red: the regions that made it say so.")
options = {t.index: f"{t.name} ({t.probability:.1%})" for t in pred.top5}
target = st.radio("Explain the class", list(options), format_func=options.get, horizontal=True, key="photos_cam_class")
cam_left, cam_right = st.columns(2, gap="medium")
with cam_left:
    st.plotly_chart(fig.image_figure(ui.input_rgb(pred), "The photo"), config=PLOT, key="photos_cam_photo")
with cam_right:
    st.plotly_chart(fig.grad_cam_figure(ui.input_rgb(pred), ui.photo_grad_cam(pred, target),
                                        backbone.class_names()[target]), config=PLOT, key="photos_cam")

# 4. Inside the backbone ------------------------------------------------------------------------
st.header("4. Inside the network")
k_left, k_right = st.columns([2, 3], gap="medium")
with k_left:
    st.plotly_chart(fig.kernels_figure(backbone.stem_kernels(classifier.model)), config=PLOT, key="photos_kernels")
    st.caption("Each tile is one kernel of the first layer, its 3 × 3 weights for red, green and blue shown as a "
               "colour (grey = 0). They detect edges and colour contrasts, like the first layer of the digit CNN.")
with k_right:
    stages = ["stem: 32 ch, 112 px", *backbone.STAGES]
    stage = st.select_slider("Block", stages, value=stages[3], key="photos_stage")
    maps = backbone.stage_feature_maps(classifier.model, pred.input)[stages.index(stage)]
    st.plotly_chart(fig.feature_maps_figure(maps.numpy(), stage), config=PLOT, key="photos_maps")
    st.caption("Deeper blocks have more, smaller feature maps: less *where*, more *what*.")

# 5. Train your own -----------------------------------------------------------------------------
st.header("5. Train a classifier of your own")
st.markdown("Transfer learning: keep the network frozen, run each of your labelled photos through it once, and "
            "train only a **new last layer** (the *head*) from its 1,280 features to your classes. Give a **zip** "
            "with one folder per class (`cats/…`, `dogs/…`), or the Conser-vision layout: `train_features.csv` "
            "(`id`, `filepath`, `site`), `train_labels.csv` (`id` and one 0/1 column per class) and the images.")
zip_upload = st.file_uploader("Labelled photos (zip)", type=["zip"], key="photos_train_zip")
training = ui.labelled_upload(zip_upload)
if training is None:
    st.stop()
if training.error:
    st.error(training.error, icon=":material/folder_off:")
    st.stop()
photos = training.photos
counts = pd.Series(photos.labels).value_counts().reindex(range(len(photos.classes)), fill_value=0)
st.write(f"**{len(photos)} photos** in {len(photos.classes)} classes: "
         + ", ".join(f"{c} ({n})" for c, n in zip(photos.classes, counts))
         + (f"; {len(set(photos.sites))} camera sites." if photos.sites else "."))
if training.features is None:
    if st.button("Extract features", icon=":material/memory:", key="photos_extract", type="primary"):
        ui.extract(training)
        st.rerun()
    st.stop()
f = training.features
st.caption(f"Features of {int(f.ok.sum())} photos extracted in {f.seconds:.1f} s ({f.from_cache} from the cache).")
for message in training.skipped:
    st.warning(f"Skipped: {message}", icon=":material/broken_image:")

running = training.worker is not None and training.worker.alive
c1, c2, c3 = st.columns(3)
epochs = c1.slider("Epochs", 5, 100, HEAD_CONFIG.epochs, 5, key="photos_epochs", disabled=running)
rate = c2.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1], HEAD_CONFIG.learning_rate,
                        key="photos_lr", disabled=running)
held_out = c3.slider("Held-out share", 0.1, 0.5, 0.25, 0.05, key="photos_held_out", disabled=running,
                     help="Photos kept away from training to measure the head honestly. With camera sites, "
                          "whole sites are held out.")
if st.button("Train the head", icon=":material/model_training:", key="photos_train", disabled=running, type="primary"):
    try:
        ui.start_head_training(training, replace(HEAD_CONFIG, epochs=epochs, learning_rate=rate), held_out)
    except ValueError as exc:
        st.error(str(exc))
    st.rerun()
if training.worker is None:
    st.stop()


@st.fragment(run_every=ui.POLL_S if running else None)
def live_curves():
    snap = training.worker.snapshot()
    if running and not snap.active:
        st.rerun()  # finished: redraw the whole page with the results
    job = training.job
    st.progress(snap.progress, text=f"{snap.status.capitalize()} · {len(snap.epochs)} of {job.config.epochs} epochs · "
                                    f"{job.split.description}")
    steps_per_epoch = -(-len(job.split.train) // job.config.batch_size)
    a, b = st.columns(2)
    live = {**PLOT, "staticPlot": running}  # redrawn in place while polling, as on the Train page
    with a:
        live_chart(batch_loss_figure(snap.steps, snap.losses, snap.smoothed, steps_per_epoch, job.config.epochs),
                   key="photos_loss", config=live, alt="Training loss of the head, per batch")
    with b:
        live_chart(epoch_figure(snap.epochs, job.config.epochs), key="photos_epoch_curves", config=live,
                   alt="Loss and accuracy of the head per epoch")


live_curves()
snap = training.worker.snapshot()
if snap.status not in ENDED:
    st.stop()
if training.job.metrics is None:
    st.error(snap.message)
    st.stop()
m, job = training.job.metrics, training.job
st.subheader("How good is your head?")
a, b, c = st.columns(3)
a.metric("Held-out accuracy", f"{m.accuracy:.1%}", f"chance {1 / len(photos.classes):.0%}", delta_color="off", delta_arrow="off")
b.metric("Log loss (the competition's metric)", f"{m.log_loss:.3f}",
         f"guessing uniformly: {math.log(len(photos.classes)):.3f}", delta_color="off", delta_arrow="off")
c.metric("Held-out photos", m.n)
st.plotly_chart(fig.confusion_figure(m.confusion, photos.classes), config=PLOT, key="photos_confusion")

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

# 6. Submission ---------------------------------------------------------------------------------
st.header("6. A competition submission")
st.markdown("Give a zip of **unlabelled** photos with the competition's `test_features.csv` (`id`, `filepath`). "
            "You get a CSV with `id` and one probability column per class, in your training labels' order.")
test_upload = st.file_uploader("Test photos (zip)", type=["zip"], key="photos_test_zip")
if test_upload is not None:
    result = ui.submission_upload(test_upload, training)
    if isinstance(result, str):
        st.error(result, icon=":material/folder_off:")
    else:
        for i, message in result.errors.items():
            st.warning(f"{message} — given uniform probabilities", icon=":material/broken_image:")
        csv_text = result.to_csv()
        st.dataframe(pd.read_csv(io.StringIO(csv_text)).head(20), hide_index=True)
        st.caption(f"The first rows of submission.csv: {len(result.ids)} rows in all, each a probability "
                   "distribution over your classes (it sums to 1).")
        st.download_button("Download submission.csv", csv_text, "submission.csv", "text/csv",
                           icon=":material/download:", key="photos_download")
