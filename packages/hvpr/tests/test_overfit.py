"""Spec §11.3 test 2: the tiny HVPR overfits one synthetic scene (slow tier)."""

from __future__ import annotations

import pytest
import torch
from test_detector import _scene

from hvpr.config import preset
from hvpr.model import HVPR
from hvpr.ops.iou import rotated_iou_bev


def test_all_model_parameters_reach_the_optimizer():
    model = HVPR(preset("tiny_synthetic"))
    opt = torch.optim.Adam(model.parameters())
    ids = {id(p) for g in opt.param_groups for p in g["params"]}
    assert id(model.memory.weight) in ids and all(id(p) in ids for p in model.parameters())


@pytest.mark.slow
def test_overfit_one_scene():
    torch.manual_seed(0)
    model = HVPR(preset("tiny_synthetic"))
    cloud, gts = _scene(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99))
    model.train()
    first = None
    for it in range(150):
        batch = model.make_batch([cloud], training=True, seed=it)
        batch["gt_boxes"] = gts[None]
        out = model(batch)
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        first = out["losses"]["loss_cls_mem"].item() if first is None else first
    assert out["losses"]["loss_cls_mem"].item() < 0.2 * first
    det = model.predict(cloud)
    assert det.boxes.shape[0] > 0
    iou = rotated_iou_bev(gts[:, :7].double(), det.boxes.double())
    assert (iou.max(dim=1).values > 0.5).all()
