import math

import torch

from hvpr.engine import OneCycleSchedule


def test_one_cycle_closed_form():
    s = OneCycleSchedule(3e-3, 1000)
    assert s.t1 == 400
    assert math.isclose(s.lr(0), 3e-4) and math.isclose(s.beta1(0), 0.95)
    assert math.isclose(s.lr(400), 3e-3) and math.isclose(s.beta1(400), 0.85)
    f = 599 / 600
    end = 3e-3 / 10 / 1e4
    assert math.isclose(s.lr(999), end + (3e-3 - end) * (1 + math.cos(math.pi * f)) / 2)
    assert math.isclose(s.beta1(999), 0.95 + (0.85 - 0.95) * (1 + math.cos(math.pi * f)) / 2)
    # mid warm-up: halfway between lr_max/10 and lr_max
    assert math.isclose(s.lr(200), (3e-4 + 3e-3) / 2)
    lrs = [s.lr(t) for t in range(1000)]
    assert max(lrs) == lrs[400] and all(a <= b for a, b in zip(lrs[:400], lrs[1:401]))


def test_apply_sets_optimizer_groups():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.AdamW([p], lr=1.0, betas=(0.9, 0.99), weight_decay=0.01)
    s = OneCycleSchedule(1e-2, 10)
    s.apply(opt, 4)
    assert math.isclose(opt.param_groups[0]["lr"], s.lr(4)) and opt.param_groups[0]["betas"] == (s.beta1(4), 0.99)


def test_e36_step_matches_manual_decoupled_decay_adam_and_clipping():
    from hvpr.engine import make_optimizer, optimizer_step

    w0 = torch.tensor([1.0, -2.0, 0.5])
    p = torch.nn.Parameter(w0.clone())
    opt = make_optimizer([p], lr=1.0, weight_decay=0.01)
    s = OneCycleSchedule(3e-3, 10)
    g = torch.tensor([30.0, -40.0, 0.0])  # norm 50 -> clipped to 10
    p.grad = g.clone()
    norm = optimizer_step([p], opt, s, 3, grad_clip=10.0)
    assert math.isclose(norm, 50.0, rel_tol=1e-6)
    lr, b1, b2, wd = s.lr(3), s.beta1(3), 0.99, 0.01
    gc = g * (10.0 / (50.0 + 1e-6))
    m_hat = (1 - b1) * gc / (1 - b1)
    v_hat = (1 - b2) * gc**2 / (1 - b2)
    ref = w0 * (1 - lr * wd) - lr * m_hat / (v_hat.sqrt() + 1e-8)
    torch.testing.assert_close(p.detach(), ref, rtol=1e-6, atol=1e-7)
    # weight decay alone (zero gradient) multiplies by (1 - lr * wd)
    assert math.isclose(p.detach()[2].item(), 0.5 * (1 - lr * wd), rel_tol=1e-6)
