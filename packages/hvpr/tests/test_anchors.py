import numpy as np
import torch

from hvpr.model import AnchorGenerator, assign_targets
from hvpr.ops import ResidualCoder


def test_anchor_grid_closed_form():
    gen = AnchorGenerator([0, -10.24, -3, 20.48, 10.24, 1], [(3.9, 1.6, 1.56)], [0.0, 1.57], -1.78)
    a = gen.generate((32, 32))
    assert a.shape == (32, 32, 2, 7) and gen.num_anchors_per_location == 2
    assert torch.allclose(a[0, 0, 0, :2], torch.tensor([0.0, -10.24]))
    assert torch.allclose(a[-1, -1, 1, :2], torch.tensor([20.48, 10.24]), atol=1e-5)
    assert torch.allclose(a[3, 5, 1], torch.tensor([5 * 20.48 / 31, -10.24 + 3 * 20.48 / 31, -1.0, 3.9, 1.6, 1.56, 1.57]))
    flat = a.reshape(-1, 7)  # flat index (y·W + x)·A + a
    assert torch.equal(flat[(3 * 32 + 5) * 2 + 1], a[3, 5, 1])


def _reference(anchors, gts, labels, matched, unmatched):
    """Loop implementation of the rule of spec §3.7 with an independent axis-aligned IoU."""
    def snap(b):
        r = (b[6] + np.pi / 2) % np.pi - np.pi / 2
        dx, dy = (b[3], b[4]) if abs(r) < np.pi / 4 else (b[4], b[3])
        return b[0] - dx / 2, b[1] - dy / 2, b[0] + dx / 2, b[1] + dy / 2

    def iou(p, q):
        w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
        h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
        i = w * h
        return i / max((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - i, 1e-6)

    m = np.array([[iou(snap(a), snap(g)) for g in gts] for a in anchors])
    out = np.full(len(anchors), -1)
    for k in range(len(anchors)):
        best = m[k].max()
        if best >= matched:
            out[k] = labels[m[k].argmax()]
        elif best < unmatched:
            out[k] = 0
    for j in range(len(gts)):
        if m[:, j].max() > 0:
            for k in np.nonzero(m[:, j] == m[:, j].max())[0]:
                out[k] = labels[m[k].argmax()]
    return out, m.argmax(1)


def test_assign_targets_against_loop_reference():
    gen = AnchorGenerator([0, -4, -3, 8, 4, 1], [(3.9, 1.6, 1.56)], [0.0, 1.57], -1.78)
    anchors = gen.generate((9, 9)).reshape(-1, 7).double()
    rng = np.random.default_rng(0)
    for _ in range(5):
        g = np.column_stack([rng.uniform(0, 8, 3), rng.uniform(-4, 4, 3), np.full(3, -1.0), rng.uniform(3.5, 4.5, 3),
                             rng.uniform(1.5, 1.8, 3), np.full(3, 1.5), rng.uniform(-np.pi, np.pi, 3)])
        gl = np.array([1, 1, 1])
        lab, tgt, w = assign_targets(anchors, torch.from_numpy(g), torch.from_numpy(gl), 0.6, 0.45)
        ref, arg = _reference(anchors.numpy(), g, gl, 0.6, 0.45)
        assert np.array_equal(lab.numpy(), ref)
        assert (ref == -1).any() and (ref == 1).any() and (ref == 0).any()
        fg = ref > 0
        enc = ResidualCoder.encode(torch.from_numpy(g[arg[fg]]), anchors[fg])
        assert torch.allclose(tgt[fg], enc) and (tgt[~fg] == 0).all() and torch.equal(w, torch.from_numpy(fg).double())


def test_forced_positive_and_empty_frame():
    anchors = torch.tensor([[0.0, 0, 0, 4, 2, 1, 0], [10.0, 0, 0, 4, 2, 1, 0]])
    gt = torch.tensor([[1.5, 0, 0, 4, 2, 1, 0]])  # IoU 2.5/5.5 ≈ 0.45 with anchor 0 < matched 0.6
    lab, _, _ = assign_targets(anchors, gt, torch.tensor([1]), 0.6, 0.45)
    assert lab.tolist() == [1, 0]  # forced positive despite being below the matched threshold
    lab, tgt, w = assign_targets(anchors, torch.zeros(0, 7), torch.zeros(0, dtype=torch.long), 0.6, 0.45)
    assert lab.tolist() == [0, 0] and (w == 0).all()
