"""The Keras idiom: ``Sequential``, a subclassed ``keras.Model``, ``compile``/``fit``, GradientTape.

Shape legend: B = batch size, N = examples, D = input features, K = classes.

Weights move between Keras and the book's models in the canonical layout
``{"W0": (D, H), "b0": (H,), ...}``: a ``Dense`` kernel is already (in, out),
so no transpose is needed (PyTorch's ``nn.Linear`` stores (out, in)).

**Three float32 roundings hide in a float64 Keras model**, and the parity test
of :mod:`dlbook.pipelines.numpy_backend` had to find them: ``fit`` casts float64
NumPy inputs to float32 (floatx) before the first layer casts them back; a loss
computes in floatx unless given ``dtype``; and Adam keeps its learning rate in
float32 and rounds beta to float32 in the bias corrections. The builders below
set the loss's dtype; the tests feed float32-representable inputs.

Every ``compile`` here passes ``jit_compile=False``: on a CPU the default
("auto") may compile the step with XLA, which costs seconds for a small model
and can reorder float sums; the results below do not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook.pipelines import KerasMLPConfig

tf = import_tensorflow()
keras = tf.keras


def _init(seed: int) -> Any:
    """Keras' default Glorot-uniform kernel initialiser, with its own seed (no global state)."""
    return keras.initializers.GlorotUniform(seed=seed)


def build_sequential_mlp(
    n_features: int, config: KerasMLPConfig | None = None, *, seed: int = 0
) -> Any:
    """The seed's model, compiled: Dense(64, relu), Dense(64, relu), Dense(K, softmax), Adam.

    ``optimizer="adam"`` is ``keras.optimizers.Adam()`` with its defaults
    (lr 1e-3, epsilon 1e-7); the config's values are passed explicitly so a
    float64 model gets a float64 optimizer state.
    """
    cfg = config or KerasMLPConfig()
    layers = [keras.Input(shape=(n_features,), dtype=cfg.dtype)]
    layers += [
        keras.layers.Dense(
            h, activation="relu", dtype=cfg.dtype, kernel_initializer=_init(seed + i)
        )
        for i, h in enumerate(cfg.hidden)
    ]
    layers.append(
        keras.layers.Dense(
            cfg.n_classes,
            activation="softmax",
            dtype=cfg.dtype,
            kernel_initializer=_init(seed + len(cfg.hidden)),
        )
    )
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.lr, epsilon=cfg.epsilon),
        # = loss="sparse_categorical_crossentropy", in the model's dtype: a Keras loss
        # otherwise computes in floatx (float32), whatever the model's dtype
        loss=keras.losses.SparseCategoricalCrossentropy(dtype=cfg.dtype),
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


class SubclassedMLP(keras.Model):
    """A subclassed model: layers made in ``__init__``, the forward pass written in ``call``.

    ``call`` returns *logits*; compile it with ``from_logits=True``. Ending
    ``call`` with a softmax *and* passing ``from_logits=True`` applies softmax
    twice: the loss is then computed on probabilities squeezed towards uniform,
    and training crawls (the chapter shows it).
    """

    def __init__(
        self,
        hidden: Sequence[int] = (128, 64),
        n_classes: int = 10,
        dtype: str = "float32",
        *,
        seed: int = 0,
    ) -> None:
        super().__init__(dtype=dtype)
        self.hidden_layers = [
            keras.layers.Dense(
                h, activation="relu", dtype=dtype, kernel_initializer=_init(seed + i)
            )
            for i, h in enumerate(hidden)
        ]
        self.out = keras.layers.Dense(  # logits: no activation
            n_classes, dtype=dtype, kernel_initializer=_init(seed + len(hidden))
        )

    def call(self, x: Any, training: bool = False) -> Any:
        for layer in self.hidden_layers:
            x = layer(x)  # (B, H)
        return self.out(x)  # (B, K) logits


def compile_subclassed(model: Any, config: KerasMLPConfig | None = None) -> Any:
    """Adam and cross-entropy *from logits* (``call`` returns logits); returns the model."""
    cfg = config or KerasMLPConfig()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.lr, epsilon=cfg.epsilon),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=cfg.dtype),
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def train_with_gradient_tape(
    model: Any, x: np.ndarray, y: np.ndarray, *, batch_size: int = 32, epochs: int = 1
) -> list[float]:
    """What ``fit(x, y, batch_size, epochs, shuffle=False)`` does, written as a loop.

    Uses the model's compiled optimizer and loss, so that it can be compared
    with ``fit`` step for step. Returns the loss of every step.
    """
    loss_fn = model.loss  # the loss given to compile (from logits, in the model's dtype)
    opt = model.optimizer
    losses = []
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            xb = tf.constant(x[start : start + batch_size])  # (B, D)
            yb = tf.constant(y[start : start + batch_size])  # (B,)
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))  # mean over the batch
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            losses.append(float(loss))
    return losses


def get_weights(model: Any) -> dict[str, np.ndarray]:
    """The Dense layers' kernels and biases in the canonical layout (copies)."""
    dense = [layer for layer in _dense_layers(model)]
    out = {}
    for i, layer in enumerate(dense):
        out[f"W{i}"], out[f"b{i}"] = (np.array(v) for v in layer.get_weights())
    return out


def set_weights(model: Any, weights: dict[str, np.ndarray]) -> None:
    """Load canonical-layout weights into the Dense layers (shapes checked first)."""
    dense = _dense_layers(model)
    for i, layer in enumerate(dense):
        for name, var in (("W", layer.kernel), ("b", layer.bias)):
            key = f"{name}{i}"
            got = np.shape(weights[key]) if key in weights else None
            if got != tuple(var.shape):
                raise ValueError(
                    f"set_weights: expected {key} of shape {tuple(var.shape)}, got {got}."
                )
    for i, layer in enumerate(dense):
        layer.set_weights([np.asarray(weights[f"W{i}"]), np.asarray(weights[f"b{i}"])])


def _dense_layers(model: Any) -> list[Any]:
    if isinstance(model, SubclassedMLP):
        return [*model.hidden_layers, model.out]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError("this model has no Dense layers; build it first (call it on a batch).")
    return dense


def predict_proba(model: Any, x: np.ndarray, *, logits: bool = False) -> np.ndarray:
    """(N, K) class probabilities; ``logits=True`` for a model whose outputs are logits."""
    out = model.predict(x, batch_size=256, verbose=0)
    return tf.nn.softmax(out, axis=-1).numpy() if logits else np.asarray(out)
