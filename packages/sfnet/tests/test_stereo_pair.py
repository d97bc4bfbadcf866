"""A real dense correspondence: scikit-image's Middlebury motorcycle stereo pair and its disparity."""

import numpy as np
import pytest
import torch

from sfnet.flow import regular_grid
from sfnet.keypoint_transfer import transfer_keypoints
from sfnet.metrics import pck


@pytest.fixture(scope="module")
def stereo():
    data = pytest.importorskip("skimage.data")
    left, right, disp = data.stereo_motorcycle()
    return left, right, disp


def test_disparity_grid_transfers_keypoints_exactly_and_identity_does_not(stereo):
    left, right, disp = stereo
    h, w = disp.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.nan_to_num(disp.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    # left pixel (x, y) is seen at (x - d, y) in the right image: the grid over the left image
    grid = torch.from_numpy(np.stack([2 * (xs - d) / (w - 1) - 1, 2 * ys / (h - 1) - 1], -1)).float()
    rng = np.random.default_rng(0)
    valid = np.isfinite(disp) & (disp > 0) & (xs - d >= 0)
    idx = rng.choice(np.flatnonzero(valid), 300, replace=False)
    py, px = np.unravel_index(idx, (h, w))
    tgt_pts = torch.tensor(np.stack([px, py]), dtype=torch.float32)
    true_src = np.stack([px - d[py, px], py])
    est = transfer_keypoints(grid, tgt_pts, (h, w), (h, w), official_padding_correction=False)
    L = float(max(h, w))
    assert pck(true_src, est, L, alpha=0.01) == 1.0
    ident = transfer_keypoints(regular_grid(h, w), tgt_pts, (h, w), (h, w), official_padding_correction=False)
    assert pck(true_src, ident, L, alpha=0.01) < 0.2  # measured 0.0: disparities are 10-60 px
    print("identity PCK@0.01", pck(true_src, ident, L, alpha=0.01))
