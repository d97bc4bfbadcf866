"""cvcore.reid.losses: batch-hard triplet and cross entropy against brute force / torch."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from cvcore.reid import TripletLoss, batch_hard_triplet_loss, cross_entropy


def _brute(f, y, margin, eps, soft=False):
    f = f.double()
    n = len(y)
    total = 0.0
    for i in range(n):
        dp, dn = -1.0, float("inf")
        for j in range(n):
            d = max(float((f[i] - f[j]).pow(2).sum()), eps) ** 0.5
            if y[i] == y[j]:
                dp = max(dp, d)
            else:
                dn = min(dn, d)
        x = dp - dn
        total += float(F.softplus(torch.tensor(x, dtype=torch.float64))) if soft else max(0.0, x + margin)
    return total / n


@pytest.mark.parametrize("soft", [False, True])
def test_triplet_equals_brute_force(soft):
    g = torch.Generator().manual_seed(0)
    f = torch.randn(12, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 0])
    for margin, eps in itertools.product((0.3, 1.2), (1e-12, 1e-16)):
        got = batch_hard_triplet_loss(f, y, margin, eps, soft)
        assert float(got) == pytest.approx(_brute(f, y, margin, eps, soft), rel=1e-9)
    assert float(TripletLoss(0.3)(f, y)) == pytest.approx(_brute(f, y, 0.3, 1e-12), rel=1e-9)


def test_triplet_zero_when_separated_and_grad_finite():
    f = torch.tensor([[0.0, 0], [0.1, 0], [10, 0], [10.1, 0]], requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    assert float(batch_hard_triplet_loss(f, y, 1.0).detach()) == 0.0
    f2 = torch.tensor([[1.0, 2], [1.0, 2], [1.0, 2.5], [3, 1]], requires_grad=True)  # two coincide
    loss = batch_hard_triplet_loss(f2, torch.tensor([0, 0, 1, 1]), 1.2)
    loss.backward()
    assert torch.isfinite(f2.grad).all() and loss > 0
    with pytest.raises(ValueError, match="negative"):
        batch_hard_triplet_loss(torch.randn(3, 2), torch.tensor([1, 1, 1]))


def test_cross_entropy():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(6, 5, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    assert float(cross_entropy(z, y)) == pytest.approx(float(F.cross_entropy(z, y)), rel=1e-12)
    eps, c = 0.1, 5
    t = torch.full((6, c), eps / c, dtype=torch.float64)
    t[torch.arange(6), y] += 1 - eps
    hand = -(t * torch.log_softmax(z, 1)).sum(1).mean()
    assert float(cross_entropy(z, y, 0.1)) == pytest.approx(float(hand), rel=1e-12)
    with pytest.raises(ValueError):
        cross_entropy(z, y, 1.5)
