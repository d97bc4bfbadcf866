"""DAQConv2d / DAQLinear: FP identity, E13 init, |s|, train == eval values, codes, export."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from daq import DAQConv2d, DAQLinear
from daq.functional import quantize_act, quantize_weight


def test_full_precision_layers_are_the_wrapped_layers_bit_for_bit():
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, dilation=1, groups=1, bias=True)
    lin = nn.Linear(7, 4)
    qc = DAQConv2d.from_float(conv, w_bits=None, a_bits=None)
    ql = DAQLinear.from_float(lin, w_bits=None, a_bits=None)
    x, v = torch.randn(2, 3, 9, 9), torch.randn(6, 7)
    assert torch.equal(qc(x), conv(x)) and torch.equal(ql(v), lin(v))
    assert not hasattr(qc, "scale") and len(list(qc.parameters())) == 2


def _relu_input(*shape):
    return torch.relu(torch.randn(*shape))


def test_data_dependent_init_e13():
    conv = DAQConv2d(4, 6, 3, padding=1, bias=False, w_bits=2, a_bits=2)
    assert not bool(conv.initialized) and conv.scale.item() == pytest.approx(0.2)
    x = _relu_input(3, 4, 8, 8)
    conv.train()
    out = conv(x)
    assert bool(conv.initialized)
    assert conv.w_lower.item() == -3.0 and conv.w_upper.item() == 3.0
    assert conv.a_upper.item() == pytest.approx(3 * x.std(unbiased=True).item(), rel=1e-6)
    qa = quantize_act(x, 0.0, conv.a_upper.detach(), 2, hard=True)
    qw = quantize_weight(conv.weight.detach(), -3.0, 3.0, 2, hard=True)
    fp = F.conv2d(x, conv.weight.detach(), padding=1)
    q = F.conv2d(qa, qw, padding=1)
    assert conv.scale.item() == pytest.approx((fp.abs().mean() / q.abs().mean()).item(), rel=1e-5)
    assert torch.allclose(out, q * conv.scale.abs(), atol=1e-5)
    # a second forward does not re-init
    before = {k: v.clone() for k, v in conv.state_dict().items()}
    conv(x * 5)
    for k, v in conv.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_state_dict_with_initialized_skips_init():
    a = DAQConv2d(2, 2, 1, bias=False, w_bits=1, a_bits=1)
    a(_relu_input(2, 2, 4, 4))
    b = DAQConv2d(2, 2, 1, bias=False, w_bits=1, a_bits=1)
    b.load_state_dict(a.state_dict())
    b(_relu_input(2, 2, 4, 4) * 10)
    assert torch.equal(b.a_upper, a.a_upper) and torch.equal(b.scale, a.scale)


def test_learnable_lower_bound_init():
    lin = DAQLinear(5, 3, w_bits=3, a_bits=3, act_lower="learn")
    x = torch.randn(64, 5)
    lin(x)
    s = x.std(unbiased=True).item()
    assert lin.a_lower.item() == pytest.approx(-3 * s, rel=1e-6) and lin.a_upper.item() == pytest.approx(3 * s, rel=1e-6)
    (lin(x) ** 2).sum().backward()
    assert lin.a_lower.grad is not None and lin.a_lower.grad.item() != 0


def test_negating_scale_leaves_output_unchanged():
    conv = DAQConv2d(3, 4, 3, w_bits=2, a_bits=2)
    x = _relu_input(2, 3, 6, 6)
    y1 = conv(x)
    with torch.no_grad():
        conv.scale.neg_()
    assert torch.equal(conv(x), y1)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_train_and_eval_outputs_agree_and_eval_lies_on_grid(bits):
    conv = DAQConv2d(3, 4, 3, bias=False, w_bits=bits, a_bits=bits).train()
    x = _relu_input(2, 3, 8, 8)
    y_train = conv(x)
    conv.eval()
    y_eval = conv(x)
    assert (y_train - y_eval).abs().max() < 1e-5
    B = 2**bits - 1
    qw = conv.quantized_weight()
    assert torch.allclose(torch.unique(qw), torch.unique(torch.round((qw + 1) * B / 2) * 2 / B - 1))
    assert set(torch.unique(torch.round((qw + 1) * B / 2)).tolist()) <= set(range(B + 1))
    codes, recipe = conv.weight_codes()
    assert codes.dtype == torch.uint8 and int(codes.max()) <= B
    assert torch.allclose((2 * codes.float() - B) / B, qw)
    assert recipe["steps"] == B


def test_gradients_reach_all_parameters_and_input():
    conv = DAQConv2d(3, 4, 3, bias=True, w_bits=2, a_bits=2)
    x = _relu_input(2, 3, 6, 6).requires_grad_()
    conv(x)  # init
    (conv(x) ** 2).mean().backward()
    for name in ("weight", "bias", "w_lower", "w_upper", "a_upper", "scale"):
        g = getattr(conv, name).grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_weight_only_layer_keeps_activations_fp():
    conv = DAQConv2d(3, 4, 3, w_bits=1, a_bits=None)
    assert not hasattr(conv, "a_upper")
    x = torch.randn(2, 3, 5, 5)
    y = conv(x)
    qw = conv.quantized_weight()
    assert torch.allclose(y, conv._conv_forward(x, qw, conv.bias) * conv.scale.abs(), atol=1e-6)
    assert set(torch.unique(qw).tolist()) == {-1.0, 1.0}


def test_empty_batch_and_all_zero_inputs():
    conv = DAQConv2d(3, 4, 3, padding=1, w_bits=2, a_bits=2)
    assert conv(torch.zeros(0, 3, 5, 5)).shape == (0, 4, 5, 5)
    assert not bool(conv.initialized)
    y = conv(torch.zeros(2, 3, 5, 5))
    assert torch.isfinite(y).all() and torch.isfinite(conv.scale)


def test_bad_arguments():
    with pytest.raises(ValueError):
        DAQConv2d(1, 1, 1, w_bits=0)
    with pytest.raises(ValueError):
        DAQConv2d(1, 1, 1, act_lower="negative")
    with pytest.raises(ValueError):
        DAQLinear(1, 1, sigma_a=0.0)
    with pytest.raises(TypeError):
        DAQConv2d.from_float(nn.Linear(2, 2))


def test_deepcopy_and_repr():
    conv = DAQConv2d(2, 2, 3, w_bits=1, a_bits=1, compat="official")
    c2 = copy.deepcopy(conv)
    assert "w_bits=1" in repr(c2) and "official" in repr(c2)


def test_torch_export_matches_eager_in_eval_mode():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), DAQConv2d(4, 4, 3, padding=1, w_bits=2, a_bits=2),
                        nn.ReLU(), nn.Flatten(), DAQLinear(4 * 6 * 6, 3, w_bits=2, a_bits=2))
    x = torch.randn(2, 1, 6, 6)
    net(x)  # lazy init
    net.eval()
    prog = torch.export.export(net, (x,))
    assert torch.allclose(prog.module()(x), net(x), atol=1e-6)


def test_soft_reference_impl_gives_the_same_values_and_gradients():
    torch.manual_seed(0)
    a = DAQConv2d(3, 4, 3, bias=False, w_bits=2, a_bits=2).double()
    b = copy.deepcopy(a)
    b.dasr_impl = "soft"
    x = _relu_input(2, 3, 6, 6).double()
    a(x)
    b(x)
    ya, yb = a(x), b(x)
    assert torch.allclose(ya, yb, atol=1e-10)
    (ya ** 2).sum().backward()
    (yb ** 2).sum().backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, rtol=1e-5, atol=1e-10), n
