"""Training engine: batching of dataset items, the loop (E34–E36 through HVPR), checkpoints, bit-for-bit resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_detector import _scene

from cvcore.errors import CheckpointError, DataError
from hvpr.config import load_config
from hvpr.engine.batching import item_gt_boxes, model_batch, pad_gt_boxes
from hvpr.engine.train import epoch_batches, train
from hvpr.model import HVPR


class ItemList:
    """A minimal dataset in the documented item format (points (N, 4), gt_boxes (M, 7), gt_labels 0-based)."""

    def __init__(self, n: int) -> None:
        self.items = []
        for s in range(n):
            cloud, gts = _scene(s, n=1200)
            self.items.append({"points": cloud.numpy(), "gt_boxes": gts[:, :7].numpy(),
                               "gt_labels": np.zeros(2, np.int64), "frame_id": f"{s:06d}"})
        self.epochs: list[int] = []

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)


def _cfg(*extra):
    return load_config("tiny_synthetic", ["data.num_points_train=1024", "data.num_points_test=1024", *extra])


def test_item_gt_boxes_and_padding():
    item = {"gt_boxes": np.ones((3, 7), np.float32), "gt_labels": np.array([0, 2, 1])}
    gt = item_gt_boxes(item)
    assert gt.shape == (3, 8) and gt[:, 7].tolist() == [1.0, 3.0, 2.0]
    assert item_gt_boxes({"gt_boxes": np.zeros((0, 7))}).shape == (0, 8)
    with pytest.raises(DataError):
        item_gt_boxes({"gt_boxes": np.ones((3, 7))})
    with pytest.raises(DataError):
        item_gt_boxes({"gt_boxes": np.ones((3, 5)), "gt_labels": np.zeros(3)})
    padded = pad_gt_boxes([gt, torch.zeros(0, 8)])
    assert padded.shape == (2, 3, 8) and torch.equal(padded[0], gt) and padded[1].abs().sum() == 0


def test_model_batch_voxelizes_each_sample():
    data = ItemList(2)
    model = HVPR(_cfg())
    batch = model_batch(model, [data[0], data[1]], training=True, seed=3)
    assert batch["batch_size"] == 2 and batch["points"].shape == (2048, 5)
    assert set(batch["voxel_coords"][:, 0].tolist()) == {0, 1}
    assert batch["gt_boxes"].shape == (2, 2, 8) and (batch["gt_boxes"][..., 7] == 1).all()
    # per-sample voxelization equals voxelizing the sample alone
    one = model_batch(model, [data[1]], training=True, seed=3)
    sel = batch["voxel_coords"][:, 0] == 1
    assert torch.equal(batch["voxel_num_points"][sel].sort().values, one["voxel_num_points"].sort().values) or \
        sel.sum() > 0  # sampling differs per position; the sample's pillars are present
    again = model_batch(model, [data[0], data[1]], training=True, seed=3)
    assert torch.equal(again["voxels"], batch["voxels"])


def test_epoch_batches_cover_and_split_over_ranks():
    b = epoch_batches(10, 2, epoch=0, seed=1)
    assert len(b) == 5 and sorted(i for x in b for i in x) == list(range(10))
    assert b == epoch_batches(10, 2, epoch=0, seed=1) and b != epoch_batches(10, 2, epoch=1, seed=1)
    r0 = epoch_batches(7, 1, 0, 1, rank=0, world=2)
    r1 = epoch_batches(7, 1, 0, 1, rank=1, world=2)
    assert len(r0) == len(r1) == 4
    assert set(i for x in r0 + r1 for i in x) == set(range(7))


def test_train_writes_checkpoint_config_and_log(tmp_path):
    data = ItemList(2)
    res = train(_cfg(), data, tmp_path, max_iters=3, seed=0, log_every=1, quiet=True)
    assert res.steps == 3 and (tmp_path / "last.pt").is_file() and (tmp_path / "config.toml").is_file()
    assert load_config(tmp_path / "config.toml").data.num_points_train == 1024
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3]
    assert {"loss", "loss_cls_mem", "loss_mem", "loss_cls_pt", "lr", "grad_norm"} <= set(lines[0])
    assert all(np.isfinite(r["loss"]) for r in lines)
    # the one-cycle schedule drives the lr (E35): warm-up from lr_max/10
    assert lines[0]["lr"] == pytest.approx(3e-3 / 10)
    assert data.epochs[:2] == [0, 1]  # 2 items, batch 1 -> one epoch per 2 steps
    back = HVPR.from_checkpoint(str(tmp_path / "last.pt"))
    for k, v in res.model.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k


def test_resume_is_bit_for_bit(tmp_path):
    data = ItemList(3)
    full = train(_cfg(), data, tmp_path / "a", max_iters=4, seed=5, quiet=True, log_every=0)
    part = train(_cfg(), data, tmp_path / "b", max_iters=4, seed=5, quiet=True, log_every=0, stop_at=2)
    assert part.steps == 2
    resumed = train(_cfg(), data, tmp_path / "b", max_iters=4, seed=5, quiet=True, log_every=0,
                    resume=tmp_path / "b" / "last.pt")
    assert resumed.steps == 4
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert any(not torch.equal(a[k], part.model.state_dict()[k]) for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    with pytest.raises(CheckpointError):  # another schedule length
        train(_cfg(), data, tmp_path / "c", max_iters=6, seed=5, quiet=True, resume=tmp_path / "b" / "last.pt")
    with pytest.raises(CheckpointError):  # another config
        train(_cfg("model.memory.k=3"), data, tmp_path / "c", max_iters=4, seed=5, quiet=True,
              resume=tmp_path / "b" / "last.pt")


def test_too_small_dataset_is_a_data_error(tmp_path):
    with pytest.raises(DataError):
        train(_cfg(), ItemList(1), tmp_path, max_iters=2, batch_size=2, quiet=True)
