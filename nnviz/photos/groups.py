"""Animal groups: ImageNet's 1000 classes folded into the groups a camera-trap project asks for.

Each ImageNet-1k class is a WordNet 3.0 noun synset. A group is a synset higher up the
hierarchy, and a photo's probability of a group is the sum of the probabilities of the ImageNet
classes under it: P(dog) = P(Chihuahua) + P(Japanese spaniel) + … (118 breeds). The groups are the
Conser-vision camera-trap classes (DrivenData's competition: antelope_duiker, bird, civet_genet,
hog, leopard, monkey_prosimian, rodent, blank) plus dog and cat for pet photos; every other
animal class (under ``animal.n.01``) is "other_animal", and all remaining classes (objects,
food, scenes) are "blank" (no animal). The groups therefore partition the 1000 classes, and the
group probabilities sum to 1.

The class → group table ``groups.json`` is generated once from WordNet by
``scripts/make_animal_groups.py`` and committed, so WordNet is not needed at run time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

# Group → WordNet 3.0 sense that roots it. Notes from WordNet itself: leopard.n.01 is the pelt,
# leopard.n.02 the cat; primate.n.01 is an archbishop, primate.n.02 the mammal; "duiker" is not
# in WordNet 3.0 and ImageNet has no civet or genet class, so those groups take their nearest
# ancestors (antelopes; viverrines = mongoose and meerkat).
GROUP_SYNSETS: dict[str, str] = {
    "dog": "dog.n.01",
    "cat": "domestic_cat.n.01",
    "antelope_duiker": "antelope.n.01",
    "bird": "bird.n.01",
    "civet_genet": "viverrine.n.01",
    "hog": "swine.n.01",
    "leopard": "leopard.n.02",
    "monkey_prosimian": "primate.n.02",
    "rodent": "rodent.n.01",
}

# All groups in display order; the last two are the catch-alls.
GROUPS: tuple[str, ...] = (*GROUP_SYNSETS, "other_animal", "blank")

GROUP_TITLES: dict[str, str] = {
    "dog": "dog", "cat": "cat", "antelope_duiker": "antelope / duiker", "bird": "bird",
    "civet_genet": "civet / genet (mongoose family)", "hog": "hog", "leopard": "leopard",
    "monkey_prosimian": "monkey / prosimian", "rodent": "rodent", "other_animal": "other animal",
    "blank": "no animal (blank)",
}

# The camera-trap competition's classes, in its submission-column order (alphabetical).
CONSERVISION_CLASSES: tuple[str, ...] = ("antelope_duiker", "bird", "blank", "civet_genet", "hog",
                                         "leopard", "monkey_prosimian", "rodent")

TABLE_PATH = Path(__file__).with_name("groups.json")


@lru_cache(maxsize=1)
def load_table() -> dict:
    """The committed table (see ``scripts/make_animal_groups.py``): ``classes`` is a list of 1000
    ``{"index", "wnid", "group"}`` in logit order.

    Raises:
        FileNotFoundError: the table is missing (regenerate it with the script).
    """
    return json.loads(TABLE_PATH.read_text())


@lru_cache(maxsize=1)
def class_groups() -> np.ndarray:
    """``(1000,)`` int64: for each ImageNet class index, the index of its group in ``GROUPS``."""
    lookup = {g: i for i, g in enumerate(GROUPS)}
    return np.array([lookup[c["group"]] for c in load_table()["classes"]], dtype=np.int64)


def group_members(group: str) -> np.ndarray:
    """Indices of the ImageNet classes in ``group``, ascending. Raises ValueError for an unknown group."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; choose one of {GROUPS}")
    return np.flatnonzero(class_groups() == GROUPS.index(group))


def group_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Sum class probabilities under each group.

    Args:
        probabilities: ``(1000,)`` or ``(N, 1000)`` float, softmax over the ImageNet classes.

    Returns:
        ``(len(GROUPS),)`` or ``(N, len(GROUPS))`` float64 in [0, 1], in ``GROUPS`` order; each row
        sums to the input row's sum (1 for a softmax), because the groups partition the classes.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    index = class_groups()
    if p.shape[-1] != len(index):
        raise ValueError(f"expected {len(index)} class probabilities, got shape {p.shape}")
    flat = p.reshape(-1, p.shape[-1])
    out = np.zeros((flat.shape[0], len(GROUPS)))
    for row, q in zip(out, flat):
        row[:] = np.bincount(index, weights=q, minlength=len(GROUPS))
    return out.reshape(*p.shape[:-1], len(GROUPS))
