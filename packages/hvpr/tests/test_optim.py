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
