"""Weight/activation quantizers: grids, E12 chain rule to x/l/u, clip boundary, standardization."""

import math

import pytest
import torch

from daq.functional import dasr_multiplier, num_steps, quantize_act, quantize_weight, standardize

D = torch.float64


def _params(lo, hi):
    return (torch.tensor(lo, dtype=D, requires_grad=True), torch.tensor(hi, dtype=D, requires_grad=True))


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8])
def test_eval_outputs_lie_on_the_grid_and_reach_every_level(bits):
    B = 2**bits - 1
    x = torch.linspace(-4, 4, 20001, dtype=D)
    qa = quantize_act(x, -3.5, 3.5, bits, hard=True)
    levels = torch.arange(B + 1, dtype=D) / B
    assert torch.equal(torch.unique(qa), levels)
    # weights: standardized internally; bounds in standardized units
    qw = quantize_weight(x, -1.7, 1.7, bits, hard=True)
    assert torch.allclose(torch.unique(qw), (2 * torch.arange(B + 1, dtype=D) - B) / B, atol=1e-12)
    assert qw.abs().min() > 0  # no zero level for any b


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_train_forward_equals_eval_forward(bits):
    x = torch.randn(5000, dtype=torch.float32) * 2
    for fn, lo, hi in ((quantize_act, -1.0, 2.5), (quantize_weight, -2.0, 2.2)):
        hard = fn(x, lo, hi, bits, hard=True)
        for kw in ({}, {"impl": "soft"}, {"compat": "official"}):
            soft = fn(x.clone().requires_grad_(), torch.tensor(lo, requires_grad=True),
                      torch.tensor(hi, requires_grad=True), bits, **kw)
            assert (soft - hard).abs().max() < 1e-6


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
@pytest.mark.parametrize("sigma", [1.0, 2.0])
@pytest.mark.parametrize("signed", [False, True])
def test_closed_form_equals_direct_soft_assignment_float64(bits, sigma, signed):
    g = torch.Generator().manual_seed(bits)
    x0 = torch.randn(4000, dtype=D, generator=g) * 1.5
    up = torch.randn(4000, dtype=D, generator=g)
    fn = quantize_weight if signed else quantize_act
    grads = []
    for impl in ("soft", "closed_form"):
        x = x0.clone().requires_grad_()
        lo, hi = _params(-1.3, 1.9)
        y = fn(x, lo, hi, bits, 2.0, sigma, impl=impl)
        grads.append(torch.autograd.grad((y * up).sum(), [x, lo, hi]))
    for a, b in zip(*grads):
        assert torch.allclose(b, a, rtol=1e-5, atol=1e-12 * a.abs().max().item())


def test_bounds_gradients_closed_form_and_clipped_elements_contribute_nothing():
    bits, B = 2, 3
    lo, hi = _params(-1.0, 2.0)
    x = torch.tensor([-5.0, -0.7, 0.1, 0.9, 1.6, 7.0], dtype=D, requires_grad=True)
    q = quantize_act(x, lo, hi, bits)
    q.sum().backward()
    t = B * (x.detach() - lo.detach()) / (hi.detach() - lo.detach())
    inside = (t >= 0) & (t <= B)
    m = dasr_multiplier(t.clamp(0, B), 2.0, 2.0) / B * inside
    w = hi.detach() - lo.detach()
    assert torch.allclose(x.grad, m * B / w)
    assert hi.grad.item() == pytest.approx((m * (-t / w)).sum().item(), rel=1e-12)
    assert lo.grad.item() == pytest.approx((m * ((t - B) / w)).sum().item(), rel=1e-12)
    assert x.grad[0] == 0 and x.grad[-1] == 0
    # moving the outliers further away does not change the bound gradients (unlike PACT/LSQ)
    lo2, hi2 = _params(-1.0, 2.0)
    x2 = x.detach().clone()
    x2[0], x2[-1] = -500.0, 700.0
    quantize_act(x2, lo2, hi2, bits).sum().backward()
    assert hi2.grad.item() == pytest.approx(hi.grad.item(), rel=1e-12)
    assert lo2.grad.item() == pytest.approx(lo.grad.item(), rel=1e-12)


