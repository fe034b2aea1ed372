"""A character-level language model in PyTorch: embedding -> RNN / LSTM / GRU -> logits.

Shape legend: B = batch (windows), T = time steps (characters per window),
V = vocabulary size, E = embedding width, H = hidden units, L = layers.

The model reads characters x_1 .. x_t and outputs, at every step, logits z_t
over the next character; its probability of a text is the chain rule::

    p(x_1 .. x_N) = prod_t p(x_{t+1} | x_1 .. x_t),   p(. | x_<=t) = softmax(z_t)

and training minimises the mean cross-entropy -log p(x_{t+1} | x_<=t) in nats
per character. The state h_t (and c_t for the LSTM) is all the model keeps of
the past, so it is the only way the topic of a sentence can reach its end.

**Budget.** Measured on a 2-core laptop CPU with E = 32, B = 64, T = 64 (steps
of ``train_char_lm``, characters per second): H = 128 gives LSTM ~410k, vanilla
RNN ~370-530k, GRU ~200k (PyTorch's CPU GRU kernel is the slow one); H = 256
divides each by about 3 (LSTM ~130-150k). B*T = 64*64 = 4096 characters per step
is about 10 ms for the LSTM. :data:`CHAPTER_CONFIGS` (600 steps, 2.5M characters,
cosine-decayed lr) take ~6 s (LSTM), ~5 s (RNN), ~12 s (GRU), and on the chapter
corpus reach a validation loss of ~1.443-1.447 nats/char against 1.637 for the
best n-gram model (order 4) and 1.434 for the source itself on the same text.

**Scaling up.** On this corpus the chapter's models are within 0.01 nats/char of
the source, so more capacity buys little; on a harder text, in order of value per
second: more ``steps`` with a matching cosine schedule (``lr_min``), then
``hidden_size`` = 256 (~3x slower per step; worth it only when trained several
times longer, otherwise it is still underfit), then longer ``seq_len`` (gradients
reach further back, steps get slower in proportion), then ``n_layers`` = 2. Watch
the gap between the training and validation losses: with 200k characters, a
large model memorises the training text. On a GPU raise ``batch_size`` first: a
step costs about the same until the device is full.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.device import get_device
from dlbook.lm.metrics import log_softmax
from dlbook.lm.sampling import sample_with_temperature, softmax_with_temperature
from dlbook.optim.schedules import CosineAnnealingLR, apply_schedule
from dlbook.seeding import make_rng

torch = import_torch()
F = torch.nn.functional

CELLS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


@dataclass
class CharLMConfig:
    """Model size and training schedule of a character-level language model."""

    cell: str = "lstm"  # recurrent cell: "rnn" (tanh), "lstm" or "gru"
    embed_dim: int = 32  # E: width of each character's learned vector
    hidden_size: int = 128  # H: width of the recurrent state h_t (and of c_t for the LSTM)
    n_layers: int = 1  # L: stacked recurrent layers
    seq_len: int = 64  # T: characters per training window (gradients flow back <= T steps)
    batch_size: int = 64  # B: windows per gradient step
    lr: float = 3e-3  # Adam learning rate (the peak, when lr_min is set)
    lr_min: float | None = None  # cosine decay from lr to lr_min over the steps; None: constant
    steps: int = 1000  # gradient steps
    grad_clip: float | None = 1.0  # max global norm of the gradient (clip_grad_norm_); None: off
    seed: int = 0  # seeds the initial weights and the windows drawn
    eval_every: int = 100  # steps between validation measurements (and one at the end)
    eval_windows: int = 64  # validation windows per measurement (2T long, the last T scored)
    progress: bool = True  # show a tqdm progress bar over steps

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"CharLMConfig.cell must be one of {list(CELLS)}, got {self.cell!r}.")
        for name in (
            "embed_dim",
            "hidden_size",
            "n_layers",
            "seq_len",
            "batch_size",
            "steps",
            "eval_every",
            "eval_windows",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"CharLMConfig.{name} must be a positive integer, got {value!r}.")
        if not self.lr > 0:
            raise ValueError(f"CharLMConfig.lr must be positive, got {self.lr!r}.")
        if self.lr_min is not None and not 0 <= self.lr_min <= self.lr:
            raise ValueError(
                f"CharLMConfig.lr_min must lie in [0, lr] = [0, {self.lr}] or be None (constant "
                f"learning rate), got {self.lr_min!r}."
            )
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(
                f"CharLMConfig.grad_clip must be positive or None (no clipping), "
                f"got {self.grad_clip!r}."
            )


# The chapter's three models: the same data budget (steps x B x T = 2.5M characters, about
# 12 passes over 200k), so that only the cell differs. Measured on a 2-core CPU (tokens/s:
# LSTM ~400k, vanilla RNN ~490k, GRU ~200k): LSTM ~6 s, RNN ~5 s, GRU ~12 s.
_CHAPTER = dict(hidden_size=128, seq_len=64, batch_size=64, steps=600, lr=6e-3, lr_min=3e-4)
CHAPTER_CONFIGS: dict[str, CharLMConfig] = {
    cell: CharLMConfig(cell=cell, **_CHAPTER) for cell in ("lstm", "gru", "rnn")
}


@dataclass
class TrainLog:
    """What happened while training a :class:`CharLM`."""

    train_loss: list[float] = field(default_factory=list)  # nats/char of each step's batch
    grad_norm: list[float] = field(default_factory=list)  # global gradient norm, before clipping
    lr: list[float] = field(default_factory=list)  # learning rate of each step
    eval_steps: list[int] = field(default_factory=list)  # steps after which val_loss was measured
    val_loss: list[float] = field(default_factory=list)  # nats/char on the fixed val windows
    seconds: float = 0.0  # wall-clock training time (varies run to run: never print it raw)
    tokens_per_second: float = 0.0  # characters predicted per second of training

    @property
    def final_val_loss(self) -> float:
        """The last validation measurement, nats per character."""
        if not self.val_loss:
            raise ValueError("No validation loss was recorded: pass val_ids to train_char_lm.")
        return self.val_loss[-1]


class CharLM(torch.nn.Module):
    """Embedding(V, E) -> RNN / LSTM / GRU (E -> H, batch first) -> Linear(H, V)."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 32,
        hidden_size: int = 128,
        cell: str = "lstm",
        n_layers: int = 1,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {list(CELLS)}, got {cell!r}.")
        self.cell = cell  # which recurrent cell: "rnn", "lstm" or "gru"
        self.vocab_size = vocab_size  # V
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)  # row i: vector of char i
        self.rnn = CELLS[cell](embed_dim, hidden_size, num_layers=n_layers, batch_first=True)
        self.head = torch.nn.Linear(hidden_size, vocab_size)  # h_t -> logits of x_{t+1}

    def forward(self, ids: Any, state: Any = None) -> tuple[Any, Any]:
        """ids (B, T) int64 -> (logits (B, T, V), final state).

        The state is h (L, B, H), or (h, c) for the LSTM, as ``torch.nn.LSTM`` uses;
        None starts from zeros. Passing the returned state into the next call
        continues the text where this chunk ended.
        """
        if ids.ndim != 2:
            raise ValueError(
                f"CharLM expects character ids of shape (B, T), got shape {tuple(ids.shape)}. "
                "A single sequence needs a batch axis: ids[None]."
            )
        x = self.embedding(ids)  # (B, T, E)
        out, state = self.rnn(x, state)  # (B, T, H)
        return self.head(out), state  # (B, T, V)


