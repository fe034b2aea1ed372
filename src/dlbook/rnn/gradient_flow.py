"""Vanishing and exploding gradients: how far back can a recurrent cell "hear"?

Shape legend: N = random input sequences, T = time steps, D = input features,
H = hidden units, S = state size (H for the RNN and GRU, 2H for the LSTM's (h, c)).

A recurrent cell maps its state and an input to the next state, s_t = f(s_{t-1}, x_t).
By the chain rule the gradient that reaches step T - k from step T is a product
of k one-step Jacobians::

    ds_T / ds_{T-k} = J_T J_{T-1} ... J_{T-k+1},      J_t = ds_t / ds_{t-1}   (S, S)

For the vanilla RNN, h_t = tanh(W_ih x_t + W_hh h_{t-1} + b), each factor is
J_t = diag(tanh'(a_t)) W_hh with tanh' = 1 - h_t^2 in (0, 1], so::

    || dh_T / dh_{T-k} ||  <=  prod_t ||diag(1 - h_t^2)|| ||W_hh||^k
                          ~   rho(W_hh)^k  x  (tanh' factors, each <= 1)

where rho is the spectral radius (largest ``|eigenvalue|``; ``||W^k||^(1/k)`` -> rho by
Gelfand's formula). For rho < 1 the norm shrinks like rho^k, a straight line of
slope log(rho) on a log scale: the signal from the past *vanishes*. For rho > 1
it can *explode*, until tanh saturates and its small derivatives rein it in.

The LSTM's memory cell adds a second path, c_t = f_t * c_{t-1} + i_t * g_t, whose
Jacobian dc_t/dc_{t-1} contains diag(f_t): with the forget gate near 1 the product
barely shrinks. That is why a positive forget-gate bias (Gers et al., 2000;
Jozefowicz et al., 2015) lets gradients travel further. PyTorch initialises
the forget bias like every other bias (near 0, so f ~ 0.5); Keras sets it to 1
(``unit_forget_bias=True``).

What :func:`gradient_norm_vs_lag` measures (H = 128, T = 100, slope of
log ||grad|| per step of lag, fitted over lags 20-99): the tanh RNN with tiny
inputs follows log(rho) closely (rho = 0.5: -0.70 vs -0.69; 0.9: -0.11 vs
-0.105; 1.0: -0.003 vs 0); with inputs N(0, 1) the tanh' factors steepen it
(0.9: -0.17, 1.0: -0.09, 1.1: -0.05), and rho = 1.5 saturates into a slow
growth (+0.035 instead of +0.405). At torch's default init (rho ~ 0.58) the RNN
decays at -0.55 per step, the GRU at -0.45, the LSTM at -0.44; a forget-gate
bias of +1 slows the LSTM to -0.14, and +3 to about 0.

Everything here runs in float64 on the CPU with PyTorch. Backpropagation
through time computes exactly the vector-Jacobian products u^T J_T ... J_{T-k+1}
above, one backward pass for every lag at once (no finite differences).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook._lazy import import_torch

torch = import_torch()

CELLS = ("rnn", "linear", "lstm", "gru")  # "linear" = the RNN with identity activation
StepFn = Callable[[Any, Any], Any]  # (states (N, S), inputs (N, D)) -> next states (N, S)


def spectral_radius(W: Any) -> float:
    """``rho(W) = max |lambda_i(W)|``, the largest modulus of an eigenvalue of a square matrix."""
    return _radius(W)


def _radius(W: Any) -> float:  # make_cell's argument `spectral_radius` hides the public name
    W = np.asarray(W.detach().cpu() if hasattr(W, "detach") else W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"spectral_radius needs a square matrix, got shape {W.shape}.")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def make_cell(
    cell_kind: str,
    hidden_size: int,
    input_size: int,
    *,
    spectral_radius: float | None = None,
    forget_bias: float | None = None,
    seed: int = 0,
) -> Any:
    """A float64 ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` with torch's default init.

    ``spectral_radius`` rescales the recurrent matrix W_hh to have that rho (vanilla
    or linear RNN only) and zeroes the biases, so that h = 0 is a fixed point: with
    small inputs the tanh then stays in its linear range (tanh' ~ 1), the setting in
    which ||u^T W_hh^k|| ~ rho^k is the whole story. ``forget_bias`` sets the LSTM's
    forget-gate bias b_f (torch splits it into b_if + b_hf; we put it all in b_hf).
    Global random state is untouched: the init runs inside ``torch.random.fork_rng``.
    """
    if cell_kind not in CELLS:
        raise ValueError(f"cell_kind must be one of {CELLS}, got {cell_kind!r}.")
    if spectral_radius is not None and cell_kind not in ("rnn", "linear"):
        raise ValueError("spectral_radius rescales the vanilla RNN's W_hh; use cell 'rnn'.")
    if forget_bias is not None and cell_kind != "lstm":
        raise ValueError("forget_bias applies only to the LSTM (cell_kind='lstm').")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cls = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}.get(cell_kind, torch.nn.RNNCell)
        cell = cls(input_size, hidden_size, dtype=torch.float64)
    with torch.no_grad():
        if spectral_radius is not None:
            cell.weight_hh *= spectral_radius / _radius(cell.weight_hh)
            cell.bias_ih.zero_()
            cell.bias_hh.zero_()
        if forget_bias is not None:  # gate order in torch's LSTM: input, forget, cell, output
            cell.bias_ih[hidden_size : 2 * hidden_size] = 0.0
            cell.bias_hh[hidden_size : 2 * hidden_size] = forget_bias
    return cell


def step_function(cell: Any, cell_kind: str) -> StepFn:
    """The cell's update s_t = f(s_{t-1}, x_t) written out, for a batch: (N, S), (N, D) -> (N, S)::

        RNN:    h' = tanh(W_ih x + b_ih + W_hh h + b_hh)      ("linear": no tanh)
        GRU:    r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(... same with z ...)
                n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
        LSTM:   i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x + b_ih + W_hh h + b_hh)
                c' = f * c + i * g,  h' = o * tanh(c'),  and the state is s = [h, c]  (2H,)

    ``tests/rnn/test_gradient_flow.py`` checks these against torch's own cells.
    """
    H = cell.hidden_size
    w_ih, w_hh, b_ih, b_hh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh

    def rnn(s: Any, x: Any) -> Any:
        a = x @ w_ih.T + b_ih + s @ w_hh.T + b_hh  # (N, H) pre-activation
        return a if cell_kind == "linear" else torch.tanh(a)

    def gru(s: Any, x: Any) -> Any:
        gx, gh = x @ w_ih.T + b_ih, s @ w_hh.T + b_hh  # (N, 3H) each: gates r, z, n
        r = torch.sigmoid(gx[:, :H] + gh[:, :H])
        z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])
        return (1 - z) * n + z * s

    def lstm(s: Any, x: Any) -> Any:
        h, c = s[:, :H], s[:, H:]  # (N, H) each
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (N, 4H): gates i, f, g, o
        i, f, o = (
            torch.sigmoid(a[:, :H]),
            torch.sigmoid(a[:, H : 2 * H]),
            torch.sigmoid(a[:, 3 * H :]),
        )
        c_new = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        return torch.cat([o * torch.tanh(c_new), c_new], dim=1)  # (N, 2H)

    return {"rnn": rnn, "linear": rnn, "gru": gru, "lstm": lstm}[cell_kind]


def backprop_norms(step: StepFn, s0: Any, xs: Any, u: Any, wrt: str = "state") -> Any:
    """Backpropagate L = u . h_T through time and return ||dL/ds_{T-k}|| for k = 1 .. T-1.

    s0: (N, S) initial states, xs: (N, T, D) inputs, u: (N, H) unit vectors. Autograd
    computes exactly the vector-Jacobian chain of the module docstring::

        dL/ds_{T-k} = u^T (ds_T/ds_{T-k}) = u^T J_T J_{T-1} ... J_{T-k+1}      (N, S)

    ``wrt="input"`` returns ||dL/dx_{T-k}|| instead (N, D): how much the input
    k steps back still moves the loss. Returns (N, T-1) norms; column i is lag i + 1.
    """
    H, T = u.shape[1], xs.shape[1]
    xs = xs.detach().requires_grad_(True)
    states, s = [], s0
    for t in range(T):
        s = step(s, xs[:, t])  # (N, S): s_{t+1} in 1-based time
        s.retain_grad()
        states.append(s)
    (states[-1][:, :H] * u).sum().backward()  # one backward pass fills every .grad
    if wrt == "state":
        grads = [states[T - 1 - k].grad for k in range(1, T)]  # dL/ds_{T-k}
    else:
        grads = [xs.grad[:, T - 1 - k] for k in range(1, T)]  # dL/dx_{T-k}
    return torch.stack([g.norm(dim=1) for g in grads], dim=1)  # (N, T-1)


def gradient_norm_vs_lag(
    cell_kind: str,
    hidden_size: int,
    spectral_radius: float | None = None,
    T: int = 100,
    seed: int = 0,
    *,
    n_inputs: int = 8,
    input_size: int = 8,
    input_scale: float = 1.0,
    forget_bias: float | None = None,
    wrt: str = "state",
) -> np.ndarray:
    """How the gradient from step T shrinks or grows as it travels k = 1 .. T-1 steps back.

    Builds a randomly initialised float64 cell (see :func:`make_cell`), feeds it
    ``n_inputs`` random sequences x_t ~ N(0, input_scale^2 I) of length T from s_0 = 0,
    backpropagates L = u . h_T for a random unit vector u (one per sequence), and
    returns for each lag k the *geometric* mean over sequences of ||dL/ds_{T-k}||
    (``wrt="state"``; s = h, or [h, c] for the LSTM) or of ||dL/dx_{T-k}||
    (``wrt="input"``). The norms span many orders of magnitude, hence the mean of
    their logs. Index i of the result (shape (T-1,)) holds lag k = i + 1; lag 0
    would be ||u|| = 1.

    For the RNN with W_hh rescaled to spectral radius rho, the curve falls roughly
    like rho^k when rho < 1 (plot it on a log scale: slope log rho; the tanh'
    factors make it steeper, less so for small ``input_scale``) and rises when
    rho > 1 until tanh saturates.
    """
    if wrt not in ("state", "input"):
        raise ValueError(f"wrt must be 'state' or 'input', got {wrt!r}.")
    if T < 2:
        raise ValueError(f"T must be at least 2 to have a lag, got T={T}.")
    cell = make_cell(
        cell_kind,
        hidden_size,
        input_size,
        spectral_radius=spectral_radius,
        forget_bias=forget_bias,
        seed=seed,
    )
    gen = torch.Generator().manual_seed(seed + 1)
    xs = input_scale * torch.randn(n_inputs, T, input_size, generator=gen, dtype=torch.float64)
    u = torch.randn(n_inputs, hidden_size, generator=gen, dtype=torch.float64)
    u = u / u.norm(dim=1, keepdim=True)  # (N, H) unit vectors
    S = 2 * hidden_size if cell_kind == "lstm" else hidden_size
    s0 = torch.zeros(n_inputs, S, dtype=torch.float64)  # (N, S)
    norms = backprop_norms(step_function(cell, cell_kind), s0, xs, u, wrt)  # (N, T-1)
    log_mean = torch.log(norms.detach().clamp_min(1e-300)).mean(dim=0)  # (T-1,)
    return torch.exp(log_mean).numpy()


def decay_rate(norms: np.ndarray, k_min: int = 1, k_max: int | None = None) -> float:
    """Slope of log ||grad|| against lag k (least squares), over lags k_min .. k_max.

    A slope of log(rho) means the norm behaves like rho^k; exp(slope) is the
    effective per-step factor. ``norms[i]`` must hold lag i + 1.
    """
    norms = np.asarray(norms, dtype=np.float64)
    k = np.arange(1, len(norms) + 1)
    k_max = len(norms) if k_max is None else k_max
    keep = (k >= k_min) & (k <= k_max) & (norms > 0)
    if keep.sum() < 2:
        raise ValueError(f"Need at least two positive norms between lags {k_min} and {k_max}.")
    return float(np.polyfit(k[keep], np.log(norms[keep]), 1)[0])