@pytest.mark.parametrize("impl", ["closed_form", "soft"])
def test_clip_boundary_is_inclusive(impl):
    lo, hi = _params(0.0, 3.0)
    x = torch.tensor([0.0, 3.0], dtype=D, requires_grad=True)  # t exactly 0 and B (bits=2: B = 3)
    quantize_act(x, lo, hi, 2, impl=impl).sum().backward()
    expected = dasr_multiplier(torch.tensor([0.0, 0.0], dtype=D), 2.0, 2.0) / 3 * (3 / 3.0)
    assert torch.allclose(x.grad, expected)
    assert hi.grad.item() != 0.0  # t = B contributes -B/(u-l) * m / B
    # torch.clamp would give 0 at the bounds under PyTorch >= 2.14: our mask does not rely on it
    y = torch.tensor([0.0, 3.0], dtype=D, requires_grad=True)
    y.clamp(0.0, 3.0).sum().backward()
    if y.grad.eq(0).all():
        assert x.grad.ne(0).all()


def test_standardization_is_per_tensor_unbiased_and_detached():
    w = torch.randn(4, 3, 3, 3, dtype=D, requires_grad=True)
    z = standardize(w)
    assert z.mean().item() == pytest.approx(0.0, abs=1e-12)
    assert z.std(unbiased=True).item() == pytest.approx(1.0, rel=1e-12)
    assert z.std(unbiased=False).item() != pytest.approx(1.0, rel=1e-6)
    g = torch.randn_like(w)
    (gw,) = torch.autograd.grad((z * g).sum(), w)
    assert torch.allclose(gw, g / w.detach().std())  # no gradient through mean/std
    # per-tensor, not per-channel
    assert z[0].mean().abs().item() > 1e-6 or z[1].mean().abs().item() > 1e-6


def test_weight_gradient_chain_rule():
    w = torch.randn(200, dtype=D, requires_grad=True)
    lo, hi = _params(-2.0, 2.5)
    bits, B = 3, 7
    quantize_weight(w, lo, hi, bits).sum().backward()
    x = (w.detach() - w.detach().mean()) / w.detach().std()
    t = B * (x - lo.detach()) / (hi.detach() - lo.detach())
    inside = (t >= 0) & (t <= B)
    expected = dasr_multiplier(t.clamp(0, B), 2.0, 1.0) * (2 / B) * (B / 4.5) / w.detach().std() * inside
    assert torch.allclose(w.grad, expected, rtol=1e-12)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.0, 3.0])
def test_edge_cases_finite(sigma):
    cases = [torch.zeros(0), torch.full((50,), 1.5), torch.zeros(50), torch.tensor([-1e4, 0.3, 1e4, 2.0])]
    for x in cases:
        for fn in (quantize_act, quantize_weight):
            xx = x.clone().requires_grad_()
            lo, hi = torch.tensor(-1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)
            y = fn(xx, lo, hi, 2, 2.0, sigma)
            y.sum().backward()
            assert torch.isfinite(y).all() and torch.isfinite(xx.grad).all()
            assert torch.isfinite(lo.grad) and torch.isfinite(hi.grad)


def test_official_compat_nan_at_sigma_8_default_finite():
    x = torch.rand(4000) * 3
    assert torch.isnan(quantize_act(x.requires_grad_(), 0.0, 3.0, 2, 2.0, 8.0, compat="official")).any()
    assert torch.isfinite(quantize_act(x, 0.0, 3.0, 2, 2.0, 8.0)).all()


def test_bad_bits():
    assert num_steps(1) == 1 and num_steps(4) == 15
    for bad in (0, -1, 2.5, True, 17):
        with pytest.raises(ValueError):
            num_steps(bad)
    assert math.isclose(quantize_act(torch.tensor([1.0]), 0.0, 1.0, 1).item(), 1.0)
