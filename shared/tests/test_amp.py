"""cvcore.amp: the ``--amp`` autocast dtype, context and (CUDA-only) scaled step of bap and gzs3."""

import torch

from cvcore.amp import Amp, autocast_dtype


def test_amp_context_dtypes():
    assert autocast_dtype("cpu") is torch.bfloat16 and autocast_dtype("cuda") is torch.float16
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 8, 8)
    with Amp(True, "cpu").autocast():
        assert conv(x).dtype == torch.bfloat16
    with Amp(False, "cpu").autocast():
        assert conv(x).dtype == torch.float32
    amp = Amp(True, "cpu")
    assert amp.dtype == torch.bfloat16 and not amp.scaler.is_enabled() and amp.state_dict() == {}
    if torch.cuda.is_available():
        cuda = Amp(True, "cuda")
        assert cuda.dtype == torch.float16 and cuda.scaler.is_enabled()


def test_step_updates_every_optimizer_like_plain_backward():
    """Unscaled on CPU: ``step(loss, a, b)`` equals zero_grad + backward + a.step() + b.step()."""
    torch.manual_seed(0)
    x = torch.randn(5, 3)
    ref_w, w = [torch.nn.Linear(3, 2) for _ in range(2)]
    w.load_state_dict(ref_w.state_dict())
    start = w.weight.detach().clone()
    for m in (ref_w, w):
        m.weight.grad = torch.ones_like(m.weight)  # stale gradients must be cleared
    ref_opts = [torch.optim.SGD([ref_w.weight], lr=0.1), torch.optim.Adam([ref_w.bias], lr=0.1)]
    opts = [torch.optim.SGD([w.weight], lr=0.1), torch.optim.Adam([w.bias], lr=0.1)]
    for o in ref_opts:
        o.zero_grad(set_to_none=True)
    ref_w(x).square().sum().backward()
    for o in ref_opts:
        o.step()
    Amp(True, "cpu").step(w(x).square().sum(), *opts)
    assert torch.equal(w.weight, ref_w.weight) and torch.equal(w.bias, ref_w.bias)
    assert not torch.equal(w.weight, start)  # the step did move the parameters


def test_state_dict_round_trip_is_a_no_op_when_disabled():
    amp = Amp(False, "cpu")
    amp.load_state_dict(None)
    amp.load_state_dict({"scale": 8.0})  # ignored: no scaler on CPU
    assert amp.state_dict() == {}
