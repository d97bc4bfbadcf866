import numpy as np
import pytest
import torch
from torch import nn

from gzs3.losses import BoundaryAwareRegression, JoEmLoss, SemanticConsistency, virtual_prototypes


def linear(ds, d, seed=0):
    torch.manual_seed(seed)
    g = nn.Linear(ds, d).double()
    return g


def test_ratio_one_is_center_loss_bruteforce():
    K, ds, D = 4, 5, 3
    emb = torch.randn(K, ds, dtype=torch.float64)
    g = linear(ds, D)
    labels = torch.randint(0, K, (2, 16, 16))
    labels[0, :3, :5] = 255
    feats = torch.randn(2, D, 4, 4, dtype=torch.float64)
    loss = BoundaryAwareRegression(ratio=1.0)(feats, labels, emb, g)
    total, count = 0.0, 0
    for b in range(2):
        for i in range(4):
            for j in range(4):
                y = int(labels[b, i * 4, j * 4])  # nearest: source index floor(i * 16 / 4)
                if y == 255:
                    continue
                mu = g(emb[y]).detach()
                total += float(((feats[b, :, i, j] - mu) ** 2).sum())
                count += 1
    assert loss.item() == pytest.approx(total / (count * D), rel=1e-10)


def test_constant_coarse_map_gives_prototype():
    emb = torch.randn(3, 4, dtype=torch.float64)
    g = linear(4, 2)
    labels = torch.full((1, 32, 32), 2)
    t = virtual_prototypes(labels, emb, g, (8, 8), 0.25)
    assert t.shape == (1, 2, 8, 8)
    torch.testing.assert_close(t, g(emb[2]).view(1, 2, 1, 1).expand(1, 2, 8, 8))


