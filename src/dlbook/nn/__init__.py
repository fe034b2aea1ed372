"""Building blocks of neural networks, in three backends with one API (chapter 1).

Pick a backend module; all three export the same names::

    from dlbook.nn import numpy_backend as nn_np        # from scratch, explicit backward
    from dlbook.nn import torch_backend as nn_torch     # torch.nn.Module
    from dlbook.nn import tensorflow_backend as nn_tf   # tf.Module
    nn = dlbook.nn.backend("torch")                     # the same, by name

Shared API (``T`` is the backend's array type: ndarray, torch.Tensor or tf.Tensor):

==========================================  ==================================================
``sigmoid, tanh, relu, gelu(x)``            elementwise activations; ``gelu`` is the exact
                                            erf form ``x * Phi(x)``
``softmax(x, axis=-1)``                     numerically stable softmax
``log_softmax(x, axis=-1)``                 numerically stable log-softmax
``mse_loss(pred, target)``                  mean of squared errors over all elements
``cross_entropy(logits, labels)``           mean over the batch of ``-log softmax(logits)[y]``
``linear(x, W, b)``                         ``x @ W + b`` with ``W`` of shape (D_in, D_out)
``Linear(d_in, d_out, *, seed, dtype)``     a layer holding ``W`` and ``b``
``MLP(sizes, activation, *, seed, dtype)``  Linear -> activation -> ... -> Linear (logits)
``loss_and_grads(model, x, y)``             cross-entropy loss (float) and gradients as a
                                            dict of NumPy arrays in the canonical layout
``predict(model, x)``                       class indices, as a NumPy array
``evaluate_loss(model, x, y)``              cross-entropy as a float, no gradients
``make_optimizer(model, config)``           ``config.optimizer`` (SGD with momentum by
                                            default), the backend's own
``train_step(model, opt, x, y)``            one SGD step on a batch; returns the loss
==========================================  ==================================================

The NumPy backend adds ``<name>_backward`` next to each forward function, and
``forward``/``backward`` methods on its layers.

**Canonical weight layout.** ``model.get_weights()`` returns, and
``model.set_weights(w)`` takes, a dict ``{"W0": (D0, D1), "b0": (D1,), "W1": ...}``
of NumPy arrays, with ``W`` stored as (in, out) so that a layer is ``x @ W + b``.
PyTorch's ``nn.Linear`` stores the transpose, (out, in); the torch backend
transposes when it copies. Copying weights across backends is therefore::

    m_torch.set_weights(m_numpy.get_weights())

**Initialisation** is shared too: every backend draws its initial weights from
:func:`dlbook.nn.init.init_mlp_weights` with the same seed, so ``MLP(sizes, seed=0)``
starts from identical weights in all three.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dlbook.nn.init import init_mlp_weights
from dlbook.nn.training import History, TrainConfig, accuracy, fit


def copy_weights(src: Any, dst: Any) -> Any:
    """Copy the weights of one MLP into another, across backends: ``dst`` gets ``src``'s.

    Works between any two of the NumPy, PyTorch and TensorFlow models, since all
    speak the canonical layout; shapes are checked. Returns ``dst``.
    """
    dst.set_weights(src.get_weights())
    return dst


def backend(name: str) -> ModuleType:
    """Return the ``dlbook.nn`` module for ``"numpy"``, ``"torch"`` or ``"tensorflow"``."""
    from dlbook.backends import load_backend

    return load_backend("nn", name)


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "sigmoid",
    "tanh",
    "relu",
    "gelu",
    "softmax",
    "log_softmax",
    "mse_loss",
    "cross_entropy",
    "linear",
    "Linear",
    "MLP",
    "loss_and_grads",
    "predict",
    "evaluate_loss",
    "make_optimizer",
    "train_step",
)

__all__ = [
    "SHARED_API",
    "History",
    "TrainConfig",
    "accuracy",
    "backend",
    "copy_weights",
    "fit",
    "init_mlp_weights",
]
