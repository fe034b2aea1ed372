"""Initial weights, drawn once in NumPy and shared by all three backends.

Sharing the draw is what lets the book train "the same" network in NumPy,
PyTorch and TensorFlow and compare them number for number.

Chapter 1 uses :func:`init_mlp_weights`. Chapter 2 compares the classic schemes
with :func:`fans`, :func:`calculate_gain`, :func:`init_std` and :func:`init_weights`
(small, Xavier/Glorot, He/Kaiming, LeCun); :mod:`dlbook.nn.depth` measures what
each does to a 20-layer network.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from dlbook._validate import check_sizes
from dlbook.seeding import make_rng

# Gain of He/Kaiming initialisation for each activation: Var(W) = gain^2 / fan_in.
_GAIN = {"relu": np.sqrt(2.0), "gelu": np.sqrt(2.0), "tanh": 5.0 / 3.0, "sigmoid": 1.0}


def init_linear_weights(
    d_in: int, d_out: int, rng: np.random.Generator, *, gain: float = 1.0, dtype: str = "float64"
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(W, b)`` with ``W ~ N(0, gain^2 / d_in)`` of shape (d_in, d_out) and ``b = 0``.

    The variance ``gain^2 / fan_in`` keeps the scale of activations roughly
    constant from layer to layer (He et al., 2015, for ReLU's gain of sqrt 2).
    """
    W = rng.normal(0.0, gain / np.sqrt(d_in), size=(d_in, d_out)).astype(dtype)
    b = np.zeros(d_out, dtype=dtype)
    return W, b


def init_mlp_weights(
    sizes: list[int],
    activation: str = "relu",
    *,
    seed: int | np.random.Generator = 0,
    dtype: str = "float64",
) -> dict[str, np.ndarray]:
    """Initial weights of an MLP in the canonical layout ``{"W0", "b0", "W1", ...}``.

    The hidden layers use the gain of ``activation``; the last (logit) layer uses gain 1.
    """
    sizes = check_sizes(sizes)
    if activation not in _GAIN:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(_GAIN)}.")
    rng = make_rng(seed)
    weights: dict[str, np.ndarray] = {}
    n_layers = len(sizes) - 1
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        gain = 1.0 if i == n_layers - 1 else _GAIN[activation]
        W, b = init_linear_weights(d_in, d_out, rng, gain=gain, dtype=dtype)
        weights[f"W{i}"], weights[f"b{i}"] = W, b
    return weights


# ---------------------------------------------------------------------------
# Fans, gains and the classic schemes (chapter 2: initialisation)
# ---------------------------------------------------------------------------
#
# Why the variance of W matters. A unit computes z = sum_{i=1}^{fan_in} w_i x_i.
# With independent, zero-mean w_i and x_i,
#
#     Var(z) = fan_in * Var(w) * E[x^2]      (= fan_in Var(w) Var(x) for zero-mean x).
#
# Choosing Var(w) = 1 / fan_in keeps Var(z) = Var(x) layer after layer (LeCun).
# ReLU zeroes half of its inputs, so E[relu(z)^2] = Var(z) / 2; He et al. (2015)
# double the variance to compensate: Var(w) = 2 / fan_in. The backward pass
# multiplies by W^T, whose fan is fan_out; Glorot & Bengio (2010) compromise
# between the two directions: Var(w) = 2 / (fan_in + fan_out).

Layout = Literal["in_out", "out_in"]
SCHEMES = ("small", "xavier", "glorot", "he", "kaiming", "lecun")
DISTRIBUTIONS = ("normal", "uniform", "truncated_normal")
SMALL_STD = 0.01  # the "small random numbers" of early tutorials: N(0, 0.01^2)

# Keras' truncated normal cuts at +-2 std, which shrinks the std by this factor;
# Keras divides by it so that the variance after truncation is the intended one.
_TRUNCATED_STD = 0.87962566103423978


