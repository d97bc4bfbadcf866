"""DASR discretizer: ties, no quantizer gap, E12 closed form, finite differences, beta limit."""

import math

import pytest
import torch

from daq.functional import (
    controller_beta,
    dasr,
    dasr_multiplier,
    dasr_soft,
    hard_round,
    kernel_constant,
)

D = torch.float64


def _grid(n=2001, top=3.0):
    return torch.linspace(0.0, top, n, dtype=D)


def test_shape_dtype_and_hard_values():
    t = torch.rand(3, 4, 5) * 7
    for compat in ("default", "official"):
        y = dasr(t, compat=compat)
        assert y.shape == t.shape and y.dtype == t.dtype
        assert torch.allclose(y, torch.floor(t) + (t - torch.floor(t) > 0.5).float(), atol=1e-5)


@pytest.mark.parametrize("compat", ["default", "official"])
def test_ties_go_to_the_lower_level(compat):
    t = torch.tensor([0.5, 1.5, 2.5], dtype=D)
    assert dasr(t, compat=compat).tolist() == pytest.approx([0.0, 1.0, 2.0], abs=1e-9)
    assert hard_round(t).tolist() == [0.0, 1.0, 2.0]
    # round-half-to-even of t would give 0, 2, 2: this is a different rule
    assert torch.round(t).tolist() != hard_round(t).tolist()


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0, 8.0])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.0])
def test_no_quantizer_gap(gamma, sigma):
    t = _grid(4001, 7.0)
    soft = dasr_soft(t, gamma, sigma)
    assert (soft - hard_round(t)).abs().max() < 1e-6
    assert torch.equal(dasr(t, gamma, sigma), hard_round(t))


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_closed_form_gradient_equals_autograd_of_soft_path(gamma, sigma):
    t = (_grid(3001, 3.0) + 1e-4).requires_grad_()
    (g_soft,) = torch.autograd.grad(dasr_soft(t, gamma, sigma).sum(), t)
    (g_cf,) = torch.autograd.grad(dasr(t, gamma, sigma).sum(), t)
    rel = ((g_cf - g_soft).abs() / g_soft.abs()).max()
    assert rel < 1e-5
    # the formula K (s_n + s_o)/(s_n - s_o) written from the distances directly
    f = t.detach() - torch.floor(t.detach())
    dn = torch.minimum(f, 1 - f)
    sn, so = torch.exp(-dn), math.exp(-1 / sigma**2) * torch.exp(-(1 - dn))
    assert torch.allclose(g_cf, kernel_constant(gamma) * (sn + so) / (sn - so), rtol=1e-12)


def test_default_multiplier_ranges():
    f = torch.linspace(0, 0.5, 50001, dtype=D)  # sup reached as f -> 0.5 (d_n = 0.5)
    m1, m2 = dasr_multiplier(f, 2.0, 1.0), dasr_multiplier(f, 2.0, 2.0)
    # spec prints K(2) = 0.275717; the exact value 2 e^2 / (e^4 - 1) is 0.2757206
    assert kernel_constant(2.0) == pytest.approx(2 * math.exp(2) / (math.exp(4) - 1), rel=1e-12)
    assert kernel_constant(2.0) == pytest.approx(0.27572, abs=1e-5)
    assert m1.min().item() == pytest.approx(0.3620, abs=1e-4) and m1.max().item() == pytest.approx(0.5967, abs=1e-4)
    assert m2.min().item() == pytest.approx(0.4972, abs=1e-4) and m2.max().item() == pytest.approx(2.2172, abs=1e-4)
    assert torch.all(m1[1:] >= m1[:-1])  # rises towards the decision threshold
    # symmetric about f = 0.5
    assert torch.allclose(dasr_multiplier(0.5 - f[1:], 2.0, 2.0), dasr_multiplier(0.5 + f[1:], 2.0, 2.0))


def test_kernel_constant_limits():
    assert kernel_constant(1e-6) == pytest.approx(0.5, abs=1e-9)
    assert kernel_constant(50.0) < 1e-15
    g = 1.3
    assert kernel_constant(g) == pytest.approx(g * math.exp(g) / (math.exp(2 * g) - 1), rel=1e-12)