def build_model(config: CharLMConfig, vocab_size: int) -> CharLM:
    """A fresh :class:`CharLM` for ``config``, initialised from ``config.seed``.

    The init runs inside ``torch.random.fork_rng``, so global random state is untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = CharLM(
            vocab_size, config.embed_dim, config.hidden_size, config.cell, config.n_layers
        )
    return model.to(get_device())


def save_char_lm(model: CharLM, config: CharLMConfig, path: Any, **metadata: Any) -> Path:
    """Write ``model``'s weights (float32) and ``config`` to an ``.npz`` file; returns its path.

    ``metadata`` (JSON-serialisable: the validation loss, the corpus, ...) is stored beside
    them and returned by :func:`load_char_lm`.
    """
    path = Path(path)
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    header = {"config": asdict(config), "vocab_size": model.vocab_size, **metadata}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, __meta__=np.array(json.dumps(header)), **arrays)
    return path


def load_char_lm(path: Any) -> tuple[CharLM, CharLMConfig, dict[str, Any]]:
    """``(model, config, metadata)`` from a file written by :func:`save_char_lm`.

    The model is in evaluation mode, on the book's device.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No character-LM checkpoint at {path}.")
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data["__meta__"]))
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
    config = CharLMConfig(**header.pop("config"))
    model = build_model(config, header.pop("vocab_size"))
    state = {k: torch.as_tensor(v, device=get_device()) for k, v in arrays.items()}
    model.load_state_dict(state)
    return model.eval(), config, header


