"""Transfer learning on real photos: features, the split by site, a head trained on CIFAR-10
animals, the Conser-vision layout, the submission CSV, and the train-head / submit commands."""

import csv
import io
import zipfile

import numpy as np
import pytest
import torch

from nnviz.checkpoints import load_checkpoint, save_checkpoint
from nnviz.data import CIFAR10_ANIMALS as CIFAR_ANIMALS
from nnviz.images import open_image
from nnviz.photos import backbone, labelled, submission, transfer
from nnviz.photos.features import FeatureCache, extract_features
from nnviz.jobs.metrics import FINISHED
from nnviz.jobs.worker import TrainingWorker

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return FeatureCache(tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="module")
def cifar(cache, cifar_images):
    """360 CIFAR-10 training images (60 per animal class) and 180 test images (30 per class),
    their features, and the labelled collections."""
    def load(split, per_class):
        images = cifar_images(split, per_class)
        photos = labelled.LabelledPhotos([p for c in CIFAR_ANIMALS for p in images[c]],
                                         np.repeat(np.arange(len(CIFAR_ANIMALS)), per_class), list(CIFAR_ANIMALS),
                                         [f"{split}/{c}/{p.name}" for c in CIFAR_ANIMALS for p in images[c]])
        feats = extract_features(photos.paths, cache=cache)
        assert feats.ok.all() and not feats.errors
        return photos, feats.values
    return load("train", 60), load("test", 30)


def test_features_are_pooled_activations_and_come_from_the_cache_the_second_time(cifar, cache):
    (photos, values), _ = cifar
    assert values.shape == (360, 1280) and values.dtype == np.float32
    assert values.min() >= 0 and values.max() <= 6  # ReLU6 activations averaged over 7 × 7
    # They are exactly the classifier's input in an ordinary forward pass of the real network.
    model = backbone.load_efficientnet_lite0()
    caught = []
    hook = model.classifier.register_forward_hook(lambda mod, inp, out: caught.append(inp[0].detach().clone()))
    try:
        with torch.no_grad():
            model(torch.stack([backbone.preprocess(open_image(p)) for p in photos.paths[:8]]))
    finally:
        hook.remove()
    np.testing.assert_allclose(values[:8], caught[0].numpy(), rtol=1e-5, atol=1e-6)
    again = extract_features(photos.paths[:10], cache=cache)
    assert again.from_cache == 10
    np.testing.assert_array_equal(again.values, values[:10])


def test_a_head_on_a_few_hundred_cifar_animals_beats_chance_by_far(cifar):
    (train, x_train), (test, x_test) = cifar
    photos = labelled.LabelledPhotos(train.paths + test.paths, np.r_[train.labels, test.labels], train.classes,
                                     train.ids + test.ids)
    split = labelled.Split(np.arange(360), np.arange(360, 540), "official CIFAR-10 train / test images")
    job = transfer.HeadJob(np.r_[x_train, x_test], photos, split)
    head, card = job.run()
    m = job.metrics
    # Six classes: chance is 1/6 = 16.7 %, and log loss ln 6 = 1.79 for a uniform guess. The
    # 32 × 32 images are upscaled 7× for the network, so this is far from ImageNet accuracy.
    assert m.n == 180 and m.accuracy > 0.55, m
    assert m.log_loss < 1.2
    assert m.confusion.sum() == 180 and np.trace(m.confusion) == round(m.accuracy * 180)
    assert card["task"] == "transfer-head" and card["classes"] == list(CIFAR_ANIMALS)
    assert card["metrics"]["test_accuracy"] == m.accuracy and len(card["history"]) == transfer.HEAD_CONFIG.epochs
    # log loss agrees with torch's cross-entropy on the same held-out features
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy(head(torch.as_tensor(x_test)), torch.as_tensor(test.labels))
    assert m.log_loss == pytest.approx(float(ce), rel=1e-5)


def test_head_trains_live_in_the_training_worker_and_round_trips_as_a_checkpoint(cifar, tmp_path):
    (train, x_train), _ = cifar
    split = labelled.split_photos(train.labels, None, 0.25)
    job = transfer.HeadJob(x_train, train, split, transfer.HEAD_CONFIG)
    worker = TrainingWorker(job).start()
    assert worker.join(60)
    snap = worker.snapshot()
    assert snap.status == FINISHED and len(snap.epochs) == transfer.HEAD_CONFIG.epochs
    assert snap.smoothed[-1] < snap.smoothed[0]
    model, card = worker.result
    path = save_checkpoint(model, card, tmp_path / "cifar-head")
    loaded, loaded_card = transfer.load_head(path)
    np.testing.assert_allclose(transfer.head_probabilities(loaded, x_train[:5]),
                               transfer.head_probabilities(model, x_train[:5]), atol=1e-12)
    assert loaded_card["split"]["n_test"] == len(split.test) > 0


def test_split_by_site_keeps_every_site_on_one_side():
    rng = np.random.default_rng(1)
    sites = [f"S{rng.integers(0, 12):04d}" for _ in range(300)]
    labels = rng.integers(0, 3, 300)
    split = labelled.split_photos(labels, sites, 0.25, seed=3)
    train_sites = {sites[i] for i in split.train}
    test_sites = {sites[i] for i in split.test}
    assert not train_sites & test_sites and train_sites and test_sites
    assert len(split.train) + len(split.test) == 300 and len(split.test) >= 75
    assert "site" in split.description
    plain = labelled.split_photos(labels, None, 0.25)
    for c in range(3):  # stratified: every class on both sides
        assert (labels[plain.test] == c).any() and (labels[plain.train] == c).any()