def test_abs_derivative_is_plus_one_at_zero():
    # at f = 0 (n = 0): d d_0/df = +1 gives the multiplier K (1 + e^{-1-1/s^2}) / (1 - e^{-1-1/s^2})
    t = torch.tensor([0.0, 1.0, 2.0], dtype=D, requires_grad=True)
    (g,) = torch.autograd.grad(dasr_soft(t, 2.0, 1.0).sum(), t)
    r = math.exp(-2.0)
    assert torch.allclose(g, torch.full_like(g, kernel_constant(2.0) * (1 + r) / (1 - r)))


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_finite_differences_of_unrounded_output(sigma):
    """Central differences of sum_j q~_j p_j w.r.t. f with beta* frozen match E12."""
    gamma = 2.0
    f = torch.tensor([0.05, 0.2, 0.37, 0.49, 0.51, 0.66, 0.93], dtype=D)
    h = 1e-6
    n = (f > 0.5).to(D)
    kappa = math.exp(-1 / sigma**2)

    def scores(ff):
        dn = (ff - n).abs()
        return torch.exp(-dn), kappa * torch.exp(-(1 - dn))

    sn, so = scores(f)
    beta = gamma / (sn - so)
    c = 1 / math.expm1(gamma)

    def y(ff):
        a, b = scores(ff)  # s_n, s_o
        s1 = torch.where(n > 0, a, b)
        s0 = torch.where(n > 0, b, a)
        p1 = torch.sigmoid(beta * (s1 - s0))
        return -c * (1 - p1) + (1 + c) * p1

    fd = (y(f + h) - y(f - h)) / (2 * h)
    assert torch.allclose(fd, dasr_multiplier(f, gamma, sigma), rtol=1e-7)


def test_gradcheck_soft_path_float64():
    """gradcheck of the soft assignment with beta* frozen at the evaluation point (E12 derivation)."""
    t = torch.tensor([0.1, 0.3, 0.45, 0.7, 1.2, 1.8, 2.35], dtype=D, requires_grad=True)
    for sigma in (1.0, 2.0):
        beta = controller_beta(t.detach(), 2.0, sigma)
        assert torch.autograd.gradcheck(lambda x, s=sigma, b=beta: dasr_soft(x, 2.0, s, beta=b), (t,), eps=1e-6, atol=1e-7)
        # and its analytic derivative at that point is the closed form of dasr()
        (g,) = torch.autograd.grad(dasr_soft(t, 2.0, sigma, beta=beta).sum(), t)
        assert torch.allclose(g, dasr_multiplier(t.detach(), 2.0, sigma), rtol=1e-10)
    assert torch.autograd.gradcheck(lambda x: dasr_soft(x, 2.0, 1.0, beta=7.0, rescale=False), (t,), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("sigma, beta_ok", [(1.0, 40.0), (2.0, 110.0)])
def test_beta_to_infinity_tends_to_hard_rounding(sigma, beta_ok):
    t = _grid(2001, 1.0)[:-1]
    f = t
    n = (f > 0.5).to(D)
    dn = torch.minimum(f, 1 - f)
    gap = torch.exp(-dn) - math.exp(-1 / sigma**2) * torch.exp(-(1 - dn))
    errs = []
    for beta in (1.0, 5.0, 20.0, beta_ok):
        err = (dasr_soft(t, 2.0, sigma, beta=beta, rescale=False) - n).abs()
        assert torch.allclose(err, 1 / (1 + torch.exp(beta * gap)), rtol=1e-9, atol=1e-15)
        errs.append(err)
    for a, b in zip(errs, errs[1:]):
        assert torch.all(b < a)
    assert errs[-1].max() < 1e-6
    assert errs[-2].max() > 1e-6  # beta = 20 is not yet enough


@pytest.mark.parametrize("gamma", [0.5, 1.0, 4.0, 8.0])
def test_controller_output_within_1e6_of_hard(gamma):
    t = _grid(5001, 5.0)
    assert (dasr_soft(t, gamma, 2.0) - hard_round(t)).abs().max() < 1e-6


def test_official_nan_for_large_sigma_default_is_finite():
    t = (torch.rand(2000, dtype=torch.float32) * 3).requires_grad_()
    y = dasr(t, 2.0, 8.0, compat="official")
    assert torch.isnan(y).any()
    y = dasr(t, 2.0, 8.0)
    (g,) = torch.autograd.grad(y.sum(), t)
    assert torch.isfinite(y).all() and torch.isfinite(g).all()


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_constants_raise(bad):
    with pytest.raises(ValueError):
        dasr(torch.zeros(3), sigma=bad)
    with pytest.raises(ValueError):
        dasr(torch.zeros(3), gamma=bad)
    with pytest.raises(ValueError):
        dasr(torch.zeros(3), compat="nope")


def test_empty_input():
    t = torch.zeros(0, requires_grad=True)
    for compat in ("default", "official"):
        y = dasr(t, compat=compat)
        assert y.shape == (0,)
        y.sum().backward()
