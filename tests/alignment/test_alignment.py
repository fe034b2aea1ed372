"""SFT and DPO losses: NumPy against torch and an independent computation, gradients checked."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.alignment import backend
from dlbook.alignment import numpy_backend as al_np
from dlbook.gradcheck import check_gradient

torch = pytest.importorskip("torch")
al_torch = backend("torch")

B, T, V = 3, 5, 7


def _lm_inputs(seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, scale, (B, T, V))
    targets = rng.integers(0, V, (B, T))
    mask = (rng.random((B, T)) < 0.6).astype(np.float64)
    mask[:, -1] = 1.0  # every row has at least one response token
    return logits, targets, mask


def _pairs(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(-20, 5, 6) for _ in range(4)]


def test_dpo_loss_equals_independent_torch():
    pc, pr, rc, rr = _pairs()
    beta = 0.3
    t = [torch.tensor(a, dtype=torch.float64) for a in (pc, pr, rc, rr)]
    margin = beta * (torch.log(torch.exp(t[0]) / torch.exp(t[2])) - (t[1] - t[3]))
    expected = -torch.log(torch.sigmoid(margin)).mean().item()
    assert abs(al_np.dpo_loss(pc, pr, rc, rr, beta) - expected) < 1e-10
    assert abs(al_torch.dpo_loss(*t, beta).item() - expected) < 1e-10


def test_dpo_loss_stable_for_large_margins():
    big = np.array([2000.0, -2000.0])
    zero = np.zeros(2)
    loss = al_np.dpo_loss(big, zero, zero, zero, 1.0)
    assert np.isfinite(loss) and abs(loss - 1000.0) < 1e-9  # mean of 0 and 2000
    gc, gr = al_np.dpo_loss_backward(big, zero, zero, zero, 1.0)
    assert np.allclose(gc, [0.0, -0.5]) and np.allclose(gr, -gc)


def test_dpo_backward_finite_differences():
    pc, pr, rc, rr = _pairs(2)
    beta = 0.7
    gc, gr = al_np.dpo_loss_backward(pc, pr, rc, rr, beta)
    check_gradient(lambda x: al_np.dpo_loss(x, pr, rc, rr, beta), pc.copy(), gc, tol=1e-7)
    check_gradient(lambda x: al_np.dpo_loss(pc, x, rc, rr, beta), pr.copy(), gr, tol=1e-7)


def test_dpo_gradient_matches_torch():
    pc, pr, rc, rr = _pairs(3)
    tc = torch.tensor(pc, requires_grad=True)
    tr = torch.tensor(pr, requires_grad=True)
    al_torch.dpo_loss(tc, tr, torch.tensor(rc), torch.tensor(rr), 0.5).backward()
    gc, gr = al_np.dpo_loss_backward(pc, pr, rc, rr, 0.5)
    assert np.abs(tc.grad.numpy() - gc).max() < 1e-8
    assert np.abs(tr.grad.numpy() - gr).max() < 1e-8


def test_dpo_rewards_parity():
    pc, pr, rc, rr = _pairs(4)
    a = al_np.dpo_rewards(pc, pr, rc, rr, 0.1)
    b = al_torch.dpo_rewards(*(torch.tensor(x) for x in (pc, pr, rc, rr)), 0.1)
    for x, y in zip(a, b, strict=True):
        assert np.abs(x - y.numpy()).max() < 1e-10
    assert np.allclose(a[0], 0.1 * (pc - rc))


@pytest.mark.parametrize("fn", ["sequence_logprob", "masked_cross_entropy"])
def test_lm_losses_parity(fn):
    logits, targets, mask = _lm_inputs()
    got_np = np.asarray(getattr(al_np, fn)(logits, targets, mask))
    z = torch.tensor(logits, requires_grad=True)
    got_t = getattr(al_torch, fn)(z, torch.tensor(targets), torch.tensor(mask))
    assert np.abs(got_np - got_t.detach().numpy()).max() < 1e-10
    got_t.sum().backward()
    if fn == "masked_cross_entropy":
        grad_np = al_np.masked_cross_entropy_backward(logits, targets, mask)
    else:
        grad_np = al_np.sequence_logprob_backward(logits, targets, mask, np.ones(B))
    assert np.abs(z.grad.numpy() - grad_np).max() < 1e-8


def test_masked_cross_entropy_is_mean_over_masked_tokens():
    logits, targets, mask = _lm_inputs(5)
    lp = al_np.token_logprobs(logits, targets)
    assert np.isclose(al_np.masked_cross_entropy(logits, targets, mask),
                      -lp[mask == 1].mean())  # fmt: skip
    full = al_np.masked_cross_entropy(logits, targets, np.ones((B, T)))
    assert not np.isclose(full, al_np.masked_cross_entropy(logits, targets, mask))


def test_lm_backward_finite_differences():
    logits, targets, mask = _lm_inputs(6)
    g = al_np.masked_cross_entropy_backward(logits, targets, mask)
    check_gradient(lambda z: al_np.masked_cross_entropy(z, targets, mask), logits.copy(), g)
    w = np.array([0.5, -1.0, 2.0])
    g = al_np.sequence_logprob_backward(logits, targets, mask, w)
    check_gradient(lambda z: float(w @ al_np.sequence_logprob(z, targets, mask)),
                   logits.copy(), g)  # fmt: skip
    assert np.all(g[mask == 0] == 0.0)


def test_extreme_logits_stay_finite():
    logits, targets, mask = _lm_inputs(7, scale=1000.0)
    assert np.isfinite(al_np.masked_cross_entropy(logits, targets, mask))
    assert np.all(np.isfinite(al_np.masked_cross_entropy_backward(logits, targets, mask)))


def test_clear_errors():
    logits, targets, mask = _lm_inputs()
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        al_np.masked_cross_entropy(logits[0], targets, mask)
    with pytest.raises(ValueError, match="targets must have shape"):
        al_np.masked_cross_entropy(logits, targets[:, :-1], mask)
    with pytest.raises(ValueError, match="no position"):
        al_np.masked_cross_entropy(logits, targets, np.zeros((B, T)))
    with pytest.raises(ValueError, match="lie in"):
        al_np.sequence_logprob(logits, targets + V, mask)
    with pytest.raises(ValueError, match="beta"):
        al_np.dpo_loss(*_pairs(), beta=-1.0)
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        al_np.dpo_loss(np.zeros(3), np.zeros(2), np.zeros(3), np.zeros(3), 0.1)
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        al_torch.dpo_loss(torch.zeros(3), torch.zeros(2), torch.zeros(3), torch.zeros(3), 0.1)
    with pytest.raises(ValueError, match="no TensorFlow|choose one of"):
        backend("tf")
