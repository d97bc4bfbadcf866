"""Voxel stream, point stream, memory, aggregation, scatter, AMFM backbone and head against direct references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hvpr.model import (
    AMFMBackbone,
    AnchorHead,
    MemoryBank,
    PillarFeatureNet,
    PointNet2MSG,
    ScaleEncoder,
    SpatialAttention,
    aggregate_points,
    hard_shrink_relu,
    memory_loss,
    scale_descriptor,
    scatter_to_bev,
)
from hvpr.model.point import SetAbstractionMSG


def _pillars(nv=5, p=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    num = torch.randint(1, p + 1, (nv,), generator=g)
    num[0] = p
    coords = torch.stack([torch.zeros(nv, dtype=torch.long), torch.zeros(nv, dtype=torch.long),
                          torch.randint(0, 8, (nv,), generator=g), torch.randint(0, 8, (nv,), generator=g)], 1)
    vs, rng = (0.5, 0.5, 4.0), (0.0, -2.0, -3.0, 4.0, 2.0, 1.0)
    vox = torch.zeros(nv, p, 4)
    for i in range(nv):
        for k in range(int(num[i])):
            x = rng[0] + (coords[i, 3] + torch.rand(1, generator=g).item()) * vs[0]
            y = rng[1] + (coords[i, 2] + torch.rand(1, generator=g).item()) * vs[1]
            vox[i, k] = torch.tensor([x, y, -3 + 4 * torch.rand(1, generator=g).item(),
                                      torch.rand(1, generator=g).item()])
    return vox, num, coords, vs, rng


def _pfn_reference(net, vox, num, coords, vs, rng, mask_after_bn=False):
    """E2–E4 written out point by point in float64 with train-mode BN statistics over all N_v·P slots."""
    v = vox.double().numpy()
    nv, p, _ = v.shape
    u = np.zeros((nv, p, 10))
    for i in range(nv):
        n = int(num[i])
        mean = v[i, :n, :3].mean(0)
        c = np.array([rng[0] + (int(coords[i, 3]) + 0.5) * vs[0], rng[1] + (int(coords[i, 2]) + 0.5) * vs[1],
                      rng[2] + (int(coords[i, 1]) + 0.5) * vs[2]])
        for k in range(n):
            u[i, k] = np.concatenate([v[i, k], v[i, k, :3] - mean, v[i, k, :3] - c])

    def lin_bn_relu(x, layer):
        y = x @ layer.linear.weight.detach().double().numpy().T
        flat = y.reshape(-1, y.shape[-1])
        y = (y - flat.mean(0)) / np.sqrt(flat.var(0) + layer.norm.eps)
        y = y * layer.norm.weight.detach().double().numpy() + layer.norm.bias.detach().double().numpy()
        y = np.maximum(y, 0)
        if mask_after_bn:
            y = y * (np.arange(p)[None, :, None] < num.numpy()[:, None, None])
        return y

    e = lin_bn_relu(u, net.layers[0])
    e = np.concatenate([e, np.repeat(e.max(1, keepdims=True), p, 1)], -1)
    return lin_bn_relu(e, net.layers[1]).max(1)


def test_pillar_feature_net_matches_point_by_point_reference_and_padding_counts():
    vox, num, coords, vs, rng = _pillars()
    net = PillarFeatureNet(vs, rng, (8, 12)).train()
    for prm in net.parameters():
        torch.nn.init.normal_(prm, 0.0, 0.5)
    out = net(vox, num, coords).double().detach().numpy()
    assert out.shape == (5, 12)
    np.testing.assert_allclose(out, _pfn_reference(net, vox, num, coords, vs, rng), rtol=1e-4, atol=1e-5)
    # the official behaviour lets padded slots into the maxima after BN: a masking variant must differ
    assert np.abs(out - _pfn_reference(net, vox, num, coords, vs, rng, mask_after_bn=True)).max() > 1e-4


def test_scale_descriptor_and_encoder():
    vox, num, _, _, _ = _pillars()
    s = scale_descriptor(vox, num)
    for i in range(vox.shape[0]):
        mean = vox[i, : int(num[i]), :3].mean(0)
        ref = torch.cat([num[i : i + 1].float(), mean.norm().reshape(1), mean])
        torch.testing.assert_close(s[i], ref, rtol=1e-5, atol=1e-6)
    enc = ScaleEncoder((16, 32))
    assert enc(vox, num).shape == (5, 32) and (enc(vox, num) >= 0).all()
    assert sum(p.numel() for p in enc.parameters()) == 688


def _sa_reference(sa, xyz, feats):
    """Per-centre loop: FPS centres, first-ns points inside r (pad with the first), MLP, max."""
    from hvpr.ops.pointnet2 import farthest_point_sample

    cidx = farthest_point_sample(xyz, sa.npoint)[0]
    centres = xyz[0, cidx]
    outs = []
    for r, ns, mlp in zip(sa.radii, sa.nsamples, sa.mlps):
        cols = []
        for c in centres:
            inside = [j for j in range(xyz.shape[1]) if ((xyz[0, j] - c) ** 2).sum() < r * r][:ns]
            inside = inside + [inside[0] if inside else 0] * (ns - len(inside)) if inside else [0] * ns
            g = torch.cat([xyz[0, inside] - c, feats[0, :, inside].T], 1).T  # C ns
            cols.append(mlp(g[None, :, None, :])[0, :, 0].max(-1).values)
        outs.append(torch.stack(cols, 1))
    return centres, torch.cat(outs, 0)


def test_set_abstraction_matches_loop_and_pointnet_shapes():
    g = torch.Generator().manual_seed(1)
    xyz = torch.rand(1, 60, 3, generator=g) * 2
    feats = torch.rand(1, 1, 60, generator=g)
    sa = SetAbstractionMSG(10, (0.3, 0.8), (4, 8), 1, ((8, 16), (8, 8))).eval()
    centres, out = sa(xyz, feats)
    rc, rout = _sa_reference(sa, xyz, feats)
    torch.testing.assert_close(centres[0], rc)
    torch.testing.assert_close(out[0], rout, rtol=1e-5, atol=1e-6)
    net = PointNet2MSG((16, 8), ((0.5, 1.0), (1.0, 2.0)), ((4, 8), (4, 8)), (((8,), (8,)), ((16,), (16,))),
                       ((16,), (12,)))
    p = net(xyz, feats)
    assert p.shape == (1, 12, 60) and torch.isfinite(p).all()


def test_aggregation_topk_weights_and_gradients():
    g = torch.Generator().manual_seed(2)
    v = torch.randn(7, 6, generator=g, requires_grad=True)
    p = torch.randn(30, 6, generator=g, requires_grad=True)
    gp, sel = aggregate_points(v, p, 4, chunk=3)
    a = (v @ p.T).detach()
    for i in range(7):
        order = sorted(range(30), key=lambda j: (-a[i, j].item(), j))[:4]
        w = torch.softmax(a[i, order], 0)
        torch.testing.assert_close(gp[i], (w[:, None] * p[order]).sum(0))
        torch.testing.assert_close(sel[i], p[order])
    gp.sum().backward()
    assert v.grad is None or v.grad.abs().max() == 0
    assert p.grad.abs().sum() > 0
    one, _ = aggregate_points(torch.randn(1, 6), torch.randn(2, 6), 20)  # N_v = 1, K > N_p
    assert one.shape == (1, 6)
    empty, _ = aggregate_points(torch.zeros(0, 6), torch.randn(5, 6), 3)
    assert empty.shape == (0, 6)


def test_hard_shrink_and_renormalisation():
    beta = torch.softmax(torch.randn(50, 40) * 3, dim=1)
    lam = 0.0025 * 4
    out = hard_shrink_relu(beta, lam)
    assert (out[beta <= lam] == 0).all()
    torch.testing.assert_close(out[beta > lam + 1e-6], beta[beta > lam + 1e-6], rtol=1e-6, atol=0)
    mem = MemoryBank(40, 8, k=5, shrink=0.0025)
    rows = mem.address(torch.randn(9, 8))
    torch.testing.assert_close(rows.sum(-1), torch.ones(9))


def test_memory_reads_equal_dense_formulas_and_gradient_routing():
    mem = MemoryBank(12, 5, k=3, shrink=0.05)
    assert mem.weight.abs().max() <= 1 / 5 ** 0.5 and mem.weight.std() > 0.1 / 5 ** 0.5
    v = torch.randn(4, 5, requires_grad=True)
    g = mem.read_voxels(v)
    M = mem.weight.detach()
    for i in range(4):
        s = v[i].detach() @ M.T
        idx = torch.argsort(-s)[:3]
        torch.testing.assert_close(g[i], (torch.softmax(s[idx], 0)[:, None] * M[idx]).sum(0))
    g.sum().backward()
    assert v.grad is None or v.grad.abs().max() == 0
    assert mem.weight.grad.abs().sum() > 0
    mem.weight.grad = None
    q = torch.randn(4, 3, 5, requires_grad=True)
    gm = mem.read_points(v, q)
    for i in range(4):
        r = []
        for k in range(3):
            b = torch.softmax(q[i, k].detach() @ M.T, 0)
            b = torch.where(b > 0.05, b, torch.zeros_like(b))
            r.append((b / b.sum()) @ M)
        r = torch.stack(r)
        torch.testing.assert_close(gm[i], (torch.softmax(r @ v[i].detach(), 0)[:, None] * r).sum(0),
                                   rtol=1e-5, atol=1e-6)
    gm.sum().backward()
    assert q.grad.abs().sum() > 0 and mem.weight.grad.abs().sum() > 0
    assert v.grad is None or v.grad.abs().max() == 0


def test_memory_loss_normalisation():
    gm, gp = torch.randn(10, 4, requires_grad=True), torch.randn(10, 4, requires_grad=True)
    mse = ((gm - gp) ** 2).mean()
    torch.testing.assert_close(memory_loss(gm, gp, "mean"), mse)
    torch.testing.assert_close(memory_loss(gm, gp, "official"), mse / 10)
    memory_loss(gm, gp).backward()
    assert gp.grad is None and gm.grad.abs().sum() > 0


def test_scatter_matches_loop():
    f = torch.randn(6, 3)
    coords = torch.tensor([[0, 0, 1, 2], [0, 0, 3, 0], [1, 0, 1, 2], [1, 0, 0, 4], [0, 0, 2, 4], [1, 0, 3, 3]])
    out = scatter_to_bev(f, coords, 2, 4, 5)
    ref = torch.zeros(2, 3, 4, 5)
    for i, (b, _, y, x) in enumerate(coords.tolist()):
        ref[b, :, y, x] = f[i]
    torch.testing.assert_close(out, ref)
    assert scatter_to_bev(torch.zeros(0, 3), torch.zeros(0, 4, dtype=torch.long), 1, 4, 5).abs().sum() == 0


def _backbone(use_amfm=True):
    return AMFMBackbone(8, 4, (1, 0), (2, 2), (8, 16), (4, 6), (3, 2), (1, 2), (8, 8), use_amfm)


def test_amfm_attention_range_identity_and_sharing():
    bb = _backbone().eval()
    x, s = torch.randn(2, 8, 16, 16), torch.randn(2, 4, 16, 16)
    attn = bb.attention(s)
    assert [a.shape for a in attn] == [(2, 1, 8, 8), (2, 1, 4, 4)]
    assert all(((a > 0) & (a < 1)).all() for a in attn)
    out = bb(x, attn)
    assert out.shape == (2, 16, 8, 8)
    plain = _backbone(use_amfm=False).eval()
    plain.load_state_dict({k: v for k, v in bb.state_dict().items() if k in plain.state_dict()})
    zeros = [torch.zeros_like(a) for a in attn]
    torch.testing.assert_close(bb(x, zeros), plain(x))
    assert (bb(x, attn) - plain(x)).abs().max() > 1e-4
    # phi is one conv per level shared by its refinement steps
    assert len(bb.refine) == 2 and all(sum(isinstance(m, torch.nn.Conv2d) for m in r) == 1 for r in bb.refine)
    sa = SpatialAttention().eval()
    pooled = torch.cat([s.max(1, keepdim=True).values, s.mean(1, keepdim=True)], 1)
    torch.testing.assert_close(sa(s), torch.sigmoid(sa.bn(sa.conv(pooled))))


def test_head_layout_and_init():
    head = AnchorHead(6, num_anchors=2, num_class=3)
    torch.testing.assert_close(head.conv_cls.bias, torch.full((6,), -np.log(99.0), dtype=torch.float32))
    assert head.conv_box.weight.std() < 0.01
    x = torch.randn(1, 6, 3, 4)
    cls, box, dr = head(x)
    assert cls.shape == (1, 24, 3) and box.shape == (1, 24, 7) and dr.shape == (1, 24, 2)
    raw = head.conv_box(x)
    y, xx, a = 2, 1, 1
    torch.testing.assert_close(box[0, (y * 4 + xx) * 2 + a], raw[0, a * 7:(a + 1) * 7, y, xx])


@pytest.mark.parametrize("name", ["kitti_car", "kitti_car_fullrange", "kitti_3class"])
def test_full_presets_parameter_counts(name):
    from hvpr import HVPR, HVPRConfig  # noqa: F401  (lazy re-exports)
    from hvpr.config import preset

    def n(m):
        return sum(p.numel() for p in m.parameters())

    with torch.device("meta"):
        model = HVPR(preset(name))
    assert n(model.vfe) == 2368 and n(model.scale_encoder) == 688
    assert n(model.point_stream) == 68912 and n(model.memory) == 128000
    assert n(model.backbone) == 15_315_925
    if name == "kitti_3class":
        assert n(model.head) == 384 * (6 * 3 + 6 * 7 + 6 * 2) + 6 * 12
        assert model.anchors.shape[0] == 321_408
    else:
        assert n(model.head) == 7700
        assert n(model) == 15_523_593 and n(model) - n(model.point_stream) == 15_454_681
        assert model.anchors.shape[0] == (146_816 if name == "kitti_car" else 216 * 248 * 2)
    h, w = model.feature_size
    assert model.anchors.shape[0] == h * w * model.head.num_anchors


def test_topk_stable_equals_stable_sort_with_ties():
    from hvpr.model.memory import topk_stable

    g = torch.Generator().manual_seed(7)
    scores = torch.randint(0, 6, (200, 300), generator=g).float()  # heavy ties
    scores[:50] = torch.randn(50, 300, generator=g)  # no ties
    for k in (1, 4, 20):
        ref = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
        assert torch.equal(topk_stable(scores, k), ref)
