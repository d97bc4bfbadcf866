"""RelationLoss composition, the LR staircase, the default sampler and determinism."""

import pytest
import torch

from cvcore.reid import batch_hard_triplet_loss, cross_entropy
from reid_relation import RelationLoss, RelationNet, lr_at_epoch
from reid_relation.train import make_optimizer


def test_loss_equals_recomposition():
    torch.manual_seed(0)
    m = RelationNet(4, backbone="resnet18", width=8, feat_dim=16).train()
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    out = m(torch.randn(8, 3, 192, 64))
    total, parts = RelationLoss()(out, y)
    tri = sum(batch_hard_triplet_loss(f, y, 1.2, 1e-16) for f in out.features)
    ce = sum(cross_entropy(z, y) for z in out.all_logits())
    assert len(out.all_logits()) == 45
    assert float(total.detach()) == pytest.approx(float((tri + 2 * ce).detach()), rel=1e-6)
    assert parts["triplet"] == pytest.approx(float(tri), rel=1e-6) and 0 <= parts["acc"] <= 1
    same = torch.zeros(8, dtype=torch.long)
    total1, parts1 = RelationLoss()(out, same)
    assert parts1["triplet"] == 0.0
    assert float(total1.detach()) == pytest.approx(2 * sum(float(cross_entropy(z, same)) for z in out.all_logits()), rel=1e-6)
    with pytest.raises(ValueError):
        RelationLoss()(m.eval()(torch.randn(2, 3, 192, 64)), y[:2])


def test_lr_schedule_one_based_epochs():
    base = (1e-3, 1e-2)
    want = {1: (1e-3, 1e-2), 39: (1e-3, 1e-2), 40: (1e-4, 1e-3), 59: (1e-4, 1e-3), 60: (1e-5, 1e-4), 80: (1e-5, 1e-4)}
    for epoch, lrs in want.items():
        assert lr_at_epoch(epoch, base) == pytest.approx(list(lrs))


def test_optimizer_groups():
    m = RelationNet(3, backbone="resnet18", width=8, feat_dim=16)
    opt = make_optimizer(m, 0.01, 0.001)
    n_base = sum(p.numel() for p in m.base.parameters())
    assert sum(p.numel() for p in opt.param_groups[0]["params"]) == n_base
    assert opt.param_groups[0]["lr"] == 0.001 and opt.param_groups[1]["lr"] == 0.01
    assert opt.defaults["weight_decay"] == 5e-4 and opt.defaults["momentum"] == 0.9
