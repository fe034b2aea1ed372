"""The PyTorch idiom: an explicit train / validate loop, early stopping, a state_dict round trip.

Shape legend: B = batch size, N = examples, D = input features.

Nothing is hidden: each epoch is written out as the reader would write it::

    model.train()                         # dropout on, batch norm uses batch statistics
    for xb, yb in train_loader:
        opt.zero_grad()                   # gradients accumulate otherwise
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    model.eval()                          # dropout off, batch norm uses running statistics
    with torch.no_grad():                 # no graph: less memory, and no accidental update
        val_loss = mean of loss_fn(model(xb), yb) over the validation set

The mean validation loss weighs each batch by its size, so a short last batch
counts for what it holds. Early stopping (:class:`dlbook.pipelines.EarlyStopping`)
keeps a copy of the best weights and puts them back at the end.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.pipelines import EarlyStopping, RegressionConfig

torch = import_torch()
nn = torch.nn


class RegressionMLP(nn.Module):
    """D -> 500 -> 100 -> 1 with ReLU (the seed's widths), weights from N(0, init_std^2).

    The seed's ``nn.init.normal_(w, 0, 0.1)`` is kept on purpose. A std of 0.1
    is below He's ``sqrt(2 / fan_in)`` for the first layer (0.45 for 10 inputs)
    and above it for the second (0.063 for 500 inputs); Adam, which rescales
    every step, copes with both (chapter 2 compares initialisations).
    """

    def __init__(
        self,
        n_features: int,
        hidden: Sequence[int] = (500, 100),
        *,
        init_std: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        sizes = [n_features, *hidden, 1]
        layers: list[Any] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        with torch.random.fork_rng(devices=[]):  # nn.Linear's default init draws globally
            self.net = nn.Sequential(*layers)
        gen = torch.Generator().manual_seed(seed)  # our own stream: global state untouched
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                with torch.no_grad():
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) * init_std)
                    layer.bias.zero_()

    def forward(self, x: Any) -> Any:
        return self.net(x)  # (B, 1)


def make_loaders(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    batch_size: int = 64,
    seed: int = 0,
) -> tuple[Any, Any]:
    """A shuffling training ``DataLoader`` (seeded) and an unshuffled validation one."""
    from torch.utils.data import DataLoader, TensorDataset

    def tensors(x: np.ndarray, y: np.ndarray) -> TensorDataset:
        return TensorDataset(
            torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
        )

    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(
        tensors(x_train, y_train), batch_size=batch_size, shuffle=True, generator=gen
    )
    val = DataLoader(tensors(x_val, y_val), batch_size=256, shuffle=False)
    return train, val


def train_one_epoch(model: Any, loader: Iterable, optimizer: Any, loss_fn: Any) -> float:
    """One pass over ``loader`` in training mode; the mean training loss (weighted by batch)."""
    device = next(model.parameters()).device
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        count += len(xb)
    return total / count


def validate(model: Any, loader: Iterable, loss_fn: Any) -> float:
    """Mean loss over ``loader`` in eval mode without gradients (each batch weighted by size)."""
    device = next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            total += loss_fn(model(xb), yb).item() * len(xb)
            count += len(xb)
    return total / count


@dataclass
class History:
    """What :func:`fit` returns: one entry per epoch trained."""

    train_loss: list[float] = field(default_factory=list)  # mean training loss per epoch
    val_loss: list[float] = field(default_factory=list)  # validation loss after each epoch
    best_epoch: int = -1  # the epoch whose weights were kept (from 0)
    stopped_early: bool = False  # whether the patience ran out before max_epochs


def fit(
    model: Any,
    train_loader: Iterable,
    val_loader: Iterable,
    config: RegressionConfig | None = None,
    *,
    progress: bool = False,
) -> History:
    """Adam on MSE with early stopping; the best epoch's weights are loaded back at the end."""
    cfg = config or RegressionConfig()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.MSELoss()
    rule = EarlyStopping(cfg.patience, cfg.min_delta)
    hist = History()
    best_state = copy.deepcopy(model.state_dict())
    epochs: Iterable[int] = range(cfg.max_epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="epochs")
    for _ in epochs:
        hist.train_loss.append(train_one_epoch(model, train_loader, opt, loss_fn))
        hist.val_loss.append(validate(model, val_loader, loss_fn))
        stop = rule.update(hist.val_loss[-1])
        if rule.improved:
            best_state = copy.deepcopy(model.state_dict())  # a copy: the dict holds live tensors
        if stop:
            hist.stopped_early = True
            break
    model.load_state_dict(best_state)
    hist.best_epoch = rule.best_epoch
    return hist


def predict(model: Any, x: np.ndarray) -> np.ndarray:
    """Predictions for new inputs (N, D) -> (N, 1), in eval mode and without gradients."""
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(x), dtype=torch.float32, device=device))
    return out.cpu().numpy()


def save_weights(model: Any, path: str | Path) -> Path:
    """``torch.save(model.state_dict(), path)``: the tensors, not the pickled class."""
    path = Path(path)
    torch.save(model.state_dict(), path)
    return path


def load_weights(model: Any, path: str | Path) -> Any:
    """Load a saved state dict into ``model`` (built with the same shapes) and switch to eval.

    ``weights_only=True`` unpickles tensors and plain containers only: loading a
    file from elsewhere cannot run code. ``load_state_dict`` is strict: a missing
    or unexpected key is an error, not a silently half-loaded model.
    """
    device = next(model.parameters()).device
    state = torch.load(Path(path), map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.eval()
