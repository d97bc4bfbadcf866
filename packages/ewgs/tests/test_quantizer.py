"""E1 (inclusive clip), E3 maps and E5 bound gradients, E9 init rules."""

import math

import pytest
import torch
from ewgs_fused_reference import ReferenceFused as _ReferenceFused

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


def _run_fused(fn, x, lo, hi, bits, delta, ewgs, g, grads=(True, True)):
    xx = x.clone().requires_grad_(grads[0])
    lo_t = torch.tensor(lo, dtype=x.dtype, requires_grad=grads[1])
    hi_t = torch.tensor(hi, dtype=x.dtype, requires_grad=grads[1])
    y = fn(xx, lo_t, hi_t, 2**bits - 1, torch.tensor(delta, dtype=x.dtype), ewgs)
    inputs = [t for t in (xx, lo_t, hi_t) if t.requires_grad]
    return (y, *torch.autograd.grad(y, inputs, g(y) if callable(g) else g))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("delta", [0.0, 1e-3, 0.5])
@pytest.mark.parametrize("ewgs_backward", [True, False])
@pytest.mark.parametrize("bits", [1, 2, 4])
def test_fused_quantizer_bit_identical_to_reference(dtype, delta, ewgs_backward, bits):
    from ewgs.quant.quantizer import FusedQuantizer

    gen = torch.Generator().manual_seed(bits * 100 + int(delta * 1000))
    x = torch.randn(3, 5, 11, 13, generator=gen, dtype=dtype) * 1.5
    flat = x.view(-1)
    flat[:4] = torch.tensor([-1.0, 1.5, -1.0, 1.5], dtype=dtype)  # exactly on both bounds
    flat[4:8] = -1.0 + 2.5 * torch.tensor([0.5, 1.5, 2.5, 1.0], dtype=dtype) / (2**bits - 1)  # rounding ties
    g = torch.randn(x.shape, generator=gen, dtype=dtype)
    g.view(-1)[10:30] = 0.0
    g.view(-1)[30:35] = -0.0
    for grads in ((True, True), (True, False), (False, True)):
        ref = _run_fused(_ReferenceFused.apply, x, -1.0, 1.5, bits, delta, ewgs_backward, g, grads)
        new = _run_fused(FusedQuantizer.apply, x, -1.0, 1.5, bits, delta, ewgs_backward, g, grads)
        assert len(ref) == len(new)
        for a, b in zip(ref, new):
            assert a.dtype == b.dtype and torch.equal(a, b)
    # expanded gradient (as from .sum().backward()), channels-last input, channels-last gradient
    for xin, gg in ((x, lambda y: torch.ones((), dtype=dtype).expand_as(y)),
                    (x.to(memory_format=torch.channels_last), g),
                    (x, g.to(memory_format=torch.channels_last))):
        ref = _run_fused(_ReferenceFused.apply, xin, -1.0, 1.5, bits, delta, ewgs_backward, gg)
        new = _run_fused(FusedQuantizer.apply, xin, -1.0, 1.5, bits, delta, ewgs_backward, gg)
        for a, b in zip(ref, new):
            assert torch.equal(a, b)


def test_fused_quantizer_delta_zero_is_ste_bit_for_bit():
    from ewgs.quant.quantizer import FusedQuantizer

    x = torch.randn(4, 8, 9, 9) * 2
    g = torch.randn_like(x)
    ewgs0 = _run_fused(FusedQuantizer.apply, x, -1.0, 1.5, 2, 0.0, True, g)
    ste = _run_fused(FusedQuantizer.apply, x, -1.0, 1.5, 2, 0.7, False, g)
    ewgs7 = _run_fused(FusedQuantizer.apply, x, -1.0, 1.5, 2, 0.7, True, g)
    for a, b in zip(ewgs0, ste):
        assert torch.equal(a, b)
    assert not torch.equal(ewgs7[1], ste[1])  # δ > 0 does change the input gradient


def test_fused_quantizer_workspace_and_create_graph():
    from ewgs.quant.quantizer import FusedQuantizer, release_workspace

    gen = torch.Generator().manual_seed(3)
    for shape in ((2, 3, 17, 5), (4, 3, 9, 9), (7,), (2, 3, 17, 5)):  # grow, shrink, grow: reused buffer
        x = torch.randn(shape, generator=gen) * 2
        g = torch.randn(shape, generator=gen)
        ref = _run_fused(_ReferenceFused.apply, x, -1.0, 1.5, 2, 0.3, True, g)
        new = _run_fused(FusedQuantizer.apply, x, -1.0, 1.5, 2, 0.3, True, g)
        assert all(torch.equal(a, b) for a, b in zip(ref, new))
    release_workspace()
    # differentiated backward (create_graph=True): no workspace, same numbers, graph to g kept
    x = torch.randn(3, 4, 5, generator=gen).requires_grad_(True)
    g = torch.randn(3, 4, 5, generator=gen, requires_grad=True)
    lo, hi = torch.tensor(-1.0, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    y = FusedQuantizer.apply(x, lo, hi, 3, torch.tensor(0.3), True)
    (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
    ref = _run_fused(_ReferenceFused.apply, x.detach(), -1.0, 1.5, 2, 0.3, True, g.detach())
    assert torch.equal(gx.detach(), ref[1]) and gx.requires_grad
    (gg,) = torch.autograd.grad(gx.sum(), g)  # ∂(Σ ∂x)/∂g = (1 + δ·sign(g)·err)·inside·inv, sign(g) constant
    assert torch.isfinite(gg).all() and (gg != 0).any()
