"""Real data: the Graffiti pair graf1 -> graf3 with its ground-truth homography (OpenCV samples)."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from cvcore.data import read_image
from cvcore.testing import test_data_path as data_path
from sfnet.argmax import kernel_soft_argmax
from sfnet.flow import regular_grid
from sfnet.keypoint_transfer import transfer_keypoints
from sfnet.matching import l2_normalize
from sfnet.metrics import pck

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def graf():
    paths = [data_path("opencv", n) for n in ("graf1.png", "graf3.png", "H1to3p.xml")]
    if any(p is None for p in paths):
        pytest.skip("opencv graf1/graf3/H1to3p.xml not in CVCORE_TEST_DATA")
    text = ET.parse(paths[2]).getroot().find("H13").find("data").text
    H = np.array([float(v) for v in text.split()], np.float64).reshape(3, 3)
    return read_image(paths[0]), read_image(paths[1]), H


def _apply(H, x, y):
    p = np.einsum("ij,j...->i...", H, np.stack([x, y, np.ones_like(x)]))
    return p[0] / p[2], p[1] / p[2]


def _gt_grid_t2s(H, src_shape, tgt_shape, h, w):
    """Grid over the target (graf3) of normalised source (graf1) positions: H^-1 at every cell."""
    ht, wt = tgt_shape[:2]
    hs, ws = src_shape[:2]
    ys, xs = np.meshgrid(np.linspace(0, ht - 1, h), np.linspace(0, wt - 1, w), indexing="ij")
    sx, sy = _apply(np.linalg.inv(H), xs, ys)
    return torch.from_numpy(np.stack([2 * sx / (ws - 1) - 1, 2 * sy / (hs - 1) - 1], -1)).float()


def _keypoints(H, src, tgt, n=200, seed=0):
    """Random target pixels whose true source position lies inside graf1 (2 x K each)."""
    rng = np.random.default_rng(seed)
    ht, wt = tgt.shape[:2]
    tx, ty = rng.uniform(0, wt - 1, 4 * n), rng.uniform(0, ht - 1, 4 * n)
    tx, ty = np.round(tx), np.round(ty)
    sx, sy = _apply(np.linalg.inv(H), tx, ty)
    ok = (sx >= 0) & (sx <= src.shape[1] - 1) & (sy >= 0) & (sy <= src.shape[0] - 1)
    return np.stack([tx[ok][:n], ty[ok][:n]]), np.stack([sx[ok][:n], sy[ok][:n]])


def test_pck_of_ground_truth_is_one_and_identity_is_low(graf):
    src, tgt, H = graf
    tgt_pts, src_pts = _keypoints(H, src, tgt)
    L = float(max(tgt.shape[:2]))
    grid = _gt_grid_t2s(H, src.shape, tgt.shape, 80, 100)  # dense grid, bilinearly upsampled by the transfer
    est = transfer_keypoints(grid, torch.from_numpy(tgt_pts).float(), src.shape[:2], tgt.shape[:2],
                             official_padding_correction=False)
    assert pck(src_pts, est, L, alpha=0.01) == 1.0  # within 8 px on an 800 x 640 image
    ident = transfer_keypoints(regular_grid(20, 20), torch.from_numpy(tgt_pts).float(), src.shape[:2],
                               tgt.shape[:2], official_padding_correction=False)
    print("identity PCK@0.1", pck(src_pts, ident, L, alpha=0.1))
    assert pck(src_pts, ident, L, alpha=0.1) < 0.5  # measured 0.425: the homography moves most points > 80 px


def test_kernel_soft_argmax_recovers_ground_truth_from_a_correlation(graf):
    src, tgt, H = graf
    h = w = 20
    gt = _gt_grid_t2s(H, src.shape, tgt.shape, h, w)  # h x w x 2 (target cells -> source positions)
    cells = (gt + 1) * torch.tensor([(w - 1) / 2, (h - 1) / 2])  # in source cell units
    src_cells = regular_grid(h, w)
    src_cells = (src_cells + 1) * torch.tensor([(w - 1) / 2, (h - 1) / 2])  # h x w x 2
    d2 = ((src_cells.view(h * w, 1, 1, 2) - cells.view(1, h, w, 2)) ** 2).sum(-1)  # (Hs*Ws) x Ht x Wt
    # a correlation peaked at the true source position, normalised over candidates as in (E4)
    corr = l2_normalize(torch.exp(-d2 / (2 * 3.0**2))[None], dim=1)
    pred = kernel_soft_argmax(corr, beta=50.0, sigma=5.0)[0]
    inside = (gt.abs() <= 0.5).all(-1)  # >= 5 cells from the border, where the bump is not truncated
    err_cells = ((pred - gt) * torch.tensor([(w - 1) / 2, (h - 1) / 2])).norm(dim=-1)[inside]
    print("inside", int(inside.sum()))
    assert inside.sum() > 30
    print("soft argmax error (cells): mean", float(err_cells.mean()), "max", float(err_cells.max()))
    # measured 0.10 / 0.19 cells; the window centred on the integer peak pulls towards that cell
    assert float(err_cells.mean()) < 0.15 and float(err_cells.max()) < 0.3
    hard = kernel_soft_argmax(corr, beta=None)[0]
    hard_err = ((hard - gt) * torch.tensor([(w - 1) / 2, (h - 1) / 2])).norm(dim=-1)[inside]
    print("hard argmax error (cells): mean", float(hard_err.mean()))
    assert float(hard_err.mean()) > 1.5 * float(err_cells.mean())  # sub-cell accuracy is the soft part's doing
