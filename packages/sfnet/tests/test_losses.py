import pytest
import torch

from sfnet.flow import flow_to_grid, grid_to_flow, regular_grid, warp
from sfnet.losses import SFNetLoss, central_differences, flow_consistency, mask_consistency, smoothness, smoothness_map
from sfnet.models.sfnet import SFNetOutput


def test_central_differences_hand_values():
    x = torch.tensor([[[[1.0, 2.0, 4.0]]]])
    dx, dy = central_differences(x)
    assert dx.flatten().tolist() == [1.0, 1.5, -1.0]  # (2-0)/2, (4-1)/2, (0-2)/2
    assert dy.flatten().tolist() == [0.0, 0.0, 0.0]


def test_smoothness_modes_ramp_and_translation():
    h = w = 7
    ramp = torch.arange(w, dtype=torch.float64).view(1, 1, 1, w).expand(1, 1, h, w) * 0.1
    flow = torch.cat([ramp, -ramp], dim=1)  # u = ramp, v = -ramp
    interior = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    off = smoothness_map(flow, "official")[interior]
    per = smoothness_map(flow, "per_component")[interior]
    assert off.abs().max() < 1e-12
    torch.testing.assert_close(per, torch.full_like(per, 0.2))  # |D_x u| + |D_x v| = 0.1 + 0.1
    trans = torch.full((1, 2, h, w), 0.3, dtype=torch.float64)
    for mode in ("official", "per_component"):
        assert smoothness_map(trans, mode)[interior].abs().max() < 1e-12


def test_smoothness_masked_normalisation():
    flow = torch.zeros(1, 2, 3, 3, dtype=torch.float64)
    flow[0, 0, 1, 1] = 2.0
    mask = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    mask[0, 0, 1, 0] = 1.0  # left neighbour: D_x(u+v) = (2 - 0)/2 = 1, D_y = 0
    s = smoothness(flow, mask, torch.zeros_like(flow), torch.zeros_like(mask))
    assert s.shape == (1,) and float(s) == pytest.approx(1.0 / 2.0)  # / (sum mask + 1)


def test_mask_consistency_value():
    a = torch.zeros(2, 1, 2, 2)
    b = torch.ones(2, 1, 2, 2)
    b[1] = 0
    lm = mask_consistency(a, b, a, a)
    assert lm.tolist() == [1.0, 0.0]


def test_flow_consistency_zero_for_inverse_translations_and_positive_otherwise():
    h, w = 6, 6
    f = torch.zeros(1, 2, h, w)
    f[:, 0] = 0.2
    g = flow_to_grid(f)
    mask = torch.ones(1, 1, h, w)
    back = warp(-f, g)
    lf = flow_consistency(f, back, mask, -f, warp(f, flow_to_grid(-f)), mask)
    # interior points cancel; points sampled outside get 0 from padding, so only those count
    m2 = mask.clone()
    m2[..., -1] = 0
    m2[..., 0] = 0
    lf_int = flow_consistency(f, back, m2, -f, warp(f, flow_to_grid(-f)), m2)
    assert float(lf_int) < 1e-10 and float(lf) > 0
    lf_bad = flow_consistency(f, warp(f, g), m2, f, warp(f, g), m2)
    assert float(lf_bad) > 0.1


def test_total_loss_weights_and_gradient():
    torch.manual_seed(0)
    b, h, w = 2, 5, 5
    grid_s2t = (torch.rand(b, h, w, 2) * 1.8 - 0.9).requires_grad_()
    grid_t2s = (torch.rand(b, h, w, 2) * 1.8 - 0.9).requires_grad_()
    ms = (torch.rand(b, 1, h, w) > 0.5).float()
    mt = (torch.rand(b, 1, h, w) > 0.5).float()
    fs, ft = grid_to_flow(grid_s2t), grid_to_flow(grid_t2s)
    out = SFNetOutput(grid_s2t, grid_t2s, fs, ft, None, None,
                      warped_src_mask=warp(mt, grid_s2t), warped_tgt_mask=warp(ms, grid_t2s),
                      warped_flow_s2t=warp(fs, grid_t2s), warped_flow_t2s=warp(ft, grid_s2t))
    total, parts = SFNetLoss()(out, ms, mt)
    lm = mask_consistency(out.warped_src_mask, ms, out.warped_tgt_mask, mt).sum() * 3 / b
    lf = flow_consistency(fs, out.warped_flow_t2s, ms, ft, out.warped_flow_s2t, mt).sum() * 16 / b
    ls = smoothness(fs, ms, ft, mt).sum() * 0.5 / b
    torch.testing.assert_close(total, lm + lf + ls)
    lm, lf, ls = float(lm.detach()), float(lf.detach()), float(ls.detach())
    assert parts["mask"] == pytest.approx(lm) and parts["smooth"] == pytest.approx(ls)
    total.backward()
    assert grid_s2t.grad.abs().sum() > 0 and grid_t2s.grad.abs().sum() > 0
    total_pc, _ = SFNetLoss(smoothness_mode="per_component")(out, ms, mt)
    assert float(total_pc.detach()) != pytest.approx(float(total.detach()))


def test_bad_mode_and_missing_masks():
    with pytest.raises(ValueError):
        SFNetLoss(smoothness_mode="paper")
    g = regular_grid(2, 2).unsqueeze(0)
    out = SFNetOutput(g, g, grid_to_flow(g), grid_to_flow(g), None, None)
    with pytest.raises(ValueError):
        SFNetLoss()(out, torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