def conservision_folder(root, rows, animals):
    """Write the Conser-vision layout for real camera-trap photos: (id, animals path, site, class)."""
    classes = ["antelope_duiker", "bird", "blank", "civet_genet", "hog", "leopard", "monkey_prosimian", "rodent"]
    (root / "train_features").mkdir()
    with open(root / "train_features.csv", "w", newline="") as f, open(root / "train_labels.csv", "w", newline="") as g:
        fw, gw = csv.writer(f), csv.writer(g)
        fw.writerow(["id", "filepath", "site"])
        gw.writerow(["id", *classes])
        for id_, src, site, cls in rows:
            (root / "train_features" / f"{id_}.jpg").write_bytes((animals / src).read_bytes())
            fw.writerow([id_, f"train_features/{id_}.jpg", site])
            gw.writerow([id_, *(int(c == cls) for c in classes)])
    return classes


def test_conservision_layout_is_read_in_label_column_order_with_sites(tmp_path, animals, animal_labels):
    chosen = [r for r in animal_labels if r["conservision_class"]][:12]
    rows = [(f"ZJ{i:04d}", r["filename"], f"S{i % 3:04d}", r["conservision_class"]) for i, r in enumerate(chosen)]
    classes = conservision_folder(tmp_path, rows, animals)
    photos = labelled.find_labelled_photos(tmp_path)
    assert photos.classes == classes and photos.ids == [r[0] for r in rows]
    assert [photos.classes[i] for i in photos.labels] == [r[3] for r in rows]
    assert photos.sites == [r[2] for r in rows]
    (tmp_path / "train_labels.csv").write_text("id,a,b\nZJ0000,1,1\n")
    with pytest.raises(labelled.DatasetError, match="exactly one class"):
        labelled.find_labelled_photos(tmp_path)


def test_submission_has_the_exact_columns_rows_and_row_sums(cifar, cache, cifar_images):
    (train, x_train), _ = cifar
    job = transfer.HeadJob(x_train, train, labelled.split_photos(train.labels, None, 0.2))
    head, card = job.run()
    test_paths = [p for ps in cifar_images("test", 3).values() for p in ps]
    ids = [f"ZJ{i:06d}" for i in range(len(test_paths))]
    sub = submission.predict_submission(head, card, ids, test_paths, cache=cache)
    rows = list(csv.reader(io.StringIO(sub.to_csv())))
    assert rows[0] == ["id", *CIFAR_ANIMALS]
    assert [r[0] for r in rows[1:]] == ids
    sums = np.array([[float(v) for v in r[1:]] for r in rows[1:]]).sum(1)
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    # Each row is the head's softmax for that photo's backbone features, in the given order.
    want = transfer.head_probabilities(head, extract_features(test_paths, cache=cache).values)
    np.testing.assert_allclose(sub.probabilities, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array([[float(v) for v in r[1:]] for r in rows[1:]]), want, rtol=0, atol=1e-15)
    assert not sub.errors


def test_train_head_and_submit_commands_end_to_end(tmp_path, cache, cifar_images, class_folder_zip, submission_zip,
                                                   run_nnviz):
    images = cifar_images("train", 25, classes=("cat", "dog", "frog"))
    (tmp_path / "train.zip").write_bytes(class_folder_zip(images))
    out = run_nnviz("train-head", "--zip", str(tmp_path / "train.zip"), "--cache", str(cache.folder), "--epochs", "15",
                    "--quiet", env={"NNVIZ_USER_MODELS": str(tmp_path / "models")})
    assert out.returncode == 0, out.stderr
    assert "held-out photos: 18" in out.stdout and (tmp_path / "models" / "photos-head.json").is_file()
    _, card = load_checkpoint(tmp_path / "models" / "photos-head.json")
    assert card["classes"] == ["cat", "dog", "frog"]

    test_paths = [p for ps in cifar_images("test", 4, classes=("cat", "dog", "frog")).values() for p in ps]
    data, ids = submission_zip(test_paths, extra={"broken.jpg": b"\xff\xd8\xff\xe0 truncated"})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(tmp_path / "test")
    out = run_nnviz("submit", "--model", "photos-head", "--features", str(tmp_path / "test" / "test_features.csv"),
                    "--out", str(tmp_path / "submission.csv"), "--cache", str(cache.folder), "--quiet",
                    env={"NNVIZ_USER_MODELS": str(tmp_path / "models")})
    assert out.returncode == 0, out.stderr
    assert "broken.jpg" in out.stderr or ids[-1] in out.stderr
    rows = list(csv.reader(open(tmp_path / "submission.csv")))
    assert rows[0] == ["id", "cat", "dog", "frog"] and [r[0] for r in rows[1:]] == ids
    probs = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(probs[-1], 1 / 3)  # the unreadable photo: uniform
    truth = np.repeat([0, 1, 2], 4)
    assert (probs[:-1].argmax(1) == truth).mean() > 0.5
