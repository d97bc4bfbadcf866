import numpy as np
import torch

from hvpr.ops import ball_query, farthest_point_sample, three_nn_interpolate


def _fps_ref(xyz, m):
    n = len(xyz)
    sel = [0]
    dist = np.full(n, np.inf)
    for _ in range(m - 1):
        dist = np.minimum(dist, ((xyz - xyz[sel[-1]]) ** 2).sum(1))
        sel.append(int(np.argmax(dist)))
    return sel


def test_fps_equals_brute_force():
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(2, 300, 3))
    out = farthest_point_sample(torch.from_numpy(xyz), 40)
    assert out.shape == (2, 40)
    for b in range(2):
        assert out[b].tolist() == _fps_ref(xyz[b], 40)
        assert len(set(out[b].tolist())) == 40


def _ball_ref(radius, ns, xyz, centres):
    out = []
    for c in centres:
        found = [j for j in range(len(xyz)) if ((xyz[j] - c) ** 2).sum() < radius * radius][:ns]
        if not found:
            out.append([0] * ns)
        else:
            out.append(found + [found[0]] * (ns - len(found)))
    return out


def test_ball_query_equals_brute_force():
    rng = np.random.default_rng(1)
    xyz = rng.uniform(0, 4, (2, 200, 3))
    centres = np.concatenate([xyz[:, :30], rng.uniform(-5, 10, (2, 10, 3))], 1)  # incl. far, empty balls
    idx = ball_query(0.7, 8, torch.from_numpy(xyz), torch.from_numpy(centres))
    assert idx.shape == (2, 40, 8)
    for b in range(2):
        assert idx[b].tolist() == _ball_ref(0.7, 8, xyz[b], centres[b])
    assert (idx[:, 30:] == 0).any()
    # strict inequality: a point at exactly the radius is excluded
    pts = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0], [0.5, 0, 0]]])
    assert ball_query(1.0, 3, pts, pts[:, :1]).tolist() == [[[0, 2, 0]]]
    # nsample larger than N pads with the first index
    assert ball_query(5.0, 5, pts, pts[:, :1]).tolist() == [[[0, 1, 2, 0, 0]]]


def test_three_nn_interpolate_brute_force():
    rng = np.random.default_rng(2)
    unk, kn = rng.normal(size=(1, 20, 3)), rng.normal(size=(1, 12, 3))
    feats = rng.normal(size=(1, 5, 12))
    out = three_nn_interpolate(torch.from_numpy(unk), torch.from_numpy(kn), torch.from_numpy(feats)).numpy()
    for i in range(20):
        d = np.sqrt(((kn[0] - unk[0, i]) ** 2).sum(1))
        nn = np.argsort(d)[:3]
        w = 1 / (d[nn] + 1e-8)
        w /= w.sum()
        assert np.allclose(out[0, :, i], feats[0][:, nn] @ w, atol=1e-10)
