import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bap.background_aware_pooling import (
    BackgroundAwarePooling,
    background_attention,
    box_sampling_grid,
    grid_background_prototypes,
    pad_for_grid,
    sample_box_features,
    weighted_avg_pool2d,
)


def _close(a, b, rtol=1e-7, atol=1e-9):
    # torch.testing costs ~10 s of imports on first use; compare with numpy instead
    np.testing.assert_allclose(torch.as_tensor(a).detach().numpy(), torch.as_tensor(b).detach().numpy(), rtol=rtol, atol=atol)



def test_pad_for_grid_even_odd_rule():
    x = torch.ones(1, 2, 41, 42)
    y = pad_for_grid(x, 4)
    assert y.shape == (1, 2, 44, 44)
    # 41 -> pad 3 (odd): all at the bottom; 42 -> pad 2 (even): 1 left, 1 right
    assert y[0, 0, :41].sum() == 41 * 42 and y[0, 0, 41:].sum() == 0
    assert y[0, 0, :, 0].sum() == 0 and y[0, 0, :, -1].sum() == 0 and y[0, 0, :41, 1].sum() == 41
    assert pad_for_grid(torch.ones(1, 1, 8, 8), 4).shape == (1, 1, 8, 8)


def test_grid_prototypes_equal_masked_means_by_hand():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 5, 41, 41, generator=g, dtype=torch.float64)
    m = (torch.rand(2, 41, 41, generator=g) > 0.6).double()
    m[1, :22, :22] = 0  # cell (0,0) (rows 0..10, cols 0..10) of image 1 gets no background
    protos, valid = grid_background_prototypes(f, m, 4)
    fp, mp = pad_for_grid(f, 4), pad_for_grid(m, 4)
    for b in range(2):
        for j in range(16):
            r, c = divmod(j, 4)
            cell_m = mp[b, r * 11:(r + 1) * 11, c * 11:(c + 1) * 11]
            cell_f = fp[b, :, r * 11:(r + 1) * 11, c * 11:(c + 1) * 11]
            assert bool(valid[b, j]) == bool(cell_m.sum() > 0)
            if cell_m.sum() > 0:
                ref = (cell_f * cell_m).sum((1, 2)) / cell_m.sum()
                _close(protos[b, j], ref)
    assert not valid[1, 0]


def test_background_attention_properties():
    q = torch.zeros(1, 2, 4, dtype=torch.float64)
    q[0, 0, 0] = 1.0
    q[0, 1, 1] = 1.0
    f = torch.zeros(1, 4, 1, 3, dtype=torch.float64)
    f[0, 0, 0, 0] = 5.0  # parallel to query 0, orthogonal to query 1
    f[0, 2, 0, 1] = 1.0  # orthogonal to both
    f[0, 0, 0, 2] = -1.0  # anti-parallel: ReLU -> 0
    a = background_attention(f, q, torch.tensor([[True, True]]))
    _close(a[0, 0], torch.tensor([0.5, 0.0, 0.0], dtype=torch.float64))
    a1 = background_attention(f, q, torch.tensor([[True, False]]))  # only valid queries are averaged
    assert float(a1[0, 0, 0]) == pytest.approx(1.0)
    assert background_attention(f, q, torch.tensor([[False, False]])).abs().sum() == 0


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_weighted_avg_pool_bins_follow_official_rule(n):
    x = torch.arange(n * n, dtype=torch.float64).view(1, n, n)
    out = weighted_avg_pool2d(x, torch.ones(n, n, dtype=torch.float64))
    if n == 1:
        assert torch.allclose(out, torch.zeros(4, 1, dtype=torch.float64))
        return
    s = n // 2
    length = n - s
    for bi, (r0, c0) in enumerate([(0, 0), (0, s), (s, 0), (s, s)]):
        block = x[0, r0:r0 + length, c0:c0 + length]
        assert float(out[bi, 0]) == pytest.approx(float(block.mean()), rel=1e-9)


def test_weighted_pool_zero_weight_removes_region():
    x = torch.randn(3, 4, 4, dtype=torch.float64)
    w = torch.ones(4, 4, dtype=torch.float64)
    w[:, :1] = 0
    out = weighted_avg_pool2d(x, w)
    _close(out[0], x[:, :2, 1:2].mean((1, 2)), rtol=1e-9, atol=1e-9)


def _np_bilinear_zero_pad(feat, gx, gy):
    """Independent grid_sample(align_corners=False, zeros) in numpy."""
    c, h, w = feat.shape
    px = ((gx + 1) * w - 1) / 2
    py = ((gy + 1) * h - 1) / 2
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    out = np.zeros((c,) + gx.shape)
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - np.abs(px - xi)) * (1 - np.abs(py - yi))
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = np.where(ok, feat[:, yi.clip(0, h - 1), xi.clip(0, w - 1)], 0.0)
            out += vals * wgt
    return out


