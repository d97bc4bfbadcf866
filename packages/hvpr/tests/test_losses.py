import math

import torch
import torch.nn.functional as F

from hvpr.model.losses import detection_loss, sigmoid_focal_loss, smooth_l1


def test_focal_against_direct_formula():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(200, 3, generator=g, dtype=torch.float64) * 4
    t = (torch.rand(200, 3, generator=g) > 0.7).double()
    p = torch.sigmoid(z)
    bce = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
    ref = torch.where(t == 1, 0.25 * (1 - p) ** 2, 0.75 * p**2) * bce
    assert torch.allclose(sigmoid_focal_loss(z, t), ref, atol=1e-10)


def test_smooth_l1_against_torch():
    d = torch.randn(1000, dtype=torch.float64) * 0.3
    assert torch.allclose(smooth_l1(d), F.smooth_l1_loss(d, torch.zeros_like(d), beta=1 / 9, reduction="none"))


def test_detection_loss_normalisation_by_loops():
    g = torch.Generator().manual_seed(1)
    B, N = 2, 30
    cls = torch.randn(B, N, 1, generator=g, dtype=torch.float64)
    box = torch.randn(B, N, 7, generator=g, dtype=torch.float64)
    dirp = torch.randn(B, N, 2, generator=g, dtype=torch.float64)
    labels = torch.randint(-1, 2, (B, N), generator=g)
    labels[1] = torch.where(labels[1] > 0, 0, labels[1])  # second sample has no positives: n_pos clamps to 1
    tgt = torch.randn(B, N, 7, generator=g, dtype=torch.float64)
    anchors = torch.randn(N, 7, generator=g, dtype=torch.float64)
    out = detection_loss(cls, box, dirp, labels, tgt, anchors, 1)
    lc = ll = ld = 0.0
    for b in range(B):
        npos = max(int((labels[b] > 0).sum()), 1)
        for n in range(N):
            lab = int(labels[b, n])
            if lab >= 0:
                lc += sigmoid_focal_loss(cls[b, n], torch.tensor([float(lab == 1)], dtype=torch.float64)).item() / npos
            if lab > 0:
                d = box[b, n] - tgt[b, n]
                d[6] = math.sin(box[b, n, 6] - tgt[b, n, 6])
                ll += smooth_l1(d).sum().item() / npos
                theta = (tgt[b, n, 6] + anchors[n, 6]).item()
                k = min(max(math.floor(((theta - 0.78539) % (2 * math.pi)) / math.pi), 0), 1)
                ld += -torch.log_softmax(dirp[b, n], 0)[k].item() / npos
    assert math.isclose(out["cls"].item(), lc / B, rel_tol=1e-9)
    assert math.isclose(out["loc"].item(), ll / B, rel_tol=1e-9)
    assert math.isclose(out["dir"].item(), ld / B, rel_tol=1e-9)
    assert math.isclose(out["total"].item(), (lc + 2 * ll + 0.2 * ld) / B, rel_tol=1e-9)
    # NaN regression targets give no loss
    tgt2 = tgt.clone()
    tgt2[..., :6] = float("nan")
    tgt2[..., 6] = box[..., 6]
    assert detection_loss(cls, box, dirp, labels, tgt2, anchors, 1)["loc"].item() == 0.0
