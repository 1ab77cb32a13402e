"""The words of the field, one plain line each, and where in the app a student sees the thing.

``page`` is the app page's url path (``"draw"``, ``"inspect"``, ``"train"``, ``"under-the-hood"``);
the app turns it into a link. Kept in the library so a notebook or the docs can print it too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    word: str
    meaning: str
    page: str


GLOSSARY = (
    Term("neuron", "A unit that adds up its inputs, each times a weight, plus a bias, and passes the sum "
         "through an activation function.", "under-the-hood"),
    Term("weight", "A number on a connection: how strongly (and with which sign) one neuron's output pushes "
         "the next neuron's weighted sum.", "under-the-hood"),
    Term("bias", "A number added to a neuron's weighted sum: how easily the neuron switches on.", "under-the-hood"),
    Term("activation", "A neuron's output, σ(z), after its activation function (sigmoid, tanh or ReLU).", "inspect"),
    Term("layer", "A group of neurons that all read the same inputs; a network is layers in a row.", "inspect"),
    Term("logits", "The last layer's raw scores, one per class, before softmax.", "inspect"),
    Term("softmax", "Turns the logits into probabilities: e to each logit, divided by the sum, so they add up "
         "to 1.", "draw"),
    Term("loss", "One number saying how wrong the network is on an example; cross-entropy is −log of the "
         "probability it gave the right class.", "train"),
    Term("gradient", "For every weight, how much the loss changes when that weight grows a little; it points "
         "uphill, so learning steps the other way.", "under-the-hood"),
    Term("backpropagation", "The chain rule applied layer by layer from the output back to the input, which "
         "gives every weight's gradient in one backward pass.", "under-the-hood"),
    Term("learning rate", "How big a step gradient descent takes: w ← w − η·∂L/∂w, η being the learning "
         "rate.", "train"),
    Term("epoch", "One pass of training over every image of the training set.", "train"),
    Term("batch", "The handful of images whose average gradient makes one training step.", "train"),
    Term("overfitting", "Learning the training images by heart: training accuracy keeps rising while accuracy "
         "on unseen test images stalls or falls.", "train"),
    Term("convolution", "Sliding a small grid of weights over the image and taking a weighted sum at every "
         "position.", "inspect"),
    Term("kernel", "The small grid of weights (e.g. 5×5) a convolution slides over the image; it detects one "
         "pattern, such as an edge.", "inspect"),
    Term("feature map", "The image of one kernel's responses: bright where its pattern was found.", "inspect"),
    Term("pooling", "Shrinking a feature map by keeping the largest value of each 2×2 block, so small shifts "
         "matter less.", "inspect"),
)