def random_windows(
    ids: np.ndarray, seq_len: int, batch_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """B random windows of the text: inputs x (B, T) and targets y (B, T), y shifted by one.

    Window b starts at s_b ~ Uniform{0, .., N - T - 1}: x[b] = ids[s_b : s_b + T]
    and y[b] = ids[s_b + 1 : s_b + T + 1], so y[b, t] is the character after x[b, t].
    """
    starts = rng.integers(0, len(ids) - seq_len, size=batch_size)  # (B,)
    idx = starts[:, None] + np.arange(seq_len)  # (B, T)
    return ids[idx], ids[idx + 1]


def check_ids(ids: Any, name: str, vocab_size: int, min_len: int) -> np.ndarray:
    """``ids`` as a 1-D integer array of at least ``min_len`` ids, each in [0, vocab_size)."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} must be a 1-D array of integer character ids (vocab.encode(text)), "
            f"got shape {arr.shape} and dtype {arr.dtype}."
        )
    if len(arr) < min_len:
        raise ValueError(f"{name} has {len(arr)} characters; it needs at least {min_len}.")
    if arr.min() < 0 or arr.max() >= vocab_size:
        raise ValueError(
            f"{name} holds ids from {arr.min()} to {arr.max()}, outside [0, {vocab_size}): "
            "was it encoded with a different vocabulary?"
        )
    return arr.astype(np.int64)


def validation_windows(
    ids: np.ndarray, seq_len: int, n_windows: int
) -> tuple[np.ndarray, np.ndarray]:
    """A fixed set of evenly spaced windows of the validation text, each 2T characters long.

    Returns x (n, 2T) and y (n, 2T). The loss counts only the second half of each
    window: the first T characters warm the state up, so every scored character
    has at least T characters of context, close to :func:`evaluate`'s carried state.
    """
    width = 2 * seq_len
    last = len(ids) - width - 1
    if last < 0:
        raise ValueError(
            f"The validation text has {len(ids)} characters; the periodic evaluation needs "
            f"at least 2 * seq_len + 1 = {width + 1}. Use a shorter seq_len or more text."
        )
    starts = np.unique(np.linspace(0, last, n_windows).round().astype(np.int64))  # (n,)
    idx = starts[:, None] + np.arange(width)  # (n, 2T)
    return ids[idx], ids[idx + 1]


def _window_loss(model: CharLM, x: np.ndarray, y: np.ndarray, warmup: int) -> float:
    """Mean nats/char over positions t >= warmup of windows x, y (n, W), from a zero state."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(x, device=device))  # (n, W, V)
        y_t = torch.as_tensor(y, device=device)
        loss = F.cross_entropy(logits[:, warmup:].flatten(0, 1), y_t[:, warmup:].flatten())
    model.train(was_training)
    return float(loss)


def _train_step(
    model: CharLM, optimizer: Any, x: Any, y: Any, grad_clip: float | None
) -> tuple[float, float]:
    """One Adam step on windows x, y (B, T); returns (loss in nats/char, gradient norm)."""
    logits, _ = model(x)  # (B, T, V)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())  # mean over B*T characters
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    max_norm = grad_clip if grad_clip is not None else float("inf")  # inf: measure, never clip
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return float(loss.detach()), float(norm)


def train_char_lm(
    config: CharLMConfig, train_ids: Any, val_ids: Any, vocab_size: int
) -> tuple[CharLM, TrainLog]:
    """Train a :class:`CharLM` on random windows of ``train_ids`` with Adam.

    Each step draws B windows of T + 1 characters at random starts (truncated
    backpropagation through time: every window starts from a zero state, and
    gradients flow back at most T steps). Every ``eval_every`` steps, and after
    the last one, the loss on a fixed set of validation windows is recorded
    (see :func:`validation_windows`); ``val_ids=None`` skips it. For the final,
    exact number call :func:`evaluate` on the whole validation text.
    ``log.tokens_per_second`` counts training steps only, not the evaluations.
    """
    from tqdm.auto import trange

    train = check_ids(train_ids, "train_ids", vocab_size, config.seq_len + 2)
    rng = make_rng(config.seed)
    model = build_model(config, vocab_size)
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = None
    if config.lr_min is not None:
        schedule = CosineAnnealingLR(config.lr, config.steps, eta_min=config.lr_min)
    if val_ids is not None:
        val = check_ids(val_ids, "val_ids", vocab_size, 2 * config.seq_len + 1)
        val_x, val_y = validation_windows(val, config.seq_len, config.eval_windows)
    log, train_seconds, start = TrainLog(), 0.0, time.perf_counter()
    model.train()
    for step in trange(config.steps, desc=f"training {config.cell}", disable=not config.progress):
        tick = time.perf_counter()
        xb, yb = random_windows(train, config.seq_len, config.batch_size, rng)  # (B, T) each
        x, y = torch.as_tensor(xb, device=device), torch.as_tensor(yb, device=device)
        lr = config.lr if schedule is None else apply_schedule(optimizer, schedule, step)
        loss, norm = _train_step(model, optimizer, x, y, config.grad_clip)
        train_seconds += time.perf_counter() - tick
        log.train_loss.append(loss)
        log.grad_norm.append(norm)
        log.lr.append(lr)
        if val_ids is not None and (
            (step + 1) % config.eval_every == 0 or step + 1 == config.steps
        ):
            log.eval_steps.append(step + 1)
            log.val_loss.append(_window_loss(model, val_x, val_y, config.seq_len))
    log.seconds = time.perf_counter() - start
    log.tokens_per_second = config.steps * config.batch_size * config.seq_len / train_seconds
    model.eval()
    return model, log


def evaluate(model: CharLM, ids: Any, seq_len: int = 256, n_streams: int = 1) -> float:
    """The model's cross-entropy rate on a text, in nats per character::

        -(1 / (N - 1)) sum_{t=1}^{N-1} log p(x_{t+1} | x_1 .. x_t)

    The text is read in consecutive chunks of ``seq_len`` characters with the
    state carried from chunk to chunk, so every character is predicted from the
    whole text before it, as a stationary source is defined. This is the number
    to compare with the source's entropy rate H (the best any model can do) and
    with an n-gram model's ``cross_entropy``; exp of it is the perplexity.
    ``n_streams`` > 1 cuts the text into that many equal streams read side by side
    (faster; each stream's first characters lose their context, and the last
    N mod n_streams characters are dropped).
    """
    vocab_size = model.vocab_size
    arr = check_ids(ids, "ids", vocab_size, n_streams + 1)
    N = (len(arr) - 1) // n_streams  # predictions per stream
    x = arr[: N * n_streams].reshape(n_streams, N)  # (S, N) stream s = arr[s*N : (s+1)*N]
    y = np.stack([arr[s * N + 1 : (s + 1) * N + 1] for s in range(n_streams)])  # (S, N)
    device = next(model.parameters()).device
    total, state = 0.0, None
    model.eval()
    with torch.no_grad():
        for t0 in range(0, N, seq_len):
            xc = torch.as_tensor(x[:, t0 : t0 + seq_len], device=device)  # (S, <=T)
            yc = torch.as_tensor(y[:, t0 : t0 + seq_len], device=device)
            logits, state = model(xc, state)  # (S, <=T, V)
            total += float(F.cross_entropy(logits.flatten(0, 1), yc.flatten(), reduction="sum"))
    return total / (N * n_streams)


def temperature_probs(logits: Any, temperature: float) -> np.ndarray:
    """softmax(z / tau) of logits z (V,), with tau = 0 meaning all mass on the argmax.

    tau < 1 sharpens the distribution towards the most likely character, tau > 1
    flattens it towards uniform, tau = 1 is the model's own distribution
    (:func:`dlbook.lm.sampling.softmax_with_temperature`, plus its tau -> 0 limit).
    """
    tau = _check_temperature(temperature)
    z = np.asarray(logits, dtype=np.float64)  # (V,)
    if tau == 0:  # the limit tau -> 0: greedy decoding
        return np.eye(len(z))[int(np.argmax(z))]
    return softmax_with_temperature(z, tau)


def _check_temperature(temperature: Any) -> float:
    """tau as a float >= 0; below 1e-6 it is 0 (greedy), where z / tau could overflow."""
    try:
        tau = float(temperature)
    except (TypeError, ValueError):
        raise TypeError(f"temperature must be a number, got {temperature!r}.") from None
    if not np.isfinite(tau) or tau < 0:
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}."
        )
    return 0.0 if tau < 1e-6 else tau


