import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bap.noise_aware_loss import NoiseAwareLoss, nal_confidence


def _close(a, b, rtol=1e-7, atol=1e-9):
    # torch.testing costs ~10 s of imports on first use; compare with numpy instead
    np.testing.assert_allclose(torch.as_tensor(a).detach().numpy(), torch.as_tensor(b).detach().numpy(), rtol=rtol, atol=atol)



def _inputs(seed=0, b=2, c=4, h=5, w=6):
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(b, c, h, w, generator=g, dtype=torch.float64) * 2 - 1
    yc = torch.randint(0, c, (b, h, w), generator=g)
    yr = torch.randint(0, c, (b, h, w), generator=g)
    return s, yc, yr


def test_agreeing_labels_give_scaled_cross_entropy():
    s, yc, _ = _inputs()
    out = NoiseAwareLoss()(s, yc, yc.clone())
    _close(out.loss, F.cross_entropy(20 * s, yc))
    assert out.wce == 0 and out.unreliable_mask.sum() == 0


def test_hand_built_confidence_and_wce():
    s = torch.tensor([0.2, 0.6, -0.5], dtype=torch.float64).view(1, 3, 1, 1).repeat(1, 1, 1, 2)
    s[0, :, 0, 1] = torch.tensor([0.9, 0.1, 0.0], dtype=torch.float64)
    yc = torch.tensor([[[0, 0]]])
    yr = torch.tensor([[[1, 1]]])
    sig = nal_confidence(s, yc, 7.0)
    assert float(sig[0, 0, 0]) == pytest.approx(((1 + 0.2) / (1 + 0.6)) ** 7)
    assert float(sig[0, 0, 1]) == pytest.approx(1.0)  # Y_crf class is the top class
    out = NoiseAwareLoss(lam=0.1)(s, yc, yr)
    logp = F.log_softmax(20 * s, 1)[0, 0, 0]
    ref = -(sig[0, 0] * logp).sum() / sig[0, 0].sum()
    _close(out.wce, ref)
    assert out.ce == 0 and out.reliable_mask.sum() == 0
    _close(out.loss, 0.1 * ref)


def test_large_gamma_binary_and_lambda_zero():
    s, yc, yr = _inputs(1)
    sig = nal_confidence(s, yc, 50.0)
    top = s.argmax(1) == yc
    assert torch.all(sig[top] == 1) and float((sig[~top] < 0.5).double().mean()) > 0.9
    assert float((nal_confidence(s, yc, 7.0)[~top] < 0.5).double().mean()) < float((sig[~top] < 0.5).double().mean())
    out0 = NoiseAwareLoss(lam=0.0)(s, yc, yr)
    rel = (yc == yr)
    _close(out0.loss, F.cross_entropy(20 * s, torch.where(rel, yc, 255), ignore_index=255))


def test_void_pixels_are_excluded():
    s, yc, yr = _inputs(2)
    yc2, yr2 = yc.clone(), yr.clone()
    yc2[0, 0, :] = 255
    out = NoiseAwareLoss()(s, yc2, yr2)
    assert not out.reliable_mask[0, 0].any() and not out.unreliable_mask[0, 0].any()
    s2 = s.clone()
    s2[0, :, 0, :] = torch.randn_like(s2[0, :, 0, :]).clamp(-1, 1)
    _close(NoiseAwareLoss()(s2, yc2, yr2).loss, out.loss)


def test_empty_unreliable_set_default_finite_official_nan():
    s, yc, _ = _inputs(3)
    assert math.isfinite(float(NoiseAwareLoss()(s, yc, yc).loss))
    assert math.isnan(float(NoiseAwareLoss(compat="official")(s, yc, yc).wce))


def test_detach_confidence_changes_gradient_not_value():
    s, yc, yr = _inputs(4)
    a = s.clone().requires_grad_(True)
    b = s.clone().requires_grad_(True)
    la = NoiseAwareLoss(lam=1.0)(a, yc, yr).loss
    lb = NoiseAwareLoss(lam=1.0, detach_confidence=True)(b, yc, yr).loss
    _close(la, lb)
    la.backward()
    lb.backward()
    assert not torch.allclose(a.grad, b.grad)
    # central finite differences on a few entries (float64) against autograd
    fn = lambda x: NoiseAwareLoss(lam=1.0)(x, yc, yr).loss  # noqa: E731
    for flat in (0, 17, 55):
        e = torch.zeros_like(s).view(-1)
        e[flat] = 1e-6
        e = e.view_as(s)
        num = (fn(s + e) - fn(s - e)) / 2e-6
        assert float(num) == pytest.approx(float(a.grad.view(-1)[flat]), rel=1e-4, abs=1e-7)


def test_shape_errors():
    s, yc, yr = _inputs()
    with pytest.raises(ValueError):
        NoiseAwareLoss()(s, yc[:, :-1], yr)
    with pytest.raises(ValueError):
        NoiseAwareLoss(compat="x")
