"""The animal groups: the committed WordNet table, group probabilities, and the network's answers
on real pet and camera-trap photos (``shared/data/animals``), through the library and the CLI."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnviz.photos import groups as ag
from nnviz.photos.backbone import class_names
from nnviz.photos.classify import grad_cam

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_table_partitions_the_1000_classes_as_wordnet_says():
    table = ag.load_table()
    assert [c["index"] for c in table["classes"]] == list(range(1000))
    counts = {g: len(ag.group_members(g)) for g in ag.GROUPS}
    # The counts under each group's synset, as read from WordNet 3.0 (see the issue and the script).
    assert counts == {"dog": 118, "cat": 5, "antelope_duiker": 3, "bird": 59, "civet_genet": 2, "hog": 3,
                      "leopard": 1, "monkey_prosimian": 20, "rodent": 6, "other_animal": 181, "blank": 602}
    assert list(ag.group_members("dog")) == list(range(151, 269))
    names = class_names()
    assert [names[i] for i in ag.group_members("antelope_duiker")] == ["hartebeest", "impala", "gazelle"]
    assert [names[i] for i in ag.group_members("civet_genet")] == ["mongoose", "meerkat"]
    assert table["classes"][151]["wnid"] == "n02085620"  # Chihuahua, timm's synset id


def test_group_probabilities_sum_class_probabilities_and_to_one():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(1000), size=4)
    g = ag.group_probabilities(p)
    assert g.shape == (4, len(ag.GROUPS))
    np.testing.assert_allclose(g.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(g[:, ag.GROUPS.index("dog")], p[:, 151:269].sum(1), atol=1e-12)
    with pytest.raises(ValueError, match="1000 class probabilities"):
        ag.group_probabilities(np.ones(10))


# labels.csv's breeds (``dog:<breed>``) whose ImageNet class is spelled differently; the others are
# the ImageNet name in lower case with "_" for " ". labels.csv does not say which size of poodle.
IMAGENET_BREEDS = {"basset_hound": ("basset",), "boston_terrier": ("Boston bull",),
                   "german_shepherd_dog": ("German shepherd",),
                   "german_shorthaired_pointer": ("German short-haired pointer",),
                   "poodle": ("toy poodle", "miniature poodle", "standard poodle")}


def true_breeds(label: str, dog_classes: set[str]) -> set[str]:
    """The ImageNet dog classes that ``labels.csv``'s ``dog:<breed>`` names (one, or the poodles)."""
    breed = label.removeprefix("dog:")
    by_lower = {c.lower().replace(" ", "_"): c for c in dog_classes}
    names = set(IMAGENET_BREEDS.get(breed, ())) or {by_lower[breed]}
    assert names <= dog_classes, names
    return names


def test_dog_photos_are_dogs_of_their_true_breed_and_the_cats_are_cats(animal_classifier, animals, animal_labels):
    rows = [r for r in animal_labels if r["filename"].startswith("pets/")]
    dogs = [r for r in rows if r["label"].startswith("dog:")]
    cats = [r for r in rows if r["label"] == "cat"]
    assert len(dogs) == 30 and len(cats) == 3
    names = class_names()
    dog_classes = {names[i] for i in ag.group_members("dog")}
    misses = {}
    for r in dogs:
        pred = animal_classifier.predict_file(animals / r["filename"])
        assert pred.group == "dog", (r["filename"], pred.top5)
        assert abs(sum(pred.group_probabilities.values()) - 1) < 1e-6
        true = true_breeds(r["label"], dog_classes)
        if pred.breed not in true:
            misses[r["filename"]] = (pred.breed, true)
    # The true breed from labels.csv (Oxford-IIIT Pets) against the most probable of the 118 dog
    # classes (chance: under 1 %). Measured 29 of 30: one Great Pyrenees is called a kuvasz.
    assert len(misses) <= 2, misses
    cat_answers = {r["filename"]: animal_classifier.predict_file(animals / r["filename"]) for r in cats}
    right = [f for f, p in cat_answers.items() if p.group == "cat"]
    # Known miss: pets/cat_01.jpg, a tortoiseshell cat in long grass, which the network calls a
    # Norwegian elkhound (15 %) before tabby and tiger cat: even there the cat classes are in its top 5.
    assert len(right) >= 2, {f: p.top5 for f, p in cat_answers.items()}
    for f, p in cat_answers.items():
        assert {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"} & {t.name for t in p.top5}, f
        assert p.breed is None or p.group == "cat"


def test_camera_trap_frames_land_in_their_competition_group_far_above_chance(animal_classifier, animals, animal_labels):
    rows = [r for r in animal_labels if r["filename"].startswith("camera_trap/") and r["conservision_class"]]
    hits = {}
    for r in rows:
        pred = animal_classifier.predict_file(animals / r["filename"])
        hits[r["filename"]] = pred.group == r["conservision_class"]
    # 11 groups (chance ~9 %); measured 24 of 48. Night IR frames of small animals are the misses.
    assert sum(hits.values()) >= 0.4 * len(rows), hits
    assert hits["camera_trap/leopard-1.jpg"]


def test_grad_cam_is_a_normalised_map_that_depends_on_the_class(animal_classifier, beagle):
    pred = animal_classifier.predict_file(beagle)
    cam = grad_cam(animal_classifier, pred.input, pred.top5[0].index)
    assert cam.shape == (224, 224) and cam.dtype == np.float32
    assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    other = grad_cam(animal_classifier, pred.input, 0)  # "tench": not in the photo
    assert not np.allclose(cam, other)
    # The same as captum's LayerGradCam on the real model (not the Sequential view the app uses),
    # on the last convolution's activated maps, bilinearly upsampled and divided by the maximum.
    from captum.attr import LayerGradCam

    model = animal_classifier.model
    with torch.enable_grad():
        ref = LayerGradCam(model, model.bn2).attribute(pred.input[None], target=pred.top5[0].index,
                                                        relu_attributions=True)
    ref = F.interpolate(ref.detach(), size=(224, 224), mode="bilinear", align_corners=False)[0, 0].clamp(min=0)
    np.testing.assert_allclose(cam, (ref / ref.max()).numpy(), atol=1e-5)


def test_cli_predict_animals_json_answers_each_file_and_reports_bad_ones(tmp_path, animals, run_nnviz):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    files = [animals / "pets" / "Beagle_01125.jpg", bad, animals / "pets" / "cat_02.jpg"]
    out = run_nnviz("predict", "--model", "animals", "--format", "json", *map(str, files))
    assert out.returncode == 1, out.stderr  # one file failed; the others were still answered
    answers = json.loads(out.stdout)
    assert [a.get("label") for a in answers] == ["dog", None, "cat"]
    assert answers[1]["error"] == f"{bad}: this file is not a picture: use a JPEG or PNG photo"
    for a in (answers[0], answers[2]):
        assert set(a["probabilities"]) == set(ag.GROUPS)
        assert abs(sum(a["probabilities"].values()) - 1) < 1e-6
        assert len(a["imagenet_top5"]) == 5 and {"index", "name", "probability"} <= set(a["imagenet_top5"][0])
    assert answers[0]["breed"] == "beagle" and answers[0]["imagenet_top5"][0]["name"] == "beagle"
