import math

import torch

from hvpr.ops import ResidualCoder, apply_direction, boxes_to_corners_3d, direction_target, limit_period


def _random_boxes(n, gen):
    b = torch.rand(n, 7, generator=gen, dtype=torch.float64)
    b[:, :3] = b[:, :3] * 40 - 20
    b[:, 3:6] = b[:, 3:6] * 4 + 0.3
    b[:, 6] = b[:, 6] * 4 * math.pi - 2 * math.pi
    return b


def test_coder_round_trip():
    gen = torch.Generator().manual_seed(0)
    g, a = _random_boxes(500, gen), _random_boxes(500, gen)
    dec = ResidualCoder.decode(ResidualCoder.encode(g, a), a)
    assert torch.allclose(dec, g, atol=1e-9)


def test_coder_hand_example():
    a = torch.tensor([[0.0, 0.0, -1.0, 3.0, 4.0, 1.5, 0.5]])  # diagonal 5
    g = torch.tensor([[5.0, -10.0, 0.5, 6.0, 2.0, 1.5, 1.0]])
    t = ResidualCoder.encode(g, a)[0]
    expected = torch.tensor([1.0, -2.0, 1.0, math.log(2.0), math.log(0.5), 0.0, 0.5])
    assert torch.allclose(t, expected, atol=1e-6)


def test_limit_period_range():
    x = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    y = limit_period(x, 0.5, math.pi)
    assert (y >= -math.pi / 2).all() and (y < math.pi / 2).all()
    k = (x - y) / math.pi
    assert torch.allclose(k, k.round(), atol=1e-9)


def test_direction_bin_recovers_heading():
    # exact residual: decoded heading = gt heading + any multiple of π; the bin must restore it mod 2π
    theta = torch.linspace(-2 * math.pi, 2 * math.pi, 1001, dtype=torch.float64)
    bins = direction_target(theta)
    assert set(bins.tolist()) <= {0, 1}
    for shift in (0.0, math.pi, -math.pi):
        out = apply_direction(theta + shift, bins)
        diff = limit_period(out - theta, 0.5, 2 * math.pi)
        assert diff.abs().max() < 1e-6
    # the bin must actually matter: the wrong bin is off by π
    out = apply_direction(theta, 1 - bins)
    assert (limit_period(out - theta, 0.5, 2 * math.pi).abs() - math.pi).abs().max() < 1e-6


def test_corners_axis_aligned():
    box = torch.tensor([[1.0, 2.0, 3.0, 4.0, 2.0, 1.0, 0.0]])
    c = boxes_to_corners_3d(box)[0]
    assert c.shape == (8, 3)
    assert torch.allclose(c[:, 0].min(), torch.tensor(-1.0)) and torch.allclose(c[:, 0].max(), torch.tensor(3.0))
    assert torch.allclose(c[:, 1].min(), torch.tensor(1.0)) and torch.allclose(c[:, 1].max(), torch.tensor(3.0))
    assert torch.allclose(c[:4, 2], torch.tensor(2.5)) and torch.allclose(c[4:, 2], torch.tensor(3.5))
    # rotating by 90° swaps the extents
    box[0, 6] = math.pi / 2
    c = boxes_to_corners_3d(box)[0]
    assert torch.allclose(c[:, 0].max() - c[:, 0].min(), torch.tensor(2.0), atol=1e-6)
    assert torch.allclose(c[:, 1].max() - c[:, 1].min(), torch.tensor(4.0), atol=1e-6)
