"""Memory read / update / losses (E1-E6) against hand computations and per-item loop references."""

import pytest
import torch
import torch.nn.functional as F

from mnad import functional as MF
from mnad.memory import Memory


def unit(*shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=dtype), dim=-1)


def loop_update(q, items, normalize="all", per_frame=None):
    """Slow reference of (E4): one item at a time, one query at a time."""
    s = q @ items.t()
    v = torch.softmax(s, dim=0)
    nearest = torch.topk(torch.softmax(s, dim=1), 1, dim=1).indices[:, 0]
    new = items.clone()
    for m in range(items.shape[0]):
        assigned = [k for k in range(q.shape[0]) if int(nearest[k]) == m]
        delta = torch.zeros(items.shape[1], dtype=q.dtype)
        if assigned:
            pool = assigned if normalize == "assigned" else range(q.shape[0])
            vmax = max(float(v[k, m]) for k in pool)
            for k in assigned:
                delta += float(v[k, m]) / vmax * q[k]
        new[m] = (items[m] + delta) / torch.linalg.vector_norm(items[m] + delta)
    return new, nearest


def test_init_unit_rows_and_deterministic():
    a = Memory(10, 32, generator=torch.Generator().manual_seed(3))
    b = Memory(10, 32, generator=torch.Generator().manual_seed(3))
    c = Memory(10, 32, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(a.items.norm(dim=1), torch.ones(10))
    assert torch.equal(a.items, b.items) and not torch.equal(a.items, c.items)
    assert (a.items >= 0).all()  # uniform[0, 1) init: non-negative before and after normalising
    assert "items" in dict(a.named_buffers()) and len(list(a.parameters())) == 0


def test_flatten_queries_order_and_norm():
    feat = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    q = MF.flatten_queries(feat)
    assert q.shape == (24, 5)
    torch.testing.assert_close(q.norm(dim=1), torch.ones(24, dtype=torch.float64))
    # row order (batch, row, col): row 1*12 + 2*4 + 3 is batch 1, row 2, col 3
    torch.testing.assert_close(q[12 + 8 + 3], feat[1, :, 2, 3] / feat[1, :, 2, 3].norm())


def test_read_matches_hand_computation():
    q, p = unit(7, 4, seed=1), unit(3, 4, seed=2)
    z, w = MF.memory_read(q, p)
    s = q @ p.t()
    ref = torch.exp(s) / torch.exp(s).sum(1, keepdim=True)
    torch.testing.assert_close(w, ref)
    assert z.shape == (7, 8)
    torch.testing.assert_close(z[:, :4], q)  # query first
    torch.testing.assert_close(z[:, 4:], ref @ p)
    _, _, v = MF.memory_scores(q, p)
    torch.testing.assert_close(v.sum(0), torch.ones(3, dtype=torch.float64))


def test_read_gradient_only_through_query():
    q = unit(6, 4, seed=1).requires_grad_(True)
    p = unit(3, 4, seed=2).requires_grad_(True)
    z, _ = MF.memory_read(q, p)
    z[:, 4:].sum().backward()  # the read half: no gradient to the query (detached weights) or items
    assert p.grad is None and (q.grad is None or torch.count_nonzero(q.grad) == 0)
    q.grad = None
    z2, _ = MF.memory_read(q, p)
    z2[:, :4].sum().backward()
    torch.testing.assert_close(q.grad, torch.ones_like(q))


@pytest.mark.parametrize("normalize", ["all", "assigned"])
def test_update_equals_loop_reference(normalize):
    p = unit(6, 8, seed=5)
    p[5] = -p[0]  # far from everything the queries are near: likely unassigned
    q = F.normalize(p[[0, 0, 1, 1, 2, 3]].repeat(5, 1) + 0.3 * unit(30, 8, seed=6), dim=1)
    new = MF.memory_update(q, p, normalize=normalize)
    ref, nearest = loop_update(q, p, normalize)
    torch.testing.assert_close(new, ref)
    unassigned = sorted(set(range(6)) - set(nearest.tolist()))
    assert unassigned, "the test data should leave an item unassigned"
    for m in unassigned:
        torch.testing.assert_close(new[m], p[m])
    torch.testing.assert_close(new.norm(dim=1), torch.ones(6, dtype=torch.float64))
    assert not new.requires_grad


def test_update_with_tied_items():
    p = unit(4, 5, seed=7)
    p[3] = p[1]  # exact tie between items 1 and 3
    q = unit(40, 5, seed=8)
    new = MF.memory_update(q, p)
    ref, nearest = loop_update(q, p)
    torch.testing.assert_close(new, ref)
    assert not (nearest == 3).any() or not (nearest == 1).any()  # a tie goes to one item only


def test_update_no_grad_even_for_grad_inputs():
    q = unit(10, 4, seed=1).requires_grad_(True)
    p = unit(3, 4, seed=2).requires_grad_(True)
    assert not MF.memory_update(q, p).requires_grad


def test_assigned_differs_from_all_by_the_max_set():
    p = unit(3, 6, seed=11)
    q = unit(50, 6, seed=12)
    a, b = MF.memory_update(q, p, normalize="all"), MF.memory_update(q, p, normalize="assigned")
    assert not torch.allclose(a, b)
    torch.testing.assert_close(b, loop_update(q, p, "assigned")[0])


def test_update_softmax_spans_whole_batch():
    """Frame 0's contribution depends on frame 1 through the max over *all* queries (E4)."""
    p = unit(4, 6, seed=3)
    f0 = F.normalize(p[[0, 1, 2, 3]] + 0.5 * unit(4, 6, seed=4), dim=1)
    f1a = F.normalize(p[[0, 1, 2, 3]] + 0.5 * unit(4, 6, seed=5), dim=1)
    f1b = p[[0, 1, 2, 3]].clone()  # queries equal to the items: the per-item max becomes 1
    ua = MF.memory_update(torch.cat([f0, f1a]), p)
    ub = MF.memory_update(torch.cat([f0, f1b]), p)
    assert not torch.allclose(ua, ub)
    # a per-frame normalisation would differ from the batch one
    per_frame = F.normalize(p + _delta(f0, p) + _delta(f1a, p), dim=1)
    assert not torch.allclose(ua, per_frame)


def _delta(q, p):
    s = q @ p.t()
    v = torch.softmax(s, 0)
    a = F.one_hot(s.argmax(1), p.shape[0]).to(q.dtype)
    return (a * v / v.amax(0)).t() @ q


def test_losses_match_definitions():
    q = unit(20, 6, seed=1).requires_grad_(True)
    p = unit(4, 6, seed=2).requires_grad_(True)
    mem = Memory(4, 6)
    comp, sep = mem.losses(q, p)
    s = q.detach() @ p.detach().t()
    top = s.topk(2, dim=1).indices
    ref_c = ((q.detach() - p.detach()[top[:, 0]]) ** 2).mean()
    torch.testing.assert_close(comp.detach(), ref_c)
    trip = torch.nn.TripletMarginLoss(margin=1.0)(q.detach(), p.detach()[top[:, 0]], p.detach()[top[:, 1]])
    torch.testing.assert_close(sep.detach(), trip)
    d1 = (q.detach() - p.detach()[top[:, 0]] + 1e-6).norm(dim=1)
    d2 = (q.detach() - p.detach()[top[:, 1]] + 1e-6).norm(dim=1)
    torch.testing.assert_close(sep.detach(), torch.clamp(d1 - d2 + 1.0, min=0).mean())
    (comp + sep).backward()
    assert p.grad is None  # items are constants
    assert q.grad is not None and torch.count_nonzero(q.grad) > 0


def test_separateness_zero_beyond_margin():
    p = torch.eye(4, dtype=torch.float64)
    q = p[[0, 1, 2]].clone()  # distance 0 to nearest, sqrt(2) > margin to the second
    assert float(MF.separateness_loss(q, p)) == 0.0
    q2 = F.normalize(p[0] + p[1] * 0.9, dim=0).unsqueeze(0)  # nearly equidistant: loss > 0
    assert float(MF.separateness_loss(q2, p)) > 0.5


def test_forward_training_order():
    mem = Memory(5, 8, generator=torch.Generator().manual_seed(0))
    old = mem.items.clone()
    feat = torch.randn(2, 8, 3, 3)
    out = mem(feat, update=True)
    q = MF.flatten_queries(feat)
    torch.testing.assert_close(out.items_before, old)
    torch.testing.assert_close(out.compactness, MF.compactness_loss(q, old))
    torch.testing.assert_close(out.separateness, MF.separateness_loss(q, old))
    z_ref, _ = MF.memory_read(q, old)
    torch.testing.assert_close(out.z, z_ref.reshape(2, 3, 3, 16).permute(0, 3, 1, 2))
    torch.testing.assert_close(mem.items, MF.memory_update(q, old))
    assert not torch.allclose(mem.items, old)


def test_forward_with_test_items_never_writes_buffer():
    mem = Memory(5, 8)
    before = mem.items.clone()
    items = unit(5, 8, seed=9, dtype=torch.float32)
    out = mem(torch.randn(1, 8, 2, 2), update=True, items=items)
    assert torch.equal(mem.items, before)
    torch.testing.assert_close(out.items_before, items)
    out2 = mem(torch.randn(1, 8, 2, 2), update=False)
    assert torch.equal(out2.items_after, before)


def test_bad_inputs():
    with pytest.raises(ValueError):
        Memory(4, 8, normalize="paper")
    with pytest.raises(ValueError):
        Memory(4, 8)(torch.randn(1, 7, 2, 2), update=False)
    with pytest.raises(ValueError):
        MF.flatten_queries(torch.randn(3, 4))
    with pytest.raises(ValueError):
        MF.separateness_loss(unit(3, 4), unit(1, 4))


@pytest.mark.parametrize("method", ["sparse", "matmul"])
def test_item_sums_match_a_per_item_sum(method):
    q = unit(50, 6, seed=11)
    w = torch.rand(50, generator=torch.Generator().manual_seed(12), dtype=torch.float64)
    nearest = torch.randint(0, 4, (50,), generator=torch.Generator().manual_seed(13))
    nearest[nearest == 2] = 1  # item 2 gets no query: its sum must be exactly zero
    got = MF.item_sums(q, w, nearest, 5, method=method)
    ref = torch.stack([(w[nearest == m, None] * q[nearest == m]).sum(0) for m in range(5)])
    torch.testing.assert_close(got, ref)
    assert torch.equal(got[2], torch.zeros(6, dtype=q.dtype)) and torch.equal(got[4], got[2])


def test_item_sums_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="sparse"):
        MF.item_sums(unit(3, 2, seed=1), torch.ones(3), torch.zeros(3, dtype=torch.long), 2, method="loop")
