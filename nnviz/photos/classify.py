"""What a real ImageNet network makes of a photo: top-5 classes and an animal group.

:class:`AnimalClassifier` runs EfficientNet-Lite0 (:mod:`nnviz.photos.backbone`) on a photo and folds
its 1000 class probabilities into the groups of :mod:`nnviz.photos.groups` (dog, cat, the
camera-trap classes, other animal, blank). The command line's ``predict --model animals`` and the
Photos page both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nnviz.images import open_image
from nnviz.photos import backbone
from nnviz.photos.groups import GROUP_TITLES, GROUPS, group_members, group_probabilities


# Below one half, the network itself gives the other answers together more probability than this
# one: by its own account the answer is more likely wrong than right, so it is said as a guess.
# A property of probabilities, not tuned on any photos; the same for every classifier here.
UNSURE_BELOW = 0.5


def in_words(label: str, probability: float) -> str:
    """``label`` when ``probability`` ≥ :data:`UNSURE_BELOW`, else ``"not sure: maybe <label>"``."""
    return label if probability >= UNSURE_BELOW else f"not sure: maybe {label}"


@dataclass
class AnimalPrediction:
    """The answer for one photo.

    Attributes:
        group: the most probable group (a key of ``GROUPS``, e.g. ``"dog"``, ``"blank"``).
        group_probabilities: ``{group: probability}`` over all ``GROUPS``, summing to 1.
        top5: the five most probable ImageNet classes.
        breed: for the dog and cat groups, the most probable ImageNet class inside the group
            (e.g. "beagle"); None otherwise.
        probabilities: ``(1000,)`` float32 softmax over ImageNet classes.
        input: ``(3, 224, 224)`` float32 in [-1, 1], what the network saw.
    """

    group: str
    group_probabilities: dict[str, float]
    top5: list[backbone.TopClass]
    breed: str | None
    probabilities: np.ndarray
    input: torch.Tensor

    @property
    def title(self) -> str:
        """The group in words, with the breed for a dog or cat: "dog (beagle)"."""
        words = GROUP_TITLES[self.group]
        return f"{words} ({self.breed})" if self.breed else words

    @property
    def sure(self) -> bool:
        """Whether the group's probability reaches :data:`UNSURE_BELOW`."""
        return self.group_probabilities[self.group] >= UNSURE_BELOW

    @property
    def answer(self) -> str:
        """The answer as said to a student: :attr:`title`, or "not sure: maybe …" when unsure."""
        return in_words(self.title, self.group_probabilities[self.group])

    def to_answer(self) -> dict:
        """The command line's JSON answer: ``label``, ``probabilities`` over groups, ``breed``,
        ``imagenet_top5`` (``[{"index", "name", "probability"}]``)."""
        return {"label": self.group, "breed": self.breed,
                "probabilities": dict(self.group_probabilities),
                "imagenet_top5": [vars(t) for t in self.top5]}


class AnimalClassifier:
    """EfficientNet-Lite0 with the animal grouping; stateless after construction, so one instance
    can serve many threads (the Streamlit server shares it between sessions).

    Raises:
        nnviz.photos.backbone.BackboneUnavailable: the pretrained weights are not installed.
    """

    def __init__(self, device: str = "cpu"):
        self.device = torch.device(device)
        self.model = backbone.load_efficientnet_lite0(str(self.device))
        self.sequential = backbone.as_sequential(self.model)

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> np.ndarray:
        """Softmax over the 1000 classes: ``(N, 3, 224, 224)`` → ``(N, 1000)`` float32."""
        return torch.softmax(self.model(x.to(self.device)), dim=1).cpu().numpy()

    def predict_tensor(self, x: torch.Tensor) -> AnimalPrediction:
        """Classify one preprocessed photo ``(3, 224, 224)`` float32 in [-1, 1]."""
        probs = self.probabilities(x[None])[0]
        groups = group_probabilities(probs)
        group = GROUPS[int(np.argmax(groups))]
        breed = None
        if group in ("dog", "cat"):
            members = group_members(group)
            breed = backbone.class_names()[members[np.argmax(probs[members])]]
        return AnimalPrediction(group, {g: float(p) for g, p in zip(GROUPS, groups)},
                                backbone.top_k(probs, 5), breed, probs, x)

    def predict_image(self, img, name: str = "image") -> AnimalPrediction:
        """Preprocess (:func:`nnviz.photos.backbone.preprocess`) and classify a decoded image.

        Raises:
            nnviz.images.ImageReadError: the image is too small.
        """
        return self.predict_tensor(backbone.preprocess(img, name))

    def predict_file(self, source: str | Path | bytes, name: str | None = None) -> AnimalPrediction:
        """Read (:func:`nnviz.images.open_image`) and classify an image file or upload's bytes.

        Raises:
            nnviz.images.ImageReadError: not a readable image, a decompression bomb, too small.
        """
        label = name or (str(source) if not isinstance(source, bytes) else "upload")
        return self.predict_image(open_image(source, label), label)

    def answer_file(self, path: str) -> dict:
        """The command line's answer for one file (see :meth:`AnimalPrediction.to_answer`)."""
        return self.predict_file(path).to_answer()


# Grad-CAM's layer: the last convolution's activated feature maps (1280 × 7 × 7), the final
# spatial layer before global pooling, as in Selvaraju et al. 2017 ("the last convolutional layer").
GRAD_CAM_LAYER = "bn2"


def grad_cam(classifier: AnimalClassifier, x: torch.Tensor, target: int) -> np.ndarray:
    """Where the network looks for ImageNet class ``target`` in one photo (captum's LayerGradCam
    via :func:`nnviz.attribution.grad_cam`, on ``GRAD_CAM_LAYER``, bilinearly upsampled).

    Args:
        x: ``(3, 224, 224)`` float32 in [-1, 1] (:func:`nnviz.photos.backbone.preprocess`).
        target: ImageNet class index 0–999.

    Returns:
        ``(224, 224)`` float32 in [0, 1], divided by its maximum (all zeros when no region
        raises the class's logit).
    """
    return normalised_grad_cam(classifier.sequential, x.to(classifier.device), target)


def normalised_grad_cam(network: nn.Sequential, x: torch.Tensor, target: int) -> np.ndarray:
    """Grad-CAM of ``network`` (the backbone's layers, then a classifier) on ``GRAD_CAM_LAYER`` for
    class ``target`` of one photo ``(3, 224, 224)``, divided by its maximum: ``(224, 224)`` float32
    in [0, 1] (all zeros when no region raises the class's logit)."""
    from nnviz.attribution import grad_cam as layer_grad_cam

    cam = layer_grad_cam(network, GRAD_CAM_LAYER, x[None], int(target))[0]
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).cpu().numpy().astype(np.float32)
