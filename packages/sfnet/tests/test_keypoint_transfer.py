import pytest
import torch

from sfnet.flow import regular_grid, upsample_grid
from sfnet.keypoint_transfer import padding_scale, transfer_keypoints


def _pts(k=12, size=(288, 288), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.rand(k, generator=g) * (size[1] - 1), torch.rand(k, generator=g) * (size[0] - 1)])


def test_identity_without_correction_maps_points_to_themselves():
    pts = _pts(size=(200, 300))
    out = transfer_keypoints(regular_grid(20, 20), pts, (200, 300), (200, 300), official_padding_correction=False)
    assert out.shape == (2, 12)
    assert (out - pts).abs().max() <= 0.5 + 1e-4  # rounding to the nearest pixel only


def test_correction_crops_and_rescales():
    grid = torch.rand(1, 20, 20, 2) * 1.6 - 0.8
    pts = _pts()[None]
    out = transfer_keypoints(grid, pts, (288, 288), (288, 288))
    ref_grid = upsample_grid(grid[:, 1:-1, 1:-1] * (10 / 9), (288, 288))
    x, y = pts[0, 0].round().long(), pts[0, 1].round().long()
    ref = (ref_grid[0, y, x] + 1) * 287 / 2
    torch.testing.assert_close(out[0], ref.T)
    assert padding_scale(20) == pytest.approx(10 / 9)
    # identity grid of the padded 320 input maps content keypoints to themselves within ~1 %
    ident = transfer_keypoints(regular_grid(20, 20)[None], pts, (288, 288), (288, 288))
    assert (ident - pts).abs().max() < 0.01 * 288


def test_missing_points_and_clamping():
    pts = torch.tensor([[-1.0, 299.7], [-1.0, 199.6]])  # missing; beyond the last pixel after rounding
    out = transfer_keypoints(regular_grid(5, 5), pts, (200, 300), (200, 300), official_padding_correction=False)
    assert out[:, 0].tolist() == [-1.0, -1.0]
    assert out[:, 1].tolist() == pytest.approx([299.0, 199.0])


def test_bad_shapes():
    with pytest.raises(ValueError):
        transfer_keypoints(regular_grid(4, 4), torch.zeros(3, 2), (8, 8), (8, 8))
    with pytest.raises(ValueError):
        transfer_keypoints(regular_grid(4, 4), torch.zeros(2, 2), (8, 8), (8, 8))  # 4x4 grid vs 20x20 feature
