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


def _tiny_items(n=4, size=40):
    from bap.data import SyntheticBoxDataset, boxes_to_bg_mask

    ds = SyntheticBoxDataset(n, (size, size), num_classes=2, seed=1)
    out = []
    for i in range(n):
        s = ds[i]
        out.append({"id": str(i), "image": s.image, "boxes": s.boxes, "bg_mask": boxes_to_bg_mask(s.boxes, size, size),
                    "y_crf": s.mask, "y_ret": s.mask * (s.mask != 2)})  # disagreement on class 2 -> S~ non-empty
    return out


def test_amp_train_step_runs_and_matches_fp32(tmp_path):
    """--amp (bfloat16 autocast on CPU): one step per stage, loss finite and close to the fp32 loss of the
    same initialisation and batch; the weights move and stay finite; the config records amp."""
    from bap.config import ClassifierConfig, SegConfig
    from bap.engine.train import train_classifier, train_segmentation
    from cvcore.checkpoint import load_checkpoint

    items = _tiny_items()
    for kind in ("classifier", "segmenter"):
        res = {}
        for amp in (False, True):
            if kind == "classifier":
                cfg = ClassifierConfig(backbone="tiny", width=8, num_classes=3, iters=1, batch_size=2, crop=40,
                                       lr=0.01, log_every=1, seed=3, amp=amp)
                res[amp] = train_classifier(cfg, items, tmp_path / f"c{amp}", quiet=True)
            else:
                cfg = SegConfig(backbone="tiny", width=8, num_classes=3, iters=1, batch_size=2, crop=40, lr=0.01,
                                log_every=1, seed=3, amp=amp)
                res[amp] = train_segmentation(cfg, items, tmp_path / f"s{amp}", quiet=True)
        lf, la = res[False]["loss"], res[True]["loss"]
        assert torch.isfinite(torch.tensor(la)) and la > 0
        assert abs(la - lf) <= 0.03 * abs(lf), (kind, lf, la)
        w = {a: load_checkpoint(res[a]["checkpoint"], package="bap", strict_version=False)["model"] for a in res}
        for k, v in w[True].items():
            assert v.dtype == w[False][k].dtype and torch.isfinite(v.float()).all()
        assert load_checkpoint(res[True]["checkpoint"], package="bap", strict_version=False)["config"]["amp"] is True
