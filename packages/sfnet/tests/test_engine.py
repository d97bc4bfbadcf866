import subprocess
import sys

import pytest
import torch
from torch.utils.data import DataLoader

from sfnet.data.composites import make_composites
from sfnet.data.synthetic import SyntheticPairDataset
from sfnet.engine.train import synthetic_pck, train_one_epoch
from sfnet.losses import SFNetLoss
from sfnet.models.sfnet import SFNet


class Oracle(torch.nn.Module):
    """Returns the ground-truth grid of the dataset item it was given (by looking it up)."""

    def __init__(self, ds):
        super().__init__()
        self.ds = ds

    def forward(self, src, tgt):
        for i in range(len(self.ds)):
            it = self.ds[i]
            if torch.equal(it["image1"], src[0]):
                return type("O", (), {"grid_t2s": it["gt_grid_t2s"][None]})()
        raise AssertionError("unknown pair")


def test_synthetic_pck_oracle_is_one_and_identity_lower():
    imgs, masks = make_composites(3, size=64, seed=0)
    ds = SyntheticPairDataset(imgs, masks, image_size=(64, 64), feature_size=(4, 4), jitter=0.0, return_gt=True,
                              seed=0, affine_std=0.2)
    assert synthetic_pck(Oracle(ds), ds, alpha=0.01) == 1.0
    assert synthetic_pck(None, ds, alpha=0.05) < 1.0


@pytest.mark.slow
def test_overfit_smoke_tiny_backbone():
    torch.manual_seed(0)
    imgs, masks = make_composites(4, size=96, seed=0)
    ds = SyntheticPairDataset(imgs, masks, image_size=(96, 96), feature_size=(6, 6), seed=0, return_gt=True)
    model = SFNet(backbone="tiny", feature_size=(6, 6))
    opt = torch.optim.Adam(model.adaptation_parameters(), lr=1e-3)
    loss_fn = SFNetLoss()
    first = train_one_epoch(model, DataLoader(ds, batch_size=4), loss_fn, opt, torch.device("cpu"))["loss"]
    for _ in range(29):
        last = train_one_epoch(model, DataLoader(ds, batch_size=4), loss_fn, opt, torch.device("cpu"))["loss"]
    assert last <= 0.7 * first
    assert synthetic_pck(model, ds) > synthetic_pck(None, ds)


@pytest.mark.slow
def test_python_m_sfnet_help():
    r = subprocess.run([sys.executable, "-m", "sfnet", "--help"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "match" in r.stdout