def _bilinear_weights(n_in, n_out):
    """align_corners=False 1-D bilinear interpolation matrix, written independently."""
    W = np.zeros((n_out, n_in))
    scale = n_in / n_out
    for o in range(n_out):
        src = max((o + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(np.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        W[o, i0] += 1 - lam
        W[o, i1] += lam
    return W


def test_vertical_boundary_convex_combination():
    emb = torch.randn(2, 4, dtype=torch.float64)
    g = linear(4, 3)
    labels = torch.zeros(1, 32, 32, dtype=torch.long)
    labels[..., 16:] = 1  # vertical boundary in the middle
    t = virtual_prototypes(labels, emb, g, (8, 8), 0.25)  # coarse 2x2: [[0, 1], [0, 1]]
    W = _bilinear_weights(2, 8)  # per column weight on coarse column 0 / 1
    mu = g(emb).detach().numpy()  # (2, 3)
    expect = W @ mu  # (8, 3): column j = w0 mu0 + w1 mu1
    for i in range(8):
        np.testing.assert_allclose(t[0, :, i, :].detach().numpy().T, expect, atol=1e-12)
    assert np.allclose(W.sum(1), 1) and (W >= 0).all() and 0 < W[3, 0] < 1


def test_ignore_cells_use_bias_and_are_masked():
    emb = torch.randn(2, 4, dtype=torch.float64)
    g = linear(4, 3)
    labels = torch.full((1, 16, 16), 255)
    t = virtual_prototypes(labels, emb, g, (4, 4), 0.25)  # coarse 1x1 ignore cell -> g(0) = b
    torch.testing.assert_close(t, g.bias.detach().view(1, 3, 1, 1).expand(1, 3, 4, 4))
    feats = torch.randn(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    loss = BoundaryAwareRegression(1.0)(feats, labels, emb, g)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.count_nonzero(feats.grad) == 0
    # half-ignored map: mean only over the kept half, over pixels x channels
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[..., 4:] = 255
    feats = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    loss = BoundaryAwareRegression(1.0)(feats, labels, emb, g)
    mu0 = g(emb[0]).detach()
    assert loss.item() == pytest.approx(float((mu0 ** 2).mean()), rel=1e-10)


def test_bar_gradients_reach_features_and_encoder_not_embeddings():
    emb = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    g = linear(4, 2)
    labels = torch.randint(0, 3, (2, 16, 16))
    feats = torch.randn(2, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    BoundaryAwareRegression(0.25)(feats, labels, emb, g).backward()
    assert feats.grad.abs().sum() > 0 and g.weight.grad.abs().sum() > 0
    assert emb.grad is None
    with pytest.raises(ValueError):
        BoundaryAwareRegression(0.25)(feats, torch.full((2, 16, 16), 7), emb, g)


def sc_numpy(s, mu, tau, rows_sq, eps=0.0):
    n = len(s)
    ds = np.sqrt(((s[:, None] - s[None]) ** 2).sum(-1))
    dm = np.sqrt(((mu[:, None] - mu[None]) ** 2).sum(-1) + eps)
    R = np.exp(-tau * ds)
    R /= R.sum(1, keepdims=True)
    Rh = np.exp(-dm)
    Rh /= Rh.sum(1, keepdims=True)
    if rows_sq:
        return sum((R[i] * (np.log(R[i]) - np.log(Rh[i]))).sum() / n for i in range(n)) / n
    return (R * (np.log(R) - np.log(Rh))).sum() / n


def test_sc_matches_numpy_both_forms():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(6, 5))
    mu = rng.normal(size=(6, 3))
    classes = [1, 2, 3, 4, 5]
    S, M = torch.from_numpy(s), torch.from_numpy(mu)
    a = SemanticConsistency(5.0, "rows")(S, M, classes).item()
    b = SemanticConsistency(7.0, "rows_sq", eps=1e-8)(S, M, classes).item()
    assert a == pytest.approx(sc_numpy(s[1:], mu[1:], 5.0, False), rel=1e-9)
    assert b == pytest.approx(sc_numpy(s[1:], mu[1:], 7.0, True, 1e-8), rel=1e-7)
    c = SemanticConsistency(5.0, "rows_sq")(S, M, classes).item()
    assert a == pytest.approx(c * 5, rel=1e-9)  # the reductions differ by the factor n


def test_sc_zero_for_scaled_word_vectors_and_positive_otherwise():
    s = torch.randn(5, 4, dtype=torch.float64)
    sc = SemanticConsistency(5.0)
    assert sc(s, 5.0 * s, [1, 2, 3, 4]).item() == pytest.approx(0.0, abs=1e-12)
    assert sc(s, torch.randn(5, 3, dtype=torch.float64), [1, 2, 3, 4]).item() > 1e-4
    # background (row 0) is excluded: changing it changes nothing
    s2, mu = s.clone(), torch.randn(5, 3, dtype=torch.float64)
    s2[0] += 10
    mu2 = mu.clone()
    mu2[0] -= 3
    assert sc(s, mu, [1, 2, 3, 4]).item() == sc(s2, mu2, [1, 2, 3, 4]).item()
    assert sc(s, mu, [3]).item() == 0.0


def test_sc_gradient_only_into_prototypes():
    s = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    SemanticConsistency(5.0)(s, mu, [1, 2, 3, 4]).backward()
    assert s.grad is None and torch.isfinite(mu.grad).all() and mu.grad[1:].abs().sum() > 0
    assert mu.grad[0].abs().sum() == 0
    f = lambda m: SemanticConsistency(5.0, "rows_sq", eps=1e-8)(s.detach(), m, [1, 2, 3, 4])  # noqa: E731
    assert torch.autograd.gradcheck(f, (mu.detach().clone().requires_grad_(),))


def test_joem_loss_sum():
    K, ds, D = 4, 6, 3
    emb = torch.randn(K, ds, dtype=torch.float64)
    g = linear(ds, D)
    labels = torch.randint(0, K, (2, 16, 16))
    labels[:, 0] = 255
    feats = torch.randn(2, D, 4, 4, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(2, K, 16, 16, dtype=torch.float64, requires_grad=True)
    loss = JoEmLoss(ratio=0.25, temperature=5.0, alpha=0.1)
    total, parts = loss(logits, feats, labels, emb, g, [1, 2, 3])
    ce = torch.nn.functional.cross_entropy(logits, labels, ignore_index=255)
    bar = BoundaryAwareRegression(0.25)(feats, labels, emb, g)
    sc = SemanticConsistency(5.0)(emb, g(emb), [1, 2, 3])
    assert total.item() == pytest.approx((bar + ce + 0.1 * sc).item(), rel=1e-10)
    assert set(parts) == {"bar", "ce", "sc"}
    total.backward()
    assert logits.grad is not None and feats.grad is not None
    t0, p0 = JoEmLoss(alpha=0.0)(logits, feats, torch.full_like(labels, 255), emb, g, [1, 2, 3])
    assert t0.item() == 0.0 and p0["sc"].item() == 0.0
