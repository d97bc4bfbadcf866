"""The compiled quantizer kernels (``ewgs.quant.kernels``) against the eager, reference quantizer."""

import pytest
import torch
from ewgs_fused_reference import ReferenceFused

from ewgs.quant import kernels
from ewgs.quant.quantizer import FusedQuantizer


@pytest.fixture
def mode():
    """Set the kernel mode for one test, restore the previous one (and the failure flag) after it."""
    prev, failed = kernels.get_kernels(), kernels._state["failed"]
    yield kernels.set_kernels
    kernels.set_kernels(prev)
    kernels._state["failed"] = failed


def _grads(x, lo, hi, bits, delta, ewgs, g):
    xx = x.clone().requires_grad_(True)
    lo_t = torch.tensor(lo, requires_grad=True)
    hi_t = torch.tensor(hi, requires_grad=True)
    y = FusedQuantizer.apply(xx, lo_t, hi_t, 2**bits - 1, torch.tensor(delta), ewgs)
    return (y, *torch.autograd.grad(y, (xx, lo_t, hi_t), g))


def _inputs(bits):
    gen = torch.Generator().manual_seed(bits)
    x = torch.randn(3, 5, 11, 13, generator=gen) * 1.5
    flat = x.view(-1)
    flat[:4] = torch.tensor([-1.0, 1.5, -1.0, 1.5])  # exactly on both bounds
    flat[4:8] = -1.0 + 2.5 * torch.tensor([0.5, 1.5, 2.5, 1.0]) / (2**bits - 1)  # rounding ties
    g = torch.randn(x.shape, generator=gen)
    g.view(-1)[10:30] = 0.0
    return x, g


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_compiled_kernels_equal_the_reference(bits, mode):
    """Forward and ∂x bit for bit; ∂l, ∂u (sums, another summation order) to float rounding."""
    x, g = _inputs(bits)
    for delta, ewgs in ((0.3, True), (0.0, True), (0.3, False)):
        for xin, gg in ((x, g), (x.to(memory_format=torch.channels_last), g),
                        (x, torch.ones(()).expand_as(x))):  # expanded gradient, as from .sum().backward()
            mode("eager")
            ref = _grads(xin, -1.0, 1.5, bits, delta, ewgs, gg)
            mode("compiled")
            assert kernels.use_compiled(xin)
            new = _grads(xin, -1.0, 1.5, bits, delta, ewgs, gg)
            assert not kernels._state["failed"], "the kernels did not compile"
            assert torch.equal(new[0], ref[0]) and torch.equal(new[1], ref[1])
            for a, b in zip(new[2:], ref[2:]):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * float(gg.abs().sum()) / gg.numel())
    ref_q = _grads(x, -1.0, 1.5, bits, 0.3, True, g)[0]
    ref_fused = ReferenceFused.apply(x, torch.tensor(-1.0), torch.tensor(1.5), 2**bits - 1, torch.tensor(0.3), True)
    assert torch.equal(ref_q, ref_fused)


def test_compiled_forward_eager_backward_and_create_graph(mode):
    """A backward that cannot use the kernels recomputes the mask and x_q the compiled forward did not save."""
    x, g = _inputs(2)
    mode("eager")
    ref = _grads(x, -1.0, 1.5, 2, 0.3, True, g)
    mode("compiled")
    xx = x.clone().requires_grad_(True)
    lo, hi = torch.tensor(-1.0, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    y = FusedQuantizer.apply(xx, lo, hi, 3, torch.tensor(0.3), True)
    mode("eager")  # switched between forward and backward
    got = (y, *torch.autograd.grad(y, (xx, lo, hi), g))
    assert all(torch.equal(a, b) for a, b in zip(got, ref))
    mode("compiled")  # differentiated backward: eager ops, graph kept
    xx = x.clone().requires_grad_(True)
    gg = g.clone().requires_grad_(True)
    y = FusedQuantizer.apply(xx, torch.tensor(-1.0), torch.tensor(1.5), 3, torch.tensor(0.3), True)
    (gx,) = torch.autograd.grad(y, xx, gg, create_graph=True)
    assert torch.equal(gx.detach(), ref[1]) and gx.requires_grad


def test_auto_selection(mode):
    mode("auto")
    big = torch.empty(kernels.AUTO_MIN_NUMEL)
    assert kernels.use_compiled(big)
    assert not kernels.use_compiled(torch.empty(kernels.AUTO_MIN_NUMEL - 1))
    assert not kernels.use_compiled(big.double())
    mode("eager")
    assert not kernels.use_compiled(big)
    mode("compiled")
    assert kernels.use_compiled(torch.empty(4))
    with pytest.raises(ValueError, match="kernels must be one of"):
        kernels.set_kernels("fast")


def test_environment_variable(monkeypatch, mode):
    kernels._state["mode"] = None
    monkeypatch.setenv("EWGS_KERNELS", "eager")
    assert kernels.get_kernels() == "eager"
    kernels._state["mode"] = None
    monkeypatch.setenv("EWGS_KERNELS", "bogus")
    with pytest.raises(ValueError, match="EWGS_KERNELS"):
        kernels.get_kernels()
    mode("auto")


def test_compilation_failure_falls_back_to_eager(monkeypatch, mode):
    """No compiler: one warning, then the eager numbers (the forward is not lost)."""
    x, g = _inputs(2)
    mode("eager")
    ref = _grads(x, -1.0, 1.5, 2, 0.3, True, g)
    mode("compiled")

    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setitem(kernels._state, "fwd", broken)
    kernels._state["failed"] = False
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"):
        got = _grads(x, -1.0, 1.5, 2, 0.3, True, g)
    assert kernels._state["failed"] and not kernels.use_compiled(x)
    assert all(torch.equal(a, b) for a, b in zip(got, ref))
