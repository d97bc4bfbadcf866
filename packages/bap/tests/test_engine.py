import pytest
import torch

from bap.engine.sgd import SGD


def test_sgd_matches_closed_form_two_steps():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = SGD([{"params": [p], "lr": 0.1, "weight_decay": 0.5}], lr=0.1, momentum=0.9)
    g1, g2 = torch.tensor([0.3, 0.1], dtype=torch.float64), torch.tensor([-0.2, 0.4], dtype=torch.float64)
    p0 = p.detach().clone()
    p.grad = g1.clone()
    opt.step()
    b1 = g1 + 0.5 * p0
    p1 = p0 - 0.1 * b1
    assert torch.allclose(p.detach(), p1)
    p.grad = g2.clone()
    opt.step()
    b2 = 0.9 * b1 + g2 + 0.5 * p1
    assert torch.allclose(p.detach(), p1 - 0.1 * b2)
    sd = opt.state_dict()
    opt2 = SGD([{"params": [p], "lr": 0.1, "weight_decay": 0.5}], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    assert torch.equal(opt2.state[0], opt.state[0])
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.slow
def test_sgd_equals_torch_optim_sgd():
    torch.manual_seed(0)
    a = torch.nn.Linear(4, 3)
    b = torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    oa = SGD([{"params": list(a.parameters()), "lr": 0.05, "weight_decay": 1e-3}], lr=0.05, momentum=0.9)
    ob = torch.optim.SGD(b.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    for _ in range(5):
        x = torch.randn(8, 4)
        for m, o in ((a, oa), (b, ob)):
            o.zero_grad()
            m(x).square().sum().backward()
            o.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_poly_and_step_schedules_in_training(tmp_path):
    from bap.config import SegConfig
    from bap.engine.train import _optimizer, _set_lr, build_segmenter

    m = build_segmenter(SegConfig(backbone="tiny", width=8, num_classes=3))
    opt = _optimizer(m, 1e-3, 0.9, 5e-4)
    _set_lr(opt, (1 - 5 / 10) ** 0.9)
    lrs = {g["lr_mult"]: g["lr"] for g in opt.param_groups}
    assert lrs[10] == pytest.approx(1e-2 * 0.5 ** 0.9) and lrs[1] == pytest.approx(1e-3 * 0.5 ** 0.9)
