"""Training: default sampler, determinism, and (slow) an overfit smoke run."""

import pytest
import torch

from cvcore.reid import ImageDataset, PKSampler
from cvcore.reid.transforms import build_train_transform
from cvcore.seed import seed_everything
from reid_relation import RelationLoss, RelationNet, TrainConfig
from reid_relation.train import make_optimizer


def _first_step(synthetic, seed):
    seed_everything(seed)
    cfg = TrainConfig()
    sampler = PKSampler([r.pid for r in synthetic.train], 8, cfg.data.num_instances, cfg.data.sampler, seed=seed)
    sampler.set_epoch(1)
    idx = list(sampler)[:8]
    ds = ImageDataset(synthetic.train, build_train_transform(192, 64, erasing="rrid"))
    x = torch.stack([ds[i][0] for i in idx])
    y = torch.tensor([synthetic.train[i].pid for i in idx])
    model = RelationNet(synthetic.num_train_pids, backbone="resnet18", width=8, feat_dim=16).train()
    loss, _ = RelationLoss()(model(x), y)
    return idx, float(loss.detach())


def test_default_sampler_is_anchor_and_groups_of_four(synthetic):
    cfg = TrainConfig()
    assert (cfg.data.sampler, cfg.data.batch_size, cfg.data.num_instances) == ("anchor", 64, 4)
    s = PKSampler([r.pid for r in synthetic.train], 64, 4, cfg.data.sampler, seed=0)
    pids = torch.tensor([synthetic.train[i].pid for i in s]).view(-1, 4)
    assert (pids == pids[:, :1]).all() and len(s) == 4 * len(synthetic.train)


def test_same_seed_same_first_batch_and_loss(synthetic):
    a, b = _first_step(synthetic, 3), _first_step(synthetic, 3)
    assert a == b
    assert _first_step(synthetic, 4)[0] != a[0]


@pytest.mark.slow
def test_overfit_smoke(synthetic):
    seed_everything(0)
    recs = synthetic.train
    ds = ImageDataset(recs, build_train_transform(192, 64, flip=False, erasing=None))
    s = PKSampler([r.pid for r in recs], 16, 4, "anchor", seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=16, sampler=s, drop_last=True)
    model = RelationNet(synthetic.num_train_pids, backbone="resnet18", width=16, feat_dim=32).train()
    opt = make_optimizer(model, 0.01, 0.01)
    crit = RelationLoss()
    losses, accs, step = [], [], 0
    while step < 90:
        for x, y, _, _ in loader:
            loss, parts = crit(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            accs.append(parts["acc"])
            step += 1
            if step >= 90:
                break
    assert sum(losses[-5:]) / 5 <= 0.6 * sum(losses[:5]) / 5
    assert sum(accs[-5:]) / 5 > 0.5
