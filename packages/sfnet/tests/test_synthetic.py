import numpy as np
import pytest
import torch

from sfnet.data.composites import composite, make_composites, threshold_mask
from sfnet.data.synthetic import SyntheticPairDataset, affine_warp, compose_affine, invert_affine, random_affine
from sfnet.flow import regular_grid, warp
from sfnet.losses import flow_consistency, mask_consistency


@pytest.fixture(scope="module")
def composites():
    return make_composites(4, size=96, seed=0)


def test_affine_algebra():
    g = torch.Generator().manual_seed(3)
    t1, t2 = random_affine(0.15, g), random_affine(0.15, g)
    assert t1.shape == (2, 3)
    eye = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    torch.testing.assert_close(compose_affine(t1, invert_affine(t1)), eye, atol=1e-5, rtol=0)
    p = torch.tensor([0.3, -0.2, 1.0])
    torch.testing.assert_close(compose_affine(t2, t1) @ p, t2 @ torch.cat([t1 @ p, torch.ones(1)]))
    x = torch.rand(3, 8, 8)
    torch.testing.assert_close(affine_warp(x, eye), x, atol=1e-6, rtol=0)


def test_composite_masks_are_exact_and_binary():
    img, m = composite("astronaut", "brick", size=64, shape="horse")
    assert img.shape == (64, 64, 3) and m.shape == (64, 64) and set(np.unique(m)) <= {0, 255}
    assert 0.05 < (m > 0).mean() < 0.95
    t = threshold_mask(np.array([[0, 10], [200, 250]]))
    assert t.tolist() == [[0, 0], [255, 255]]


def test_pair_geometry_matches_ground_truth(composites):
    imgs, masks = composites
    ds = SyntheticPairDataset(imgs, masks, image_size=(96, 96), feature_size=(96, 96), jitter=0.0,
                              return_gt=True, seed=0)
    errs = []
    for i in range(len(ds)):
        it = ds[i]
        src, tgt = it["image1_rgb"], it["image2_rgb"]
        back = warp(tgt[None], it["gt_grid_s2t"][None])[0]
        g = it["gt_grid_s2t"]
        inside = (g.abs() <= 0.98).all(-1)
        # the source pixel itself must come from inside the canonical frame, too
        valid = inside & (src.sum(0) > 0)
        errs.append(float((back - src).abs().mean(0)[valid].mean()))
    assert max(errs) < 0.03, errs


def test_masks_binary_feature_size_and_both_encodings(composites):
    imgs, masks = composites
    ds255 = SyntheticPairDataset(imgs, masks, image_size=(96, 96), feature_size=(6, 6), seed=1)
    ds01 = SyntheticPairDataset(imgs, [m // 255 for m in masks], image_size=(96, 96), feature_size=(6, 6), seed=1)
    for i in range(2):
        a, b = ds255[i], ds01[i]
        assert a["mask1"].shape == (1, 6, 6) and set(a["mask1"].unique().tolist()) <= {0.0, 1.0}
        assert a["mask1"].sum() > 0
        torch.testing.assert_close(a["mask1"], b["mask1"])
        torch.testing.assert_close(a["mask2"], b["mask2"])
        assert a["image1"].shape == (3, 96, 96)


def test_mask_zero_outside_frame():
    img = np.full((32, 32, 3), 128, np.uint8)
    full = np.full((32, 32), 255, np.uint8)
    ds = SyntheticPairDataset([img], [full], image_size=(32, 32), feature_size=(16, 16), affine_std=0.3,
                              return_gt=True, seed=5, hflip_p=0.0)
    it = ds[0]
    g = it["gt_grid_s2t"]
    outside = (g.abs() > 1.3).any(-1)  # source cells whose scene point is > 2 cells out of the target frame
    if outside.any():
        assert it["mask1"][0][outside].sum() == 0


def test_loss_at_ground_truth(composites):
    imgs, masks = composites
    ds = SyntheticPairDataset(imgs, masks, image_size=(160, 160), feature_size=(20, 20), return_gt=True, seed=2)
    for i in range(3):
        it = ds[i]
        gs, gt = it["gt_grid_s2t"][None], it["gt_grid_t2s"][None]
        fs, ft = it["gt_flow_s2t"][None], it["gt_flow_t2s"][None]
        ms, mt = it["mask1"][None], it["mask2"][None]
        lf = flow_consistency(fs, warp(ft, gs), ms, ft, warp(fs, gt), mt)
        ident = regular_grid(20, 20)[None]
        zero = torch.zeros_like(fs)
        lf_id = flow_consistency(zero, warp(ft, ident), ms, zero, warp(fs, ident), mt)
        assert float(lf) < 0.05 * float(lf_id), (float(lf), float(lf_id))
        # exactly consistent wherever the true location is inside the other frame; the rest comes
        # from mask cells that bilinear bleeding + the 0.1 threshold keep just outside the frame
        ins, int_ = (gs.abs() <= 1).all(-1)[:, None].float(), (gt.abs() <= 1).all(-1)[:, None].float()
        lf_in = flow_consistency(fs, warp(ft, gs), ms * ins, ft, warp(fs, gt), mt * int_)
        assert float(lf_in) < 1e-8
        lm_gt = mask_consistency(warp(mt, gs), ms, warp(ms, gt), mt)
        lm_id = mask_consistency(warp(mt, ident), ms, warp(ms, ident), mt)
        assert float(lm_gt) < float(lm_id)


def test_determinism_and_epochs(composites):
    imgs, masks = composites
    a = SyntheticPairDataset(imgs, masks, image_size=(64, 64), feature_size=(4, 4), seed=7)
    b = SyntheticPairDataset(imgs, masks, image_size=(64, 64), feature_size=(4, 4), seed=7)
    torch.testing.assert_close(a[1]["image1"], b[1]["image1"])
    b.set_epoch(1)
    assert not torch.equal(a[1]["image1"], b[1]["image1"])


def test_bad_inputs():
    with pytest.raises(ValueError):
        SyntheticPairDataset([], [])
    ds = SyntheticPairDataset([np.zeros((8, 8, 3), np.uint8)], [np.zeros((9, 9), np.uint8)], image_size=(16, 16),
                              feature_size=(2, 2))
    with pytest.raises(ValueError, match="differ"):
        ds[0]
