"""Hutchinson trace (E7), δ formula (E8), stop rule, gradient capture, schedule, order (§3)."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ewgs
from cvcore.quant import SmallConvNet
from ewgs import EWGSConv2d, EWGSLinear, HessianScaleUpdater
from ewgs.quant import hessian as H
from ewgs.quant.hessian import hutchinson_trace, trace_from_samples


def _exact_trace(f, x):
    """Brute-force Hessian trace of scalar ``f`` at ``x``: one second derivative per element."""
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    g = g.reshape(-1)
    return sum(torch.autograd.grad(g[i], x, retain_graph=True)[0].reshape(-1)[i].item() for i in range(g.numel()))


def _scripted(values):
    it = iter(values)
    return lambda: next(it)


@pytest.mark.parametrize(
    "values, expected",
    [
        ([5.0, 5.001, 99.0], 2),                 # converged at the second sample
        ([-3.0, 10.0, 10.0], 2),                 # negative first sample: signed denominator fires
        ([0.0, 1.0], 1),                         # |0 - 0| / 1e-6 = 0 < tol
        ([2.0**i for i in range(60)], 50),       # never converges -> max_iter
        ([1.0, 3.0, 2.0, 2.0, 2.0, 2.0], None),  # computed by hand below
    ],
)
def test_stop_rule_counts(values, expected):
    mean, n = trace_from_samples(_scripted(values), max_iter=50, tol=1e-3)
    if expected is None:
        # means: 1 (cont), 2 (|1|/1 -> cont), 2 (0 -> stop at 3)
        expected = 3
    assert n == expected
    assert mean == pytest.approx(sum(values[:n]) / n)


def _quadratic_problem():
    torch.manual_seed(3)
    lin = EWGSLinear(6, 3, bias=True, w_bits=3, a_bits=3, dtype=torch.float64)
    x = torch.relu(torch.randn(5, 6, dtype=torch.float64))
    target = torch.randn(5, 3, dtype=torch.float64)
    lin(x)  # init
    return lin, x, target


def test_hutchinson_matches_exact_trace():
    lin, x, target = _quadratic_problem()
    with lin.discrete_values() as rec:
        loss = F.mse_loss(lin(x), target)
    xa = rec["act"]
    (g,) = torch.autograd.grad(loss, xa, create_graph=True)
    est, n = hutchinson_trace(g, xa, max_iter=50, tol=float("-inf"))
    assert n == 50

    qw = lin.quantized_weight()
    scale = lin.scale.detach().abs()

    def f(a):
        return F.mse_loss((a @ qw.T + lin.bias.detach()) * scale, target)

    exact = _exact_trace(f, xa)
    assert exact > 0
    assert est == pytest.approx(exact, rel=0.10)


def test_hutchinson_zero_for_linear_loss():
    x = torch.rand(4, requires_grad=True, dtype=torch.float64)
    (g,) = torch.autograd.grad((x * 3).sum(), x, create_graph=True)
    assert hutchinson_trace(g, x) == (0.0, 1)


def _tiny_net(**kw):
    torch.manual_seed(0)
    conv = lambda *a, **k: EWGSConv2d(*a, w_bits=2, a_bits=2, **kw, **k)  # noqa: E731
    return SmallConvNet(1, 3, width=2, conv=conv)


def _loader(n_batches, seed=0, bs=4):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(bs, 1, 8, 8, generator=g), torch.randint(0, 3, (bs,), generator=g)) for _ in range(n_batches)]


def test_delta_formula_with_patched_trace(monkeypatch):
    net = _tiny_net()
    ewgs.initialize(net, _loader(1)[0])
    values = iter([6.0, -1.0, 2.0, 4.0, 1.0, -2.0, 0.5, 5.0, 3.0, 1.0, -2.0, 0.7] * 3)
    calls = []

    def fake_trace(g, x, **kw):
        v = next(values)
        calls.append(v)
        return v * x.numel(), 1

    monkeypatch.setattr(H, "hutchinson_trace", fake_trace)
    monkeypatch.setattr(H, "_representative", lambda g, kind: 1.0)
    # 4 quantizers per batch: conv2.act, conv3.act, conv2.weight, conv3.weight
    est = HessianScaleUpdater(net, F.cross_entropy, num_batches=3).estimate(_loader(5))
    per_batch = [calls[i * 4:(i + 1) * 4] for i in range(3)]
    mean = [sum(b[j] for b in per_batch) / 3 for j in range(4)]
    assert est.deltas["conv2"] == (pytest.approx(max(0, mean[2])), pytest.approx(max(0, mean[0])))
    assert est.deltas["conv3"] == (pytest.approx(max(0, mean[3])), pytest.approx(max(0, mean[1])))
    assert est.divisor == 3 and est.batches == 3
    assert est.raw["conv3"][1] == pytest.approx(mean[1]) and mean[1] < 0 and est.deltas["conv3"][1] == 0.0


def test_exactly_num_batches_loader_default_vs_official(monkeypatch):
    net = _tiny_net()
    ewgs.initialize(net, _loader(1)[0])
    monkeypatch.setattr(H, "hutchinson_trace", lambda g, x, **kw: (0.3 * x.numel(), 1))
    monkeypatch.setattr(H, "_representative", lambda g, kind: 1.0)
    d = HessianScaleUpdater(net, F.cross_entropy, num_batches=3).estimate(_loader(3))
    o = HessianScaleUpdater(net, F.cross_entropy, num_batches=3, compat="official").estimate(_loader(3))
    assert d.divisor == 3 and o.divisor == 2
    assert d.deltas["conv2"][0] == pytest.approx(0.3) and o.deltas["conv2"][0] == pytest.approx(0.45)
    one = HessianScaleUpdater(net, F.cross_entropy, num_batches=3, compat="official").estimate(_loader(1))
    assert one.divisor == 0 and math.isinf(one.deltas["conv2"][0])
    more = HessianScaleUpdater(net, F.cross_entropy, num_batches=3, compat="official").estimate(_loader(4))
    assert more.divisor == 3 and more.deltas["conv2"][0] == pytest.approx(0.3)


def test_non_finite_keeps_previous_in_default(monkeypatch):
    net = _tiny_net()
    ewgs.initialize(net, _loader(1)[0])
    with torch.no_grad():
        net.conv2.delta_w.fill_(0.25)
    monkeypatch.setattr(H, "hutchinson_trace", lambda g, x, **kw: (1.0, 1))
    monkeypatch.setattr(H, "_representative", lambda g, kind: 0.0)  # std(G) = 0 -> inf (issue #6)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        HessianScaleUpdater(net, F.cross_entropy, num_batches=1)(_loader(2))
    assert net.conv2.delta_w.item() == 0.25
    HessianScaleUpdater(net, F.cross_entropy, num_batches=1, compat="official")(_loader(2))
    assert math.isinf(net.conv2.delta_w.item())
    monkeypatch.setattr(H, "hutchinson_trace", lambda g, x, **kw: (0.0, 1))
    HessianScaleUpdater(net, F.cross_entropy, num_batches=1, compat="official")(_loader(2))
    assert math.isnan(net.conv2.delta_w.item())  # 0/0
    # eps in the denominator makes it finite
    HessianScaleUpdater(net, F.cross_entropy, num_batches=1, eps=1e-8)(_loader(2))
    assert net.conv2.delta_w.item() == 0.0


def test_gradients_captured_up_front_and_order(monkeypatch):
    net = _tiny_net()
    batch = _loader(1)[0]
    ewgs.initialize(net, batch)
    # reference first-order gradients from an independent pass (train mode, same batch)
    with net.conv2.discrete_values() as r2, net.conv3.discrete_values() as r3:
        loss = F.cross_entropy(net(batch[0]), batch[1])
    refs = torch.autograd.grad(loss, [r2["act"], r3["act"], r2["weight"], r3["weight"]])
    seen = []
    orig = H.hutchinson_trace

    def spy(g, x, **kw):
        seen.append((g, tuple(x.shape)))
        return orig(g, x, **kw)

    monkeypatch.setattr(H, "hutchinson_trace", spy)
    HessianScaleUpdater(net, F.cross_entropy, num_batches=1, max_iter=5).estimate([batch])
    shapes = [s for _, s in seen]
    assert shapes == [(4, 2, 8, 8), (4, 4, 4, 4), (4, 2, 3, 3), (8, 4, 3, 3)]  # activations first, then weights
    for (g, _), ref in zip(seen, refs):  # unchanged after all HVPs
        torch.testing.assert_close(g.detach(), ref, rtol=1e-5, atol=1e-7)


def test_determinism_and_schedule():
    def run():
        torch.manual_seed(7)
        net = _tiny_net()
        ewgs.initialize(net, _loader(1)[0])
        return HessianScaleUpdater(net, F.cross_entropy, num_batches=2, max_iter=8)(_loader(3))

    assert run() == run()
    net = _tiny_net()
    up = HessianScaleUpdater(net, F.cross_entropy, every_epochs=10)
    assert [e for e in range(41) if up.due(e)] == [10, 20, 30, 40]
    up1 = HessianScaleUpdater(net, F.cross_entropy, every_epochs=1)
    assert [e for e in range(4) if up1.due(e)] == [1, 2, 3]
    assert not any(HessianScaleUpdater(net, F.cross_entropy, every_epochs=0).due(e) for e in range(20))
    ewgs.initialize(net, _loader(1)[0])
    before = net.conv2.delta_a.clone()
    assert not up.on_epoch_start(0, _loader(2))
    assert torch.equal(net.conv2.delta_a, before)


def test_train_mode_bn_moves_and_mode_restored():
    net = _tiny_net()
    ewgs.initialize(net, _loader(1)[0])
    net.eval()
    n0 = int(net.bn2.num_batches_tracked)
    HessianScaleUpdater(net, F.cross_entropy, num_batches=2, max_iter=2).estimate(_loader(4))
    assert int(net.bn2.num_batches_tracked) == n0 + 2 and not net.training


def test_joint_probe_unbiased_on_quadratic():
    lin, x, target = _quadratic_problem()
    layer_loss = lambda out, y: F.mse_loss(out, y)  # noqa: E731
    exact = {}
    with lin.discrete_values() as rec:
        loss = F.mse_loss(lin(x), target)
    for kind in ("act", "weight"):
        xs = rec[kind]
        (g,) = torch.autograd.grad(loss, xs, create_graph=True)
        tr = _exact_trace(lambda t, kind=kind: F.mse_loss(_forward_with(lin, x, kind, t), target), xs)
        exact[kind] = (tr / xs.numel()) / (3 * g.detach().std().item())
    est = HessianScaleUpdater(lin, layer_loss, num_batches=1, max_iter=1000, tol=float("-inf"), joint_probe=True).estimate(
        [(x, target), (x, target)])
    dw, da = est.raw[""]
    assert da == pytest.approx(exact["act"], rel=0.10)
    assert dw == pytest.approx(exact["weight"], rel=0.10)
    assert est.samples[""] == (1000, 1000)


def _forward_with(lin, x, kind, t):
    scale = lin.scale.detach().abs()
    if kind == "act":
        return (t @ lin.quantized_weight().T + lin.bias.detach()) * scale
    qa = lin._aq_plain(x)
    return (qa @ ((t - 0.5) * 2).T + lin.bias.detach()) * scale


def test_bad_updater_arguments():
    net = _tiny_net()
    for kw in ({"num_batches": 0}, {"max_iter": 0}, {"every_epochs": -1}, {"compat": "x"}, {"representative": "x"},
               {"eps": -1.0}):
        with pytest.raises(ewgs.QuantizationError):
            HessianScaleUpdater(net, F.cross_entropy, **kw)
    with pytest.raises(ewgs.QuantizationError):
        HessianScaleUpdater(nn.Linear(2, 2), F.cross_entropy).estimate([(torch.zeros(1, 2), torch.zeros(1).long())])
