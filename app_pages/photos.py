"""Photos: what a real image network (EfficientNet-Lite0, trained on ImageNet) makes of a photo —
its top classes, an animal group, where it looks, what is inside — and a classifier of your own."""

from dataclasses import replace

import streamlit as st

from nnviz.figures import channels as channel_figures
from nnviz.figures import photos as fig
from nnviz.photos import backbone
from nnviz.photos.examples import example_photos
from nnviz.photos.classify import UNSURE_BELOW
from nnviz.photos.transfer import HEAD_CONFIG
from ui import photos as ui
from ui import teach
from ui.layout import wrapping_row
from ui.photos import PLOT
from ui.resources import use_one_thread_for_inference

st.title("Photos: what a real network sees")
st.caption("EfficientNet-Lite0 is a 4.65-million-parameter network trained on 1.28 million ImageNet photos "
           "in 1,000 classes. Give it your photos — a camera-trap frame, your cat, a dog — and see its answer, "
           "or teach it classes of your own.")
use_one_thread_for_inference()
try:
    classifier = ui.animal_classifier()
except backbone.BackboneUnavailable as exc:
    st.error(str(exc))
    st.stop()
with st.expander("About this network (model card)"):
    st.json(backbone.model_card(), expanded=True)

see_tab, train_tab = st.tabs(["What the network sees", "Train your own classifier"])


def what_it_sees():
    # 1. Photos -------------------------------------------------------------------------------------
    st.header("1. Your photos")
    uploads = st.file_uploader("Upload one or many photos", type=ui.PHOTO_TYPES, accept_multiple_files=True,
                               key="photos_upload", help="JPEG, PNG, WebP, GIF (first frame), BMP or TIFF.")
    examples = example_photos()
    chosen = st.multiselect("…or pick real example photos (Snapshot Serengeti camera traps)", list(examples),
                            key="photos_examples") if examples else []
    files = [(u.name, u.getvalue()) for u in uploads or []] + [(n, examples[n].read_bytes()) for n in chosen]
    if not files:
        st.info("Upload a photo (or pick an example) to see what the network answers.", icon=":material/photo_camera:")
        return
    good = ui.show_answers({name: ui.answer(name, data) for name, data in files})
    if not good:
        return

    # 2. One photo up close -------------------------------------------------------------------------
    st.header("2. One photo up close")
    name = st.selectbox("Photo", list(good), key="photos_pick")
    pred = good[name]
    st.metric("Animal group", pred.answer, f"{pred.group_probabilities[pred.group]:.1%} probability",
              delta_color="off", delta_arrow="off", help=f"Below {UNSURE_BELOW:.0%} the network gives the other "
              "groups together more probability than this one, so the answer is only a guess.")
    left, right = st.columns([2, 3], gap="medium")
    with left:
        st.plotly_chart(fig.image_figure(ui.input_rgb(pred), "Network input, 224 px"), config=PLOT,
                        key="photos_input")
    with right:
        st.plotly_chart(fig.top5_bars(pred.top5), config=PLOT, key="photos_top5")
        st.caption("The network itself only knows ImageNet's 1,000 classes: 118 dog breeds, 59 kinds of bird, "
                   "but also “espresso”, “volcano”, “lawn mower”.")
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
    [occ_cell] = wrapping_row("photos_occlusion_row", ["flex: 0 1 26rem"])  # as wide as one of the two above
    with occ_cell:
        st.plotly_chart(channel_figures.photo_occlusion(ui.input_rgb(pred), ui.photo_occlusion(pred, target),
                                             backbone.class_names()[target]), config=PLOT, key="photos_occlusion")
        st.caption("Occlusion: a grey square slid over the photo; red where covering it lowers this class's "
                   "probability most. No gradient, only the answer — compare it with Grad-CAM.")

    # 4. Inside the backbone ------------------------------------------------------------------------
    st.header("4. Inside the network")
    k_left, k_right = wrapping_row("photos_inside_row", ["flex: 2 1 16rem", "flex: 3 1 16rem"])
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


with see_tab:
    what_it_sees()
with train_tab:
    # Train your own ------------------------------------------------------------------------------
    st.header("Teach the network classes of your own")
    st.markdown("Like Teachable Machine: name a few classes, give each some examples with the camera or by upload, "
                "and train. The network stays frozen; each picture is run through it once, and only a **new last "
                "layer** (the *head*) learns from its 1,280 features to your classes — seconds on a CPU.")
    training = teach.labelled_set(teach.collect())  # the collected classes, or a zip of labelled photos
    if training is None:
        st.stop()
    if training.error:
        st.error(training.error, icon=":material/folder_off:")
        st.stop()
    st.write(training.photos.summary())
    if training.features is None:
        if st.button("Run the photos through the network", icon=":material/memory:", key="photos_extract", type="primary"):
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
    ui.live_head_curves(training, running)
    if not ui.show_head_results(training):
        st.stop()
    teach.try_it(training)
    ui.save_head_form(training)

    # Submission ---------------------------------------------------------------------------------
    st.subheader("A competition submission")
    st.markdown("Give a zip of **unlabelled** photos with the competition's `test_features.csv` (`id`, `filepath`). "
                "You get a CSV with `id` and one probability column per class, in your training labels' order.")
    test_upload = st.file_uploader("Test photos (zip)", type=["zip"], key="photos_test_zip")
    if test_upload is not None:
        ui.show_submission(ui.submission_upload(test_upload, training))
