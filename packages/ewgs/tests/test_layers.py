"""EWGSConv2d / EWGSLinear: E4 forward, grids in eval mode, init E9, δ = 0 vs STE, codes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ewgs import EWGSConv2d, EWGSLinear
from ewgs.errors import QuantizationError


def _conv(**kw):
    torch.manual_seed(0)
    return EWGSConv2d(3, 4, 3, padding=1, bias=False, **kw)


def test_eval_outputs_on_grid_and_train_equals_eval():
    m = _conv(w_bits=2, a_bits=2)
    x = torch.relu(torch.randn(2, 3, 6, 6))
    m.train()
    y_train = m(x)
    m.eval()
    y_eval = m(x)
    torch.testing.assert_close(y_train, y_eval, rtol=0, atol=0)
    qa = m._aq_plain(x)
    assert torch.equal(qa * 3, (qa * 3).round())
    qw = m.quantized_weight()
    assert set(((qw + 1) / 2 * 3).round().unique().tolist()) <= {0.0, 1.0, 2.0, 3.0}
    torch.testing.assert_close(((qw + 1) / 2 * 3), ((qw + 1) / 2 * 3).round(), rtol=0, atol=1e-6)
    ref = F.conv2d(qa, qw, padding=1) * m.scale.abs()
    torch.testing.assert_close(y_eval, ref)
    codes = m.weight_codes()
    assert codes.dtype == torch.uint8 and codes.max() <= 3
    torch.testing.assert_close(codes.float() * 2 / 3 - 1, qw)


def test_init_e9_alpha():
    m = _conv(w_bits=2, a_bits=2)
    x = torch.relu(torch.randn(4, 3, 5, 5))
    m(x)
    assert bool(m.initialized)
    ref = F.conv2d(x, m.weight, padding=1).abs().mean()
    quant = F.conv2d(m._aq_plain(x), m.quantized_weight(), padding=1).abs().mean()
    torch.testing.assert_close(m.scale.detach(), ref / quant)
    assert m.a_lower.item() == x.min().item()
    u = m.w_upper.item()
    m(x * 5)  # second forward does not re-initialize
    assert m.w_upper.item() == u


def test_loaded_initialized_skips_init():
    a = _conv(w_bits=2, a_bits=2)
    a(torch.relu(torch.randn(2, 3, 5, 5)))
    b = _conv(w_bits=2, a_bits=2)
    b.load_state_dict(a.state_dict())
    x = torch.relu(torch.randn(2, 3, 5, 5)) * 10
    torch.testing.assert_close(b(x), a(x))


def test_delta_zero_equals_ste_whole_layer():
    x = torch.relu(torch.randn(2, 3, 6, 6))
    a, b = _conv(w_bits=2, a_bits=2, delta_w=0.0), _conv(w_bits=2, a_bits=2, backward="ste", delta_w=0.5, delta_a=0.5)
    a(x), b(x)
    b.load_state_dict(a.state_dict(), strict=False)
    with torch.no_grad():
        b.delta_w.fill_(0.5), b.delta_a.fill_(0.5)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ga = torch.autograd.grad(a(xa).square().sum(), [xa, *a.parameters()])
    gb = torch.autograd.grad(b(xb).square().sum(), [xb, *b.parameters()])
    for u, v in zip(ga, gb):
        assert torch.equal(u, v)
    # and a non-zero δ with backward="ewgs" does change them
    c = _conv(w_bits=2, a_bits=2)
    c(x)
    c.load_state_dict(a.state_dict())
    with torch.no_grad():
        c.delta_w.fill_(0.5)
    gc = torch.autograd.grad(c(x).square().sum(), c.weight)[0]
    assert not torch.equal(gc, ga[1])


def test_full_precision_layer_is_exact():
    torch.manual_seed(1)
    ref = nn.Conv2d(3, 5, 3, stride=2, padding=1)
    m = EWGSConv2d.from_float(ref, w_bits=None, a_bits=None)
    assert set(m.state_dict()) == set(ref.state_dict())
    x = torch.randn(2, 3, 7, 7)
    assert torch.equal(m(x), ref(x))
    lin = nn.Linear(4, 3)
    ml = EWGSLinear.from_float(lin, w_bits=None, a_bits=None)
    z = torch.randn(5, 4)
    assert torch.equal(ml(z), lin(z))


def test_weight_only_and_act_only():
    x = torch.randn(2, 3, 5, 5)
    m = _conv(w_bits=1, a_bits=None)
    y = m(x)
    torch.testing.assert_close(y, F.conv2d(x, m.quantized_weight(), padding=1) * m.scale.abs())
    assert set(m.quantized_weight().unique().tolist()) <= {-1.0, 1.0}
    m2 = _conv(w_bits=None, a_bits=3)
    y2 = m2(x)
    torch.testing.assert_close(y2, F.conv2d(m2._aq_plain(x), m2.weight, padding=1) * m2.scale.abs())
    with pytest.raises(QuantizationError):
        m2.weight_codes()


def test_linear_layer_and_parameter_names():
    m = EWGSLinear(6, 3, w_bits=2, a_bits=2)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["weight", "bias", "w_upper", "w_lower", "a_upper", "a_lower", "scale"]
    assert {n for n, _ in m.named_buffers()} == {"delta_w", "delta_a", "initialized"}
    y = m(torch.relu(torch.randn(4, 6)))
    assert y.shape == (4, 3)


@pytest.mark.parametrize("kw", [{"w_bits": 0}, {"a_bits": 9}, {"w_bits": 32}, {"backward": "x"}, {"delta_w": -1.0},
                                {"delta_a": float("nan")}])
def test_bad_arguments(kw):
    with pytest.raises(QuantizationError):
        EWGSConv2d(3, 4, 3, **kw)


def test_non_finite_inputs_and_weights():
    m = _conv(w_bits=2, a_bits=2)
    x = torch.randn(2, 3, 5, 5)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(QuantizationError, match="non-finite input"):
        m(x)
    with torch.no_grad():
        m.weight[0, 0, 0, 0] = float("inf")
    with pytest.raises(QuantizationError, match="non-finite weights"):
        m(torch.randn(2, 3, 5, 5))


def test_empty_batch_and_constant_activations():
    m = _conv(w_bits=2, a_bits=2)
    with pytest.raises(QuantizationError):
        m(torch.zeros(0, 3, 5, 5))
    m2 = _conv(w_bits=2, a_bits=2)
    y = m2(torch.zeros(2, 3, 5, 5))  # all-equal (zero) activations: guarded init, finite output
    assert torch.isfinite(y).all() and torch.isfinite(m2.scale).all()


@pytest.mark.parametrize("delta", [0.0, 0.3])
def test_layer_gradients_bit_identical_to_stock_autograd(delta, monkeypatch):
    """The fused quantizer node gives exactly the stock-op gradients of the whole layer."""
    from ewgs_fused_reference import ReferenceFused as _ReferenceFused

    import ewgs.quant.quantizer as Q

    torch.manual_seed(1)
    m = EWGSConv2d(4, 6, 3, stride=2, padding=1, bias=False, w_bits=2, a_bits=3, delta_w=delta, delta_a=delta)
    x = torch.relu(torch.randn(3, 4, 9, 9))
    m(x)  # E9 init
    g = torch.randn(3, 6, 5, 5)

    def grads():
        xx = x.clone().requires_grad_(True)
        m.zero_grad(set_to_none=True)
        y = m(xx)
        y.backward(g)
        return [y.detach(), xx.grad] + [p.grad for p in m.parameters()]

    new = grads()
    monkeypatch.setattr(Q, "FusedQuantizer", _ReferenceFused)
    ref = grads()
    assert len(new) == len(ref) and all(torch.equal(a, b) for a, b in zip(new, ref))


@pytest.mark.parametrize("bias", [False, True])
def test_output_scale_folded_into_weight_equals_e4(bias):
    """``op(Q_A, |α|·Q_W, |α|·b)`` is E4's ``|α|·op(Q_A, Q_W, b)`` (and its gradients) to float rounding."""
    torch.manual_seed(2)
    m = EWGSConv2d(4, 6, 3, padding=1, bias=bias, w_bits=2, a_bits=3, delta_w=0.2, delta_a=0.2)
    x = torch.relu(torch.randn(3, 4, 9, 9))
    m(x)  # E9 init
    with torch.no_grad():
        m.scale.fill_(-1.7)  # |α| and sgn(α) both matter
    g = torch.randn(3, 6, 9, 9)

    def run(folded):
        m.zero_grad(set_to_none=True)
        xx = x.clone().requires_grad_(True)
        if folded:
            y = m(xx)
        else:
            qa = m._aq(xx)
            qw = m._wq()
            y = m._conv_forward(qa, qw, m.bias) * m.scale.abs()
        y.backward(g)
        return [y.detach(), xx.grad] + [p.grad.clone() for p in m.parameters()]

    for a, b in zip(run(True), run(False)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
