import math

import numpy as np
import pytest
import torch

from bap.unreliable_baselines import bootstrapping_loss, entropy_regularisation_loss, reliable_sets


def _example(seed=0, b=2, c=3, h=4, w=5):
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(b, c, h, w, generator=g) * 2 - 1
    y_crf = torch.randint(0, c, (b, h, w), generator=g)
    y_ret = torch.where(torch.rand(b, h, w, generator=g) < 0.6, y_crf, torch.randint(0, c, (b, h, w), generator=g))
    y_crf[0, 0, :2] = 255  # void
    return s, y_crf, y_ret


def _brute(s, y_crf, y_ret, tau, kind, beta=0.95):
    """Pixel loops in plain Python floats."""
    b, c, h, w = s.shape
    ce, n_rel, extra, n_un = 0.0, 0, 0.0, 0
    for i in range(b):
        for y in range(h):
            for x in range(w):
                t, r = int(y_crf[i, y, x]), int(y_ret[i, y, x])
                if t == 255:
                    continue
                z = [tau * float(s[i, k, y, x]) for k in range(c)]
                m = max(z)
                lse = m + math.log(sum(math.exp(v - m) for v in z))
                logp = [v - lse for v in z]
                if t == r:
                    ce -= logp[t]
                    n_rel += 1
                else:
                    p = [math.exp(v) for v in logp]
                    if kind == "entropy":
                        extra -= sum(pk * lk for pk, lk in zip(p, logp))
                    else:
                        target = [beta * (k == t) + (1 - beta) * p[k] for k in range(c)]
                        extra -= sum(tk * lk for tk, lk in zip(target, logp))
                    n_un += 1
    return ce / max(n_rel, 1), (extra / n_un if n_un else 0.0)


@pytest.mark.parametrize("kind", ["entropy", "bootstrap"])
def test_losses_equal_brute_force(kind):
    s, yc, yr = _example()
    for tau, lam in ((20.0, 0.1), (5.0, 0.7)):
        if kind == "entropy":
            out = entropy_regularisation_loss(s, yc, yr, temperature=tau, lam=lam)
        else:
            out = bootstrapping_loss(s, yc, yr, temperature=tau, lam=lam, beta=0.8)
        ce, extra = _brute(s, yc, yr, tau, kind, beta=0.8)
        assert float(out.ce) == pytest.approx(ce, rel=1e-5)
        assert float(out.extra) == pytest.approx(extra, rel=1e-5)
        assert float(out.loss) == pytest.approx(ce + lam * extra, rel=1e-5)


def test_bootstrap_limits_and_sets():
    s, yc, yr = _example(1)
    rel, unrel = reliable_sets(yc, yr)
    assert not (rel & unrel).any() and not (rel | unrel)[yc == 255].any()
    b1 = bootstrapping_loss(s, yc, yr, beta=1.0)
    b0 = bootstrapping_loss(s, yc, yr, beta=0.0)
    ent = entropy_regularisation_loss(s, yc, yr)
    logp = torch.log_softmax(20 * s, 1)
    nll = -logp.gather(1, yc.clamp(0, 2)[:, None])[:, 0]
    assert float(b1.extra) == pytest.approx(float(nll[unrel].mean()), rel=1e-6)  # beta = 1: CE on Y_crf over S~
    assert float(b0.extra) == pytest.approx(float(ent.extra), rel=1e-6)  # beta = 0: the entropy term
    with pytest.raises(ValueError):
        bootstrapping_loss(s, yc, yr, beta=1.5)
    with pytest.raises(ValueError):
        entropy_regularisation_loss(s, yc[:, :2], yr)


def test_empty_unreliable_set_and_void_pixels():
    s, yc, _ = _example(2)
    for fn in (entropy_regularisation_loss, bootstrapping_loss):
        out = fn(s, yc, yc.clone())
        assert torch.isfinite(out.loss) and float(out.extra) == 0.0 and not out.unreliable_mask.any()
        s2 = s.clone()
        s2[0, :, 0, :2] = torch.tensor([[0.9, -0.9], [-0.3, 0.2], [0.1, 0.5]])  # void pixels only
        _, _, yr = _example(2)
        assert float(fn(s, yc, yr).loss) == pytest.approx(float(fn(s2, yc, yr).loss), rel=1e-7)


def test_entropy_gradient_step_sharpens_unreliable_predictions():
    s, yc, yr = _example(3)
    s = s.mul(0.05).requires_grad_(True)  # near-uniform predictions
    out = entropy_regularisation_loss(s, yc, yr, lam=1.0)
    (g,) = torch.autograd.grad(out.extra, s)
    s_new = (s - 0.5 * g).detach()
    after = entropy_regularisation_loss(s_new, yc, yr, lam=1.0)
    assert float(after.extra) < float(out.extra.detach())


def test_seg_loss_dispatch():
    from bap.config import SegConfig
    from bap.engine.train import seg_loss
    from bap.noise_aware_loss import NoiseAwareLoss

    s, yc, yr = _example(4)
    crit = NoiseAwareLoss()
    cfg = SegConfig(loss="bootstrap", lam=0.3, beta=0.7, temperature=10.0)
    ref = bootstrapping_loss(s, yc, yr, temperature=10.0, lam=0.3, beta=0.7).loss
    assert float(seg_loss(cfg, crit, s, yc, yr)) == pytest.approx(float(ref))
    cfg = SegConfig(loss="entropy", lam=0.3, temperature=10.0)
    ref = entropy_regularisation_loss(s, yc, yr, temperature=10.0, lam=0.3).loss
    assert float(seg_loss(cfg, crit, s, yc, yr)) == pytest.approx(float(ref))
    with pytest.raises(ValueError):
        SegConfig(loss="symmetric")
    assert np.isfinite(float(seg_loss(SegConfig(loss="entropy"), crit, s, yc, yc)))