def next_char_logits(model: CharLM, ids: Any, state: Any = None) -> tuple[np.ndarray, Any]:
    """Read ids (T,) after ``state`` (None: from the start); return the next logits (V,), state.

    Pass the state back in with the next ids to keep reading the same text.
    """
    device = next(model.parameters()).device
    with torch.no_grad():
        logits, state = model(torch.as_tensor(np.asarray(ids)[None], device=device), state)
    return logits[0, -1].double().cpu().numpy(), state  # (V,)


def sample_with_logprobs(
    model: CharLM,
    vocab: Any,
    prompt: str,
    n_chars: int,
    temperature: float = 1.0,
    rng: np.random.Generator | int = 0,
) -> tuple[str, np.ndarray]:
    """Continue ``prompt`` by ``n_chars`` characters drawn from softmax(z / temperature).

    Returns the continuation (without the prompt) and, for each drawn character,
    its log-probability under the model itself (temperature 1), shape (n_chars,):
    low temperatures pick likely characters (log-probs near 0), high ones
    venture into unlikely ones.
    """
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(
            "sample needs a non-empty prompt: the model predicts from what it has read."
        )
    if isinstance(n_chars, bool) or not isinstance(n_chars, (int, np.integer)) or n_chars < 0:
        raise ValueError(f"n_chars must be a non-negative integer, got {n_chars!r}.")
    tau, rng = _check_temperature(temperature), make_rng(rng)
    greedy = tau == 0  # tau -> 0: always the argmax
    model.eval()
    out, logps = [], []
    z, state = next_char_logits(model, vocab.encode(prompt))  # (V,)
    for _ in range(n_chars):
        c = sample_with_temperature(z, tau or 1.0, rng, greedy=greedy)  # tau unused if greedy
        out.append(c)
        logps.append(float(log_softmax(z)[c]))  # log p(c | text so far) at tau = 1
        z, state = next_char_logits(model, [c], state)
    return vocab.decode(np.array(out, dtype=np.int64)), np.array(logps)


