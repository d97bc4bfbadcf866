import pytest
import torch

from gzs3.calibration import (
    apollonius_calibration,
    apollonius_sphere,
    calibrated_stacking,
    nearest_prototype,
)


def brute_top2(d, unseen, sigma):
    """Per-pixel loop of E13."""
    B, K, H, W = d.shape
    out = torch.empty(B, H, W, dtype=torch.long)
    for b in range(B):
        for i in range(H):
            for j in range(W):
                col = d[b, :, i, j].tolist()
                order = sorted(range(K), key=lambda c: (col[c], c))
                c1, c2 = order[0], order[1]
                d1 = col[c1] * (sigma if unseen[c1] else 1.0)
                d2 = col[c2] * (sigma if unseen[c2] else 1.0)
                out[b, i, j] = c2 if d2 < d1 else c1
    return out


def test_top2_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    d = torch.rand(2, 21, 6, 7, generator=g, dtype=torch.float64)
    unseen = torch.zeros(21, dtype=torch.bool)
    unseen[[1, 5, 8, 10, 14, 18]] = True
    for sigma in (0.3, 0.5, 0.8):
        got = apollonius_calibration(d, unseen, sigma)
        assert got.shape == (2, 6, 7) and got.dtype == torch.long
        assert torch.equal(got, brute_top2(d, unseen.tolist(), sigma))
    full = apollonius_calibration(d, unseen, 0.5, mode="full")
    assert (full != apollonius_calibration(d, unseen, 0.5)).any()  # the two modes differ


def test_sigma_one_is_nearest_and_crafted_3_class_case():
    d = torch.rand(1, 5, 4, 4)
    mask = torch.tensor([False, True, False, True, False])
    assert torch.equal(apollonius_calibration(d, mask, 1.0), nearest_prototype(d))
    # seen c0 nearest, seen c1 second, unseen c2 third with sigma*d2 < d0
    d = torch.tensor([1.0, 1.2, 1.5]).view(1, 3, 1, 1)
    m = torch.tensor([False, False, True])
    assert apollonius_calibration(d, m, 0.5, "top2").item() == 0
    assert apollonius_calibration(d, m, 0.5, "full").item() == 2


def test_flip_exactly_at_ratio():
    m = torch.tensor([False, True])
    for ratio in (0.3, 0.49, 0.51, 0.9):
        d = torch.tensor([ratio, 1.0]).view(1, 2, 1, 1)  # d_s / d_u = ratio
        assert apollonius_calibration(d, m, 0.5).item() == (1 if ratio > 0.5 else 0)
    # unseen nearest stays unseen, both-unseen stays nearest
    assert apollonius_calibration(torch.tensor([2.0, 1.0]).view(1, 2, 1, 1), m, 0.5).item() == 1
    mu = torch.tensor([True, True])
    assert apollonius_calibration(torch.tensor([1.0, 1.5]).view(1, 2, 1, 1), mu, 0.5).item() == 0


def test_sphere_geometry():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    for sigma in (0.3, 0.5, 0.7):
        c, r = apollonius_sphere(a, b, sigma)
        u = torch.randn(200, 8, generator=g, dtype=torch.float64)
        u = u / u.norm(dim=1, keepdim=True)
        on = c + r * u
        ratio = ((on - a) ** 2).sum(1) / ((on - b) ** 2).sum(1)
        assert torch.allclose(ratio, torch.full_like(ratio, sigma), atol=1e-5)
        protos = torch.stack([a, b])
        mask = torch.tensor([False, True])
        for scale, expect in ((0.9, 0), (1.1, 1)):
            x = c + scale * r * u
            d = ((x[:, None, :] - protos[None]) ** 2).sum(-1).T[None, :, :, None]  # (1, 2, N, 1)
            assert (apollonius_calibration(d, mask, sigma) == expect).all()
        assert ((a - c).norm() < r)  # the seen prototype is inside
    with pytest.raises(ValueError):
        apollonius_sphere(a, b, 1.0)


def test_stacking():
    d = torch.tensor([1.0, 1.3, 2.0]).view(1, 3, 1, 1)
    seen = torch.tensor([True, False, False])
    assert calibrated_stacking(d, seen, 0.0).item() == 0
    assert calibrated_stacking(d, seen, 0.29).item() == 0
    assert calibrated_stacking(d, seen, 0.31).item() == 1
    assert calibrated_stacking(d, seen, 5.0).item() == 1
    with pytest.raises(ValueError):
        calibrated_stacking(d, torch.tensor([True, False]), 0.1)
