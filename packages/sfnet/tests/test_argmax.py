import math

import pytest
import torch

from sfnet.argmax import gaussian_window, hard_argmax, kernel_soft_argmax, soft_argmax
from sfnet.flow import grid_to_flow, regular_grid
from sfnet.matching import combine_correlations, correlation


def naive_kernel_soft_argmax(corr, beta, sigma, ht, wt):
    """Loop reference of (E5) for one query at a time."""
    b, _, h, w = corr.shape
    out = torch.zeros(b, h, w, 2, dtype=corr.dtype)
    xs = torch.tensor([-1 + 2 * x / (wt - 1) for x in range(wt)], dtype=corr.dtype)
    ys = torch.tensor([-1 + 2 * y / (ht - 1) for y in range(ht)], dtype=corr.dtype)
    for i in range(b):
        for y in range(h):
            for x in range(w):
                c = corr[i, :, y, x]
                q = int(c.argmax())
                qx, qy = q % wt, q // wt
                s = torch.empty_like(c)
                for j in range(ht * wt):
                    jx, jy = j % wt, j // wt
                    s[j] = math.exp(-((jx - qx) ** 2 + (jy - qy) ** 2) / (2 * sigma**2)) * c[j]
                p = torch.exp(beta * (s - s.max()))
                p = p / p.sum()
                out[i, y, x, 0] = sum(p[j] * xs[j % wt] for j in range(ht * wt))
                out[i, y, x, 1] = sum(p[j] * ys[j // wt] for j in range(ht * wt))
    return out


def _features(b=1, c=16, h=6, w=7):
    return torch.randn(b, c, h, w, dtype=torch.float64)


def test_matches_loop_reference_and_shape():
    corr = torch.rand(2, 12, 3, 5, dtype=torch.float64)
    g = kernel_soft_argmax(corr, beta=7.0, sigma=1.5, target_size=(3, 4))
    assert g.shape == (2, 3, 5, 2) and g.dtype == torch.float64
    torch.testing.assert_close(g, naive_kernel_soft_argmax(corr, 7.0, 1.5, 3, 4), atol=1e-10, rtol=0)


def test_identity_features_give_regular_grid():
    f = _features()
    c4 = correlation(f, f)
    s2t, t2s = combine_correlations(c4, c4)
    for corr in (s2t, t2s):
        g = kernel_soft_argmax(corr, beta=1e4)
        torch.testing.assert_close(g[0], regular_grid(6, 7, dtype=torch.float64), atol=1e-4, rtol=0)
        assert grid_to_flow(g).abs().max() < 1e-4


@pytest.mark.parametrize("dx,dy", [(1, 0), (0, 2), (2, -1)])
def test_shift_gives_constant_interior_flow(dx, dy):
    h, w = 8, 9
    f = _features(h=h, w=w)
    ft = torch.roll(f, shifts=(dy, dx), dims=(2, 3))  # target(q) = source(q - d): p moves to p + d
    c = correlation(f, ft)
    s2t, _ = combine_correlations(c, c)
    flow = grid_to_flow(kernel_soft_argmax(s2t, beta=1e4))
    ys = slice(max(0, -dy), h - max(0, dy))
    xs = slice(max(0, -dx), w - max(0, dx))
    assert torch.allclose(flow[0, 0, ys, xs], torch.full_like(flow[0, 0, ys, xs], 2 * dx / (w - 1)), atol=1e-3)
    assert torch.allclose(flow[0, 1, ys, xs], torch.full_like(flow[0, 1, ys, xs], 2 * dy / (h - 1)), atol=1e-3)


def test_large_beta_equals_hard_argmax_and_hard_path_runs():
    corr = torch.rand(3, 20, 4, 5, dtype=torch.float64)  # continuous values: no ties
    hard = hard_argmax(corr, target_size=(4, 5))
    assert hard.shape == (3, 4, 5, 2)
    torch.testing.assert_close(kernel_soft_argmax(corr, beta=1e4, target_size=(4, 5)), hard, atol=1e-6, rtol=0)
    torch.testing.assert_close(kernel_soft_argmax(corr, beta=None, target_size=(4, 5)), hard)


def test_hard_argmax_hand_value():
    corr = torch.zeros(1, 6, 1, 1)
    corr[0, 5, 0, 0] = 1.0  # cell (x=2, y=1) of a 2 x 3 target grid
    assert hard_argmax(corr, target_size=(2, 3))[0, 0, 0].tolist() == [1.0, 1.0]
    corr[0, 5, 0, 0] = 0.0
    corr[0, 1, 0, 0] = 1.0  # (x=1, y=0)
    assert hard_argmax(corr, target_size=(2, 3))[0, 0, 0].tolist() == [0.0, -1.0]


def test_infinite_sigma_equals_plain_soft_argmax():
    corr = torch.rand(1, 25, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(kernel_soft_argmax(corr, beta=10.0, sigma=1e9), soft_argmax(corr, beta=10.0))
    torch.testing.assert_close(kernel_soft_argmax(corr, beta=10.0, sigma=math.inf), soft_argmax(corr, beta=10.0))


def test_window_picks_the_higher_of_two_peaks():
    w = 11
    corr = torch.zeros(1, w, 1, 1, dtype=torch.float64)  # 1 x 11 target grid
    corr[0, 1] = 1.0   # higher peak at x = 1
    corr[0, 9] = 0.98  # second peak at x = 9
    plain = soft_argmax(corr, beta=50.0, target_size=(1, w))[0, 0, 0, 0]
    kern = kernel_soft_argmax(corr, beta=50.0, sigma=1.0, target_size=(1, w))[0, 0, 0, 0]
    peak = -1 + 2 * 1 / (w - 1)
    assert abs(float(kern) - peak) < 1e-3
    assert abs(float(plain) - peak) > 0.3  # the plain soft argmax averages the two peaks


def test_gaussian_window_value():
    corr = torch.zeros(1, 9, 1, 1)
    corr[0, 4] = 1.0  # centre of 3 x 3
    k = gaussian_window(corr, sigma=2.0, target_size=(3, 3)).view(3, 3)
    assert float(k[1, 1]) == 1.0
    assert abs(float(k[0, 0]) - math.exp(-2 / 8)) < 1e-6 and abs(float(k[0, 1]) - math.exp(-1 / 8)) < 1e-6


def test_gradient_flows_through_softmax_not_argmax():
    corr = torch.rand(1, 9, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: kernel_soft_argmax(c, beta=3.0, sigma=1.0, target_size=(3, 3)), (corr,))
    g = kernel_soft_argmax(corr, beta=3.0, target_size=(3, 3)).sum()
    g.backward()
    assert corr.grad is not None and corr.grad.abs().sum() > 0


def test_all_equal_volume_and_extreme_values():
    corr = torch.full((1, 16, 4, 4), 0.5)
    g = soft_argmax(corr, beta=50.0)
    assert torch.allclose(g, torch.zeros_like(g), atol=1e-6)  # uniform -> centre of the grid
    big = torch.rand(1, 16, 4, 4) * 1e4
    assert torch.isfinite(kernel_soft_argmax(big, beta=50.0)).all()


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        kernel_soft_argmax(torch.rand(1, 10, 3, 3))
    with pytest.raises(ValueError):
        kernel_soft_argmax(torch.rand(1, 9, 3, 3), sigma=0.0)
