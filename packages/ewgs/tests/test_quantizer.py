"""E1 (inclusive clip), E3 maps and E5 bound gradients, E9 init rules."""

import math

import pytest
import torch

from ewgs.errors import QuantizationError
from ewgs.functional import quantize_act, quantize_weight
from ewgs.quant.quantizer import init_act_bounds, init_weight_bounds, normalize


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8])
def test_output_grids(bits):
    B = 2**bits - 1
    w = torch.randn(4000, dtype=torch.float64) * 2
    qw = quantize_weight(w, -1.5, 1.5, bits)
    codes = (qw + 1) / 2 * B
    torch.testing.assert_close(codes, codes.round(), rtol=0, atol=1e-9)
    assert qw.min() == -1 and qw.max() == 1 and len(codes.round().unique()) == B + 1
    if bits == 1:
        assert set(qw.tolist()) == {-1.0, 1.0}
    qa = quantize_act(w.abs(), 0.0, 2.0, bits)
    assert qa.min() == 0 and qa.max() == 1
    torch.testing.assert_close(qa * B, (qa * B).round(), rtol=0, atol=1e-9)


def test_bound_gradients_closed_form():
    torch.manual_seed(0)
    x = torch.randn(300, dtype=torch.float64) * 1.5
    x[:3] = torch.tensor([-1.0, 2.0, 0.5], dtype=torch.float64)  # exactly on l, exactly on u
    x.requires_grad_(True)
    lo = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    hi = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    g = torch.randn(300, dtype=torch.float64)
    delta = 0.3
    y = quantize_act(x, lo, hi, 2, delta)
    gx, gl, gu = torch.autograd.grad(y, (x, lo, hi), g)
    xd = x.detach()
    t = (xd + 1) / 3
    inside = (t >= 0) & (t <= 1)
    xn = t.clamp(0, 1)
    xq = torch.round(xn * 3) / 3
    gn = g * (1 + delta * torch.sign(g) * (xn - xq)) * inside
    torch.testing.assert_close(gx, gn / 3)
    torch.testing.assert_close(gu, (gn * -xn / 3).sum())
    torch.testing.assert_close(gl, (gn * (xn - 1) / 3).sum())
    # the elements exactly on a bound contribute (inclusive convention)
    assert gx[0] != 0 and gx[1] != 0
    assert (gx[~inside] == 0).all() and (~inside).any()


def test_weight_map_gradient_is_two():
    w = torch.tensor([0.1, -0.3], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(quantize_weight(w, -1.0, 1.0, 2).sum(), w)
    # dQ_W/dx_q = 2, dx_n/dw = 1/(u-l) = 1/2
    torch.testing.assert_close(g, torch.ones(2, dtype=torch.float64))


def test_normalize_forward_equals_clamp():
    x = torch.randn(100) * 3
    torch.testing.assert_close(normalize(x, torch.tensor(-1.0), torch.tensor(1.0)), ((x + 1) / 2).clamp(0, 1),
                               rtol=0, atol=0)


def test_init_rules():
    w = torch.randn(5, 4, 3, 3, dtype=torch.float64)
    lo, hi = init_weight_bounds(w)
    assert hi == pytest.approx(3 * float(w.std(unbiased=True))) and lo == -hi
    a = torch.relu(torch.randn(8, 4, 5, 5, dtype=torch.float64))
    lo, hi = init_act_bounds(a)
    assert lo == float(a.min()) == 0.0
    assert hi == pytest.approx(3 * float(a.std()) / math.sqrt(1 - 2 / math.pi))


def test_init_edge_cases():
    with pytest.raises(QuantizationError):
        init_act_bounds(torch.empty(0))
    with pytest.raises(QuantizationError):
        init_act_bounds(torch.tensor([1.0, float("nan")]))
    with pytest.raises(QuantizationError):
        init_weight_bounds(torch.ones(3, 3))
    with pytest.raises(QuantizationError):
        init_weight_bounds(torch.tensor([1.0, float("inf")]))
    lo, hi = init_act_bounds(torch.zeros(10))  # all-equal activations: guarded, finite, u > l
    assert (lo, hi) == (0.0, 1.0)
    lo, hi = init_act_bounds(torch.full((10,), 5.0) + torch.linspace(0, 1e-3, 10))
    assert math.isfinite(hi) and hi > lo
    big = torch.tensor([0.0, 1e30, 3e30])
    lo, hi = init_act_bounds(big)
    assert math.isfinite(hi) and hi > lo


@pytest.mark.parametrize("delta, backward", [(0.0, "ewgs"), (0.4, "ewgs"), (0.4, "ste"), (1e-3, "ewgs")])
def test_fused_quantizer_equals_composition(delta, backward):
    from ewgs.functional import ewgs_round

    x = torch.randn(2, 3, 7, 7, dtype=torch.float64) * 2
    x[0, 0, 0, :2] = torch.tensor([-1.0, 1.5], dtype=torch.float64)  # on the bounds
    g = torch.randn_like(x)
    outs = []
    for fused in (True, False):
        xx = x.clone().requires_grad_(True)
        lo = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
        hi = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        if fused:
            y = quantize_act(xx, lo, hi, 3, delta, backward=backward)
        else:
            y = ewgs_round(normalize(xx, lo, hi), 3, delta, backward=backward)
        outs.append((y, *torch.autograd.grad(y, (xx, lo, hi), g)))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