def fans(shape: tuple[int, ...], layout: Layout = "in_out") -> tuple[int, int]:
    """Return ``(fan_in, fan_out)``: how many inputs feed a unit, how many units it feeds.

    ``layout="in_out"`` is the book's and Keras' layout: a dense ``W`` of shape
    (in, out), a convolution kernel of shape (kh, kw, ..., in, out).
    ``layout="out_in"`` is PyTorch's: ``nn.Linear.weight`` is (out, in), a
    convolution weight (out, in, kh, kw, ...). A kernel's receptive field
    (kh * kw * ...) multiplies both fans.

    Getting the fan wrong is *the* classic He-initialisation bug: drawing a
    (in, out) matrix with a formula written for (out, in) divides by the number
    of outputs instead of inputs. For a 784 -> 128 layer the variance is then
    6x too large, and in a deep network the error compounds layer by layer.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(
            f"fans needs a weight of at least 2 dimensions, got shape {shape}; "
            "a bias (1-D) has no fan in or fan out, and is usually initialised to 0."
        )
    if layout not in ("in_out", "out_in"):
        raise ValueError(
            f"layout must be 'in_out' (the book's W of shape (in, out)) or 'out_in' "
            f"(torch's weight of shape (out, in)), got {layout!r}."
        )
    if layout == "in_out":  # (..., in, out): kernel dims first
        receptive = int(np.prod(shape[:-2], dtype=np.int64))
        return shape[-2] * receptive, shape[-1] * receptive
    receptive = int(np.prod(shape[2:], dtype=np.int64))  # (out, in, ...): kernel dims last
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(activation: str, negative_slope: float = 0.01) -> float:
    """The gain ``g`` of He initialisation, ``Var(w) = g^2 / fan_in``, as ``torch.nn.init``.

    ``1 / g^2`` is the fraction of the second moment that the activation ``f``
    lets through, ``E[f(z)^2] / Var(z)``: ReLU keeps half of it (g = sqrt 2),
    leaky ReLU with slope ``a`` keeps ``(1 + a^2) / 2``. Linear and sigmoid use 1,
    tanh 5/3 (an empirical choice of PyTorch's), SELU 3/4. GELU behaves like ReLU
    for large inputs, so the book gives it sqrt 2 (PyTorch has no gain for GELU).
    """
    gains = {
        "linear": 1.0,
        "identity": 1.0,
        "sigmoid": 1.0,
        "tanh": 5.0 / 3.0,
        "relu": float(np.sqrt(2.0)),
        "gelu": float(np.sqrt(2.0)),
        "leaky_relu": float(np.sqrt(2.0 / (1.0 + negative_slope**2))),
        "selu": 3.0 / 4.0,
    }
    if activation not in gains:
        raise ValueError(f"No gain for activation {activation!r}; choose one of {sorted(gains)}.")
    return gains[activation]


def init_std(
    shape: tuple[int, ...],
    scheme: str,
    *,
    activation: str = "relu",
    layout: Layout = "in_out",
) -> float:
    """The standard deviation each scheme asks for (the square root of the variance below).

    =================  ===================================  ==========================
    scheme             Var(w)                               keeps stable
    =================  ===================================  ==========================
    small              0.01^2                               nothing: signals vanish
    xavier / glorot    2 / (fan_in + fan_out)               tanh, sigmoid, linear
    he / kaiming       gain(activation)^2 / fan_in          relu (gain^2 = 2)
    lecun              1 / fan_in                           linear, selu
    =================  ===================================  ==========================
    """
    if scheme == "small":
        return SMALL_STD
    fan_in, fan_out = fans(shape, layout)
    if scheme in ("xavier", "glorot"):
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    if scheme in ("he", "kaiming"):
        return calculate_gain(activation) / float(np.sqrt(fan_in))
    if scheme == "lecun":
        return 1.0 / float(np.sqrt(fan_in))
    raise ValueError(f"Unknown initialisation scheme {scheme!r}; choose one of {list(SCHEMES)}.")


def init_weights(
    shape: tuple[int, ...],
    scheme: str,
    rng: np.random.Generator,
    *,
    activation: str = "relu",
    distribution: str = "normal",
    layout: Layout = "in_out",
    dtype: str = "float64",
) -> np.ndarray:
    """Draw a weight array of ``shape`` whose variance is the one ``scheme`` asks for.

    The variance comes from :func:`init_std` (``Var(z) = fan_in Var(w) Var(x)``
    is the whole argument); ``distribution`` only changes the shape of the
    distribution, never its variance ``s^2``:

    * ``"normal"``: ``N(0, s^2)``, as ``torch.nn.init.xavier_normal_`` / ``kaiming_normal_``;
    * ``"uniform"``: ``U(-a, a)`` with ``a = sqrt(3) s`` (a uniform on [-a, a] has
      variance a^2/3); for Xavier ``a = sqrt(6 / (fan_in + fan_out))``;
    * ``"truncated_normal"``: Keras' ``GlorotNormal`` / ``HeNormal``: a normal
      with std ``s / 0.8796`` cut at two of its stds, which brings the variance
      back to ``s^2``.

    ``rng`` is required: the draw never touches global random state.
    """
    std = init_std(shape, scheme, activation=activation, layout=layout)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")
    size = tuple(int(s) for s in shape)
    if distribution == "normal":
        w = rng.normal(0.0, std, size=size)
    elif distribution == "uniform":
        a = np.sqrt(3.0) * std
        w = rng.uniform(-a, a, size=size)
    elif distribution == "truncated_normal":
        from scipy.stats import truncnorm  # scipy.stats is slow to import: only when asked

        s = std / _TRUNCATED_STD
        w = truncnorm.rvs(-2.0, 2.0, scale=s, size=size, random_state=rng)
    else:
        raise ValueError(
            f"Unknown distribution {distribution!r}; choose one of {list(DISTRIBUTIONS)}."
        )
    return np.asarray(w, dtype=dtype)
