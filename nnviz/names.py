"""The names a run is described by, each listed once: model kinds, activations, optimizers and
learning-rate schedules (the way timm keeps its model names in one registry).

The command line's choices, the Train page's buttons, the class board's checks, the networks
(:mod:`nnviz.models`, :mod:`nnviz.numpy_mlp`), the training loop (:mod:`nnviz.training`) and the
generated script (:mod:`nnviz.codegen`) all ask this module, so a name added here is offered
everywhere, and a table keyed by these names that misses one fails its test
(``tests/test_names.py``). It imports neither torch nor NumPy: the from-scratch network uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass

# The kinds of network a student trains, with the word the pages use. "numpy-mlp" is the MLP written
# from scratch in NumPy (nnviz.numpy_mlp); its checkpoints store the architecture of an "mlp".
MODEL_KINDS = {"cnn": "CNN", "mlp": "MLP", "numpy-mlp": "MLP from scratch (NumPy)"}
TORCH_KINDS = ("cnn", "mlp")  # the kinds nnviz.models builds (and the generated script writes)

# Hidden-layer activations, with the torch.nn module that computes each.
ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}


@dataclass(frozen=True)
class Optimizer:
    """An optimizer a run can use.

    Attributes:
        label: the word the pages show ("SGD + momentum").
        torch_class: the ``torch.optim`` class that implements it.
        options: its keyword arguments besides the learning rate and weight decay, in the order the
            generated script writes them.
        cycles_momentum: whether the one-cycle schedule also cycles its momentum (Smith & Topin
            2017); plain SGD has none to cycle.
    """

    label: str
    torch_class: str
    options: tuple[tuple[str, object], ...] = ()
    cycles_momentum: bool = True


OPTIMIZERS = {
    "sgd": Optimizer("SGD", "SGD", cycles_momentum=False),
    "momentum": Optimizer("SGD + momentum", "SGD", (("momentum", 0.9), ("nesterov", True))),  # Nesterov, 0.9
    "adam": Optimizer("Adam", "AdamW"),  # weight decay decoupled (Loshchilov & Hutter 2019)
}

# Learning-rate schedules, with the words the pages use.
SCHEDULES = {"onecycle": "one-cycle", "constant": "constant rate"}
