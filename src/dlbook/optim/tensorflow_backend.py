"""The optimizers of :mod:`dlbook.optim.numpy_backend`, built from ``keras.optimizers``.

:func:`make` takes torch's names and defaults and translates them; where Keras
means something else by the same word, it emulates torch when it can and says so
when it cannot. ``tests/optim/test_parity_keras.py`` pins every row below.

==================  ==================================  ==========================================
dlbook (torch)      Keras                               what make() does
==================  ==================================  ==========================================
``lr``              ``learning_rate``, a float32        a float64 variable behind a callable;
                    variable (0.01 becomes              ``optimizer.learning_rate = x`` still
                    0.009999999776)                     works
other floats        cast through float32 by             passes ``np.float64`` scalars, which stay
                    ``ops.cast`` (0.9 becomes           exact
                    0.89999998)
``weight_decay``    decoupled in *every* optimizer:     adamw: Keras's own (torch's AdamW).
                    ``w <- w - lr wd w``                Others: ``coupled_weight_decay``, and
                                                        :func:`apply` adds ``wd w`` to g (L2)
SGD momentum        ``v <- mu v - lr g;  w <- w + v``   same path at constant lr; after an lr
                                                        change Keras's v still carries the old lr
SGD nesterov        ``w <- w + mu v - lr g``            same path at constant lr
SGD dampening       none                                refused unless 0
Adagrad eps         ``w <- w - lr g / sqrt(s + eps)``   cannot be emulated: eps stays inside the
                                                        square root
Adagrad defaults    ``s0 = 0.1``, ``eps = 1e-7``        passes torch's ``s0 = 0``, ``eps = 1e-10``
Adagrad lr_decay    none                                the lr callable divides lr by ``1 +
                                                        iterations lr_decay``
RMSprop alpha       ``rho`` (default 0.9, torch 0.99)   passes alpha as rho
RMSprop eps         ``sqrt(v + eps)``, centered         cannot be emulated: eps stays inside the
                    ``sqrt(v - a^2 + eps)``             square root
RMSprop momentum    buffer holds ``lr b``               same path at constant lr
Adam(W) eps         ``lr_t m / (sqrt(v) + eps)``,       cannot be emulated: eps stays on the
                    ``lr_t = lr sqrt(c2) / c1``         uncorrected sqrt(v), the paper's "epsilon
                                                        hat"
defaults            lr 1e-3 (SGD 1e-2), eps 1e-7,       torch's defaults, always passed
                    AdamW weight_decay 0.004
==================  ==================================  ==========================================

The eps rows cannot be emulated: :mod:`dlbook.optim.numpy_backend` offers
``eps_placement="keras"`` for Adagrad, RMSprop, Adam and AdamW, which follows
Keras step for step. Keras optimizers create their slot variables in ``build``;
:func:`make` builds them for ``params`` so that a ``tf.function`` step can run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook.optim import check_grads, resolve

tf = import_tensorflow()
f64 = np.float64  # Keras keeps NumPy float64 scalars exact, and rounds Python floats to float32


class Float64LearningRate:
    """Keras's ``learning_rate`` as a float64 ``tf.Variable``, with torch Adagrad's ``lr_decay``.

    Keras calls it for the lr of each step; being a variable, a new value set
    with ``optimizer.learning_rate = x`` reaches an already compiled ``tf.function``.
    """

    def __init__(self, lr: float, lr_decay: float = 0.0) -> None:
        self.variable = tf.Variable(f64(lr), trainable=False, name="learning_rate")
        self.lr_decay = f64(lr_decay)
        self.optimizer: Any = None  # set by make(); lr_decay needs its step counter

    def __call__(self) -> Any:
        if not self.lr_decay:
            return self.variable
        t = tf.cast(self.optimizer.iterations, tf.float64)  # steps already taken: t - 1
        return self.variable / (1 + t * self.lr_decay)  # torch: lr / (1 + (t - 1) lr_decay)

    def assign(self, value: float) -> None:
        """What ``optimizer.learning_rate = value`` calls."""
        self.variable.assign(f64(value))


def _sgd(keras: Any, lr: Float64LearningRate, h: dict[str, Any]) -> Any:
    if h["dampening"]:
        raise ValueError(
            f"Keras's SGD has no dampening (got dampening={h['dampening']!r}); use the numpy "
            "or torch backend for dampened momentum."
        )
    return keras.optimizers.SGD(lr, momentum=f64(h["momentum"]), nesterov=bool(h["nesterov"]))


def _adagrad(keras: Any, lr: Float64LearningRate, h: dict[str, Any]) -> Any:
    s0 = f64(h["initial_accumulator_value"])  # torch's default 0, not Keras's 0.1
    return keras.optimizers.Adagrad(lr, initial_accumulator_value=s0, epsilon=f64(h["eps"]))


def _rmsprop(keras: Any, lr: Float64LearningRate, h: dict[str, Any]) -> Any:
    return keras.optimizers.RMSprop(
        lr,
        rho=f64(h["alpha"]),
        momentum=f64(h["momentum"]),
        epsilon=f64(h["eps"]),
        centered=bool(h["centered"]),
    )


def _adam(keras: Any, lr: Float64LearningRate, h: dict[str, Any]) -> Any:
    beta_1, beta_2 = (f64(b) for b in h["betas"])
    kwargs = dict(beta_1=beta_1, beta_2=beta_2, epsilon=f64(h["eps"]), amsgrad=h["amsgrad"])
    if h["decoupled"]:
        return keras.optimizers.AdamW(lr, weight_decay=f64(h["weight_decay"]), **kwargs)
    return keras.optimizers.Adam(lr, **kwargs)


_BUILDERS = {"SGD": _sgd, "Adagrad": _adagrad, "RMSprop": _rmsprop, "Adam": _adam, "AdamW": _adam}


def make(name: str, params: Sequence[Any], **hparams: Any) -> Any:
    """The Keras optimizer for dlbook name ``name``, built for ``params`` (``tf.Variable``).

    Takes torch's names and defaults (``lr``, ``betas``, ``eps``, ``alpha``, ...)
    and translates them as the module's table says. Coupled (L2) weight decay is
    stored as ``optimizer.coupled_weight_decay``; step with :func:`apply` so that
    it is added to the gradient. ``eps_placement`` may only be ``"keras"`` here.
    """
    import keras  # loads with TensorFlow; imported here to keep the module header light

    if hparams.get("eps_placement", "keras") != "keras":
        raise ValueError(
            "Keras adds eps where its own formulas put it (eps_placement='keras'); torch's "
            "placement exists in the numpy and torch backends only."
        )
    cls_name, h = resolve(name, hparams)
    lr = Float64LearningRate(h["lr"], h.get("lr_decay", 0.0))
    optimizer = _BUILDERS[cls_name](keras, lr, {**h, "decoupled": cls_name == "AdamW"})
    lr.optimizer = optimizer
    optimizer.build(list(params))  # slot variables now, outside any tf.function
    optimizer.coupled_weight_decay = 0.0 if cls_name == "AdamW" else float(h["weight_decay"])
    return optimizer


def apply(optimizer: Any, params: Sequence[Any], grads: Sequence[Any]) -> None:
    """One step: ``g <- g + wd w`` for coupled weight decay, then Keras's ``apply_gradients``.

    Works eagerly and inside ``tf.function``; ``grads`` may be arrays or tensors.
    """
    params = list(params)
    check_grads([tuple(p.shape) for p in params], grads)
    grads = [tf.cast(g, p.dtype) for g, p in zip(grads, params, strict=True)]
    wd = getattr(optimizer, "coupled_weight_decay", 0.0)
    if wd:  # coupled L2, as torch: g <- g + wd w
        grads = [g + wd * w for g, w in zip(grads, params, strict=True)]
    optimizer.apply_gradients(zip(grads, params, strict=True))