def sample(
    model: CharLM,
    vocab: Any,
    prompt: str,
    n_chars: int,
    temperature: float = 1.0,
    rng: np.random.Generator | int = 0,
) -> str:
    """The text ``n_chars`` characters on from ``prompt`` (see :func:`sample_with_logprobs`).

    temperature = 0 is greedy decoding: always the most likely next character.
    """
    return sample_with_logprobs(model, vocab, prompt, n_chars, temperature, rng)[0]


def embedding_pca(model: CharLM) -> tuple[np.ndarray, np.ndarray]:
    """Project the V character embeddings onto their first two principal components.

    With the embedding matrix X (V, E) centred, X_c = X - mean, the SVD
    X_c = U S W^T gives coordinates U[:, :2] S[:2] (V, 2) and explained variance
    ratios S_k^2 / sum_j S_j^2 for k = 1, 2. Characters the model treats alike
    (the vowels, say) land close together.
    """
    X = model.embedding.weight.detach().double().cpu().numpy()  # (V, E)
    Xc = X - X.mean(axis=0)
    U, S, _ = np.linalg.svd(Xc, full_matrices=False)  # U (V, r), S (r,)
    coords = U[:, :2] * S[:2]  # (V, 2)
    return coords, (S[:2] ** 2) / np.sum(S**2)


