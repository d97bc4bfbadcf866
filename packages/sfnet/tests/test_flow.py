import numpy as np
import pytest
import torch

from sfnet.flow import flow_to_color, flow_to_grid, grid_to_flow, regular_grid, upsample_grid, warp


def test_regular_grid_is_corner_aligned():
    g = regular_grid(3, 5, dtype=torch.float64)
    assert g.shape == (3, 5, 2)
    assert g[0, 0].tolist() == [-1.0, -1.0] and g[-1, -1].tolist() == [1.0, 1.0]
    assert g[1, 2].tolist() == [0.0, 0.0] and g[0, 1, 0] == -0.5
    assert regular_grid(1, 1).abs().sum() == 0


def test_flow_grid_roundtrip_and_identity_warp():
    grid = torch.rand(2, 4, 6, 2) * 2 - 1
    torch.testing.assert_close(flow_to_grid(grid_to_flow(grid)), grid)
    x = torch.rand(2, 3, 4, 6)
    ident = regular_grid(4, 6).expand(2, 4, 6, 2)
    torch.testing.assert_close(warp(x, ident), x, atol=1e-6, rtol=0)


def test_warp_by_one_cell_matches_shift():
    x = torch.arange(20.0).view(1, 1, 4, 5)
    g = regular_grid(4, 5).clone().unsqueeze(0)
    g[..., 0] += 2 / 4  # sample one cell to the right
    out = warp(x, g)
    torch.testing.assert_close(out[..., :-1], x[..., 1:])
    assert (out[..., -1] == 0).all()  # zero padding outside


def test_warp_gradient():
    x = torch.rand(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    g = (torch.rand(1, 2, 2, 2, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: warp(a, b), (x, g))


def test_upsample_grid_keeps_identity():
    g = regular_grid(5, 5).unsqueeze(0)
    torch.testing.assert_close(upsample_grid(g, (9, 13))[0], regular_grid(9, 13), atol=1e-6, rtol=0)


def test_flow_to_color():
    f = torch.zeros(2, 4, 4)
    assert (flow_to_color(f) == 255).all()  # zero flow is white
    f[0, :, :2] = 1.0
    f[0, :, 2:] = -1.0
    c = flow_to_color(f)
    assert c.shape == (4, 4, 3) and c.dtype == np.uint8
    assert not np.array_equal(c[0, 0], c[0, 3])  # opposite directions, different colours


def test_bad_shapes():
    with pytest.raises(ValueError):
        grid_to_flow(torch.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError):
        warp(torch.zeros(1, 1, 3, 3), torch.zeros(2, 3, 3, 2))
