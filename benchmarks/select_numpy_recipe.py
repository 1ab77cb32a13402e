"""How the digits-numpy recipe was chosen: validation accuracy of NumPy MLP recipes, never the test set.

Trains the from-scratch 784 → 16 → 16 → 10 NumPy MLP on the first 50,000 MNIST training images and
scores it on the last 10,000 after every epoch. Each argument is ``activation,lr,batch,epochs,decay``:

    .venv/bin/python benchmarks/select_numpy_recipe.py relu,0.05,32,40,0.9 sigmoid,1.0,32,40,0.93

Prints the last and best validation accuracy and every fifth epoch's; ~10–30 s per recipe on 2 cores.
"""

import sys
import time

import numpy as np

from nnviz.data import load_tensors
from nnviz.numpy_mlp import NumpyTrainConfig, fit, init_mlp
from nnviz.numpy_runs import as_arrays
from nnviz.events import EpochEnd

x, y = as_arrays(*load_tensors("mnist", train=True))
train, validation = (x[:50000], y[:50000]), (x[50000:], y[50000:])
for spec in sys.argv[1:]:
    activation, lr, batch, epochs, decay = spec.split(",")
    mlp = init_mlp((784, 16, 16, 10), activation, seed=0, dtype=np.float32)
    config = NumpyTrainConfig(epochs=int(epochs), batch_size=int(batch), learning_rate=float(lr),
                              learning_rate_decay=float(decay))
    start, accuracies = time.time(), []
    for event in fit(mlp, config, train, validation):
        if isinstance(event, EpochEnd):
            accuracies.append(round(event.test_accuracy, 4))
    print(f"{spec}: validation {accuracies[-1]:.4f}, best {max(accuracies):.4f} at epoch "
          f"{int(np.argmax(accuracies)) + 1}, {time.time() - start:.0f} s; every 5th: {accuracies[::5]}", flush=True)