def test_box_resampling_matches_independent_bilinear():
    g = torch.Generator().manual_seed(3)
    feat = torch.randn(4, 9, 11, generator=g, dtype=torch.float64)
    box_n = torch.tensor([-0.7, -0.4, 0.35, 0.9], dtype=torch.float64)
    grid = box_sampling_grid(box_n, (9, 11))
    # extent: ceil(x2_f) - floor(x1_f) with x_f = (x_n + 1)(w - 1) / 2
    assert grid.shape[:2] == (int(np.ceil(1.9 * 4) - np.floor(0.6 * 4)), int(np.ceil(1.35 * 5) - np.floor(0.3 * 5)))
    out = sample_box_features(feat, box_n)
    ref = _np_bilinear_zero_pad(feat.numpy(), grid[..., 0].numpy(), grid[..., 1].numpy())
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
    assert grid[0, 0].tolist() == pytest.approx([-0.7, -0.4]) and grid[-1, -1].tolist() == pytest.approx([0.35, 0.9])


def _batch(bg_frac_small=False):
    g = torch.Generator().manual_seed(0)
    f = torch.rand(2, 6, 8, 8, generator=g, dtype=torch.float64)
    bg = torch.ones(2, 64, 64, dtype=torch.float64)
    bg[:, 8:40, 8:40] = 0
    if bg_frac_small:
        bg[1, :56, :] = 0  # exactly 12.5 % background: not > 0.125, so GAP
    boxes = torch.tensor([[8, 8, 40, 40, 2], [8, 8, 40, 40, 1]], dtype=torch.float64)
    return f, boxes, torch.tensor([0, 1]), bg


def test_bap_targets_and_shapes():
    f, boxes, idx, bg = _batch()
    out = BackgroundAwarePooling(grid_size=4)(f, boxes, idx, bg, (64, 64))
    assert out.fg.shape == (8, 6) and out.fg_labels.tolist() == [2] * 4 + [1] * 4
    assert out.bg.shape[0] == out.bg_labels.shape[0] and out.bg_labels.sum() == 0
    assert out.uses_bap.tolist() == [True, True]
    x, t = out.samples()
    assert x.shape[0] == t.shape[0] == 8 + out.bg.shape[0]


def test_bap_equals_gap_with_orthogonal_prototypes_and_moves_towards_foreground():
    # background features along e0, foreground along e1; the box contains both
    f = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    f[0, 0] = 1.0
    f[0, 0, 2:6, 2:5] = 0.0
    f[0, 1, 2:6, 2:5] = 1.0
    bg = torch.ones(1, 64, 64, dtype=torch.float64)
    bg[0, 16:48, 16:48] = 0
    boxes = torch.tensor([[16, 16, 48, 48, 1]], dtype=torch.float64)
    bap = BackgroundAwarePooling(grid_size=2, bins=(1, 1), roi_align_corners=True)
    gap = BackgroundAwarePooling(grid_size=2, bins=(1, 1), roi_align_corners=True, mode="gap")
    rb = bap(f, boxes, torch.tensor([0]), bg).fg[0]
    rg = gap(f, boxes, torch.tensor([0]), bg).fg[0]
    fg_mean = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    cos = lambda a: float(F.cosine_similarity(a, fg_mean, dim=0))  # noqa: E731
    assert cos(rb) > cos(rg) + 0.1
    # foreground-only box: BAP == GAP (attention 0 everywhere in the box)
    f2 = f.clone()
    f2[0, 0, 2:6, 2:6] = 0.0
    f2[0, 1, 2:6, 2:6] = 1.0
    box2 = torch.tensor([[21.0, 21.0, 37.0, 37.0, 1]], dtype=torch.float64)
    _close(bap(f2, box2, torch.tensor([0]), bg).fg, gap(f2, box2, torch.tensor([0]), bg).fg)


def test_gap_fallback_for_small_background_keeps_bg_samples():
    f, boxes, idx, bg = _batch(bg_frac_small=True)
    bap = BackgroundAwarePooling(grid_size=4)
    out = bap(f, boxes, idx, bg, (64, 64))
    assert out.uses_bap.tolist() == [True, False]
    gap = BackgroundAwarePooling(grid_size=4, mode="gap")(f, boxes, idx, bg, (64, 64))
    _close(out.fg[4:], gap.fg[4:])
    assert not torch.allclose(out.fg[:4], gap.fg[:4])
    _, valid = grid_background_prototypes(f, F.interpolate(bg[:, None], size=(8, 8))[:, 0], 4)
    assert out.bg.shape[0] == int(valid.sum()) and valid[1].any()


def test_bap_gradients_flow_to_features():
    f, boxes, idx, bg = _batch()
    f.requires_grad_(True)
    out = BackgroundAwarePooling()(f, boxes, idx, bg)
    (out.fg.sum() + out.bg.sum()).backward()
    assert f.grad is not None and torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


def test_no_boxes_gives_empty_fg():
    f, _, _, bg = _batch()
    out = BackgroundAwarePooling()(f, torch.zeros(0, 5, dtype=torch.float64), torch.zeros(0, dtype=torch.long), bg)
    assert out.fg.shape == (0, 6) and out.fg_labels.numel() == 0