def hidden_trace(model: CharLM, vocab: Any, text: str) -> dict[str, np.ndarray]:
    """The first layer's state after each character of ``text``, with the LSTM's gates.

    Returns {"h": (T, H)} and, for the LSTM, also "c", "input", "forget", "output"
    (each (T, H)), recomputed step by step from the layer's weights::

        i, f, g, o = sigma, sigma, tanh, sigma of (W_ih e_t + b_ih + W_hh h_{t-1} + b_hh)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    ``tests/lm/test_char_model.py`` checks that h agrees with ``torch.nn.LSTM``.
    """
    ids = vocab.encode(text)
    rnn = model.rnn
    with torch.no_grad():
        e = model.embedding(torch.as_tensor(ids, device=model.head.weight.device))  # (T, E)
        if model.cell == "lstm":
            return _lstm_gates(rnn, e)
        layer = rnn if rnn.num_layers == 1 else _first_layer(rnn)
        return {"h": layer(e[None])[0][0].double().cpu().numpy()}  # (T, H)


def _first_layer(rnn: Any) -> Any:
    """A one-layer copy of the first layer of a stacked RNN / GRU (same weights)."""
    with torch.random.fork_rng(devices=[]):  # the throw-away init must not touch global RNG
        layer = type(rnn)(rnn.input_size, rnn.hidden_size, batch_first=True)
    layer.load_state_dict({k: v for k, v in rnn.state_dict().items() if k.endswith("_l0")})
    return layer.to(rnn.weight_hh_l0.device)


def _lstm_gates(rnn: Any, e: Any) -> dict[str, np.ndarray]:
    """Step the first LSTM layer over e (T, E), recording h, c and the gates i, f, o."""
    H = rnn.hidden_size
    W_ih, W_hh = rnn.weight_ih_l0, rnn.weight_hh_l0  # (4H, E), (4H, H); gates i, f, g, o
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0  # (4H,)
    h = c = torch.zeros(H, dtype=e.dtype, device=e.device)
    names = ("h", "c", "input", "forget", "output")
    rows: dict[str, list] = {k: [] for k in names}
    for e_t in e:
        a = W_ih @ e_t + W_hh @ h + b  # (4H,)
        i, f, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H : 2 * H]), torch.sigmoid(a[3 * H :])
        c = f * c + i * torch.tanh(a[2 * H : 3 * H])
        h = o * torch.tanh(c)
        for k, v in zip(names, (h, c, i, f, o), strict=True):
            rows[k].append(v)
    return {k: torch.stack(v).double().cpu().numpy() for k, v in rows.items()}  # each (T, H)
