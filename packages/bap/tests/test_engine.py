import pytest
import torch


def test_training_update_is_sgd_with_momentum_and_coupled_weight_decay():
    """Two steps of the optimizer the trainers build equal the closed form (spec recipe)."""
    from bap.config import SegConfig
    from bap.engine.train import _optimizer, build_segmenter

    m = build_segmenter(SegConfig(backbone="tiny", width=8, num_classes=3))
    opt = _optimizer(m, 0.1, 0.9, 0.5)
    g = opt.param_groups[0]
    p = g["params"][0]
    lr, wd = g["lr"], g["weight_decay"]
    assert g["momentum"] == 0.9 and not g["nesterov"] and g["dampening"] == 0
    g1, g2 = torch.randn_like(p), torch.randn_like(p)
    p0 = p.detach().clone()
    p.grad = g1.clone()
    opt.step()
    b1 = g1 + wd * p0
    p1 = p0 - lr * b1
    torch.testing.assert_close(p.detach(), p1)
    p.grad = g2.clone()
    opt.step()
    b2 = 0.9 * b1 + g2 + wd * p1
    torch.testing.assert_close(p.detach(), p1 - lr * b2)


def test_poly_and_step_schedules_in_training(tmp_path):
    from bap.config import SegConfig
    from bap.engine.train import _optimizer, _set_lr, build_segmenter

    m = build_segmenter(SegConfig(backbone="tiny", width=8, num_classes=3))
    opt = _optimizer(m, 1e-3, 0.9, 5e-4)
    _set_lr(opt, (1 - 5 / 10) ** 0.9)
    lrs = {g["lr_mult"]: g["lr"] for g in opt.param_groups}
    assert lrs[10] == pytest.approx(1e-2 * 0.5 ** 0.9) and lrs[1] == pytest.approx(1e-3 * 0.5 ** 0.9)
