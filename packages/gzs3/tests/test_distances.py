import torch
import torch.nn.functional as F

from gzs3.distances import squared_distances


def test_matches_cdist_and_loop():
    f = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    p = torch.randn(6, 5, dtype=torch.float64)
    d = squared_distances(f, p)
    assert d.shape == (2, 6, 3, 4) and d.dtype == torch.float64
    ref = torch.cdist(f.permute(0, 2, 3, 1).reshape(-1, 5), p) ** 2
    torch.testing.assert_close(d.permute(0, 2, 3, 1).reshape(-1, 6), ref)
    for b in range(2):
        for k in range(6):
            for i in range(3):
                for j in range(4):
                    assert abs(d[b, k, i, j] - ((f[b, :, i, j] - p[k]) ** 2).sum()) < 1e-10


def test_edge_cases():
    f = torch.ones(1, 3, 2, 2)
    d = squared_distances(f, torch.ones(1, 3))
    assert torch.equal(d, torch.zeros(1, 1, 2, 2))  # never negative from rounding
    big = squared_distances(torch.full((1, 2, 1, 1), 1e4), torch.zeros(1, 2))
    assert big.item() == 2e8


def test_upsample_before_distance_differs():
    # distances of upsampled features are not upsampled distances (E11 order matters)
    f = torch.tensor([[[[0.0, 2.0]]]])  # (1, 1, 1, 2)
    p = torch.tensor([[1.0]])
    a = squared_distances(F.interpolate(f, size=(1, 4), mode="bilinear", align_corners=False), p)
    b = F.interpolate(squared_distances(f, p), size=(1, 4), mode="bilinear", align_corners=False)
    assert not torch.allclose(a, b)


def test_gradient():
    f = torch.randn(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    p = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(squared_distances, (f, p))
