"""cvcore.reid.metrics: CMC / mAP / mINP against hand cases, a per-query loop and scikit-learn."""

import numpy as np
import pytest
import torch

from cvcore.reid import Market1501, evaluate_rank, make_market_like_dataset, oracle_features, pairwise_distance


def _loop(d, qp, gp, qc, gc, max_rank, separate=False):
    """Plain per-query reference (stable order, Market protocol)."""
    cmcs, aps, inps = [], [], []
    for i in range(d.shape[0]):
        order = sorted(range(d.shape[1]), key=lambda j: (d[i, j], j))
        kept = [j for j in order if not ((gc[j] == qc[i]) if separate else (gp[j] == qp[i] and gc[j] == qc[i]))]
        m = [int(gp[j] == qp[i]) for j in kept]
        if not any(m):
            continue
        first = m.index(1)
        cmcs.append([1.0 if first <= r else 0.0 for r in range(max_rank)])
        hits, ap = 0, 0.0
        for k, v in enumerate(m):
            if v:
                hits += 1
                ap += hits / (k + 1)
        aps.append(ap / hits)
        last = max(k for k, v in enumerate(m) if v)
        inps.append(hits / (last + 1))
    return np.mean(cmcs, 0), np.mean(aps), np.mean(inps), len(aps)


def test_hand_case():
    # query 0 (pid 1, cam 0): gallery ranks: g0 same pid same cam (ignored), g1 other, g2 match, g3 other, g4 match
    d = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1], [0.1, 0.1, 0.1, 0.1, 0.1]])
    gp = np.array([1, 2, 1, 3, 1])
    gc = np.array([0, 1, 1, 1, 2])
    qp = np.array([1, 3, 9])
    qc = np.array([0, 0, 0])
    r = evaluate_rank(d, qp, gp, qc, gc, max_rank=3)
    # q0 kept list: g1(0) g2(1) g3(0) g4(1): first hit at 1, AP = (1/2 + 2/4)/2, INP = 2/4
    # q1 kept list (ascending): g4 g3 g2 g1 g0 -> g3 (pid 3) at index 1: AP = 1/2, INP = 1/2
    assert r.num_valid == 2 and r.num_invalid == 1  # pid 9 only in query
    np.testing.assert_allclose(r.cmc, [0.0, 1.0, 1.0])
    assert r.mAP == pytest.approx(((0.5 + 0.5) / 2 + 0.5) / 2)
    assert r.mINP == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no valid query"):
        evaluate_rank(d[2:], qp[2:], gp, qc[2:], gc)


def test_ap_example_from_spec():
    d = np.array([[1.0, 2.0, 3.0, 4.0]])
    r = evaluate_rank(d, [5], [5, 6, 5, 7], [0], [1, 1, 1, 1], max_rank=10)
    assert r.mAP == pytest.approx((1 + 2 / 3) / 2)
    assert len(r.cmc) == 4  # truncated to the gallery size
    assert r.to_dict()["rank1"] == 1.0


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("separate", [False, True])
def test_random_equals_loop(backend, separate):
    rng = np.random.default_rng(0)
    d = rng.random((50, 400)).astype(np.float32)
    qp, gp = rng.integers(0, 30, 50), rng.integers(0, 30, 400)
    qc, gc = rng.integers(0, 3, 50), rng.integers(0, 3, 400)
    cmc, m_ap, m_inp, n = _loop(d, qp, gp, qc, gc, 50, separate)
    r = evaluate_rank(d, qp, gp, qc, gc, max_rank=50, separate_cameras=separate, backend=backend)
    assert r.num_valid == n
    np.testing.assert_allclose(r.cmc, cmc, atol=1e-9)
    assert r.mAP == pytest.approx(m_ap, abs=1e-6) and r.mINP == pytest.approx(m_inp, abs=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_ties_broken_by_gallery_index(backend):
    rng = np.random.default_rng(1)
    d = rng.integers(0, 4, (30, 60)).astype(np.float64)  # many ties
    qp, gp = rng.integers(0, 6, 30), rng.integers(0, 6, 60)
    qc, gc = rng.integers(0, 2, 30), rng.integers(0, 2, 60)
    cmc, m_ap, m_inp, _ = _loop(d, qp, gp, qc, gc, 20)
    r = evaluate_rank(d, qp, gp, qc, gc, max_rank=20, backend=backend)
    np.testing.assert_allclose(r.cmc, cmc)
    assert r.mAP == pytest.approx(m_ap) and r.mINP == pytest.approx(m_inp)


def test_ap_equals_sklearn_without_ties():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(2)
    d = rng.random((20, 80))
    qp, gp = rng.integers(0, 8, 20), rng.integers(0, 8, 80)
    qc, gc = np.zeros(20, int), np.ones(80, int)  # no same-camera removal
    r = evaluate_rank(d, qp, gp, qc, gc)
    ref = [average_precision_score(gp == qp[i], -d[i]) for i in range(20) if (gp == qp[i]).any()]
    assert r.mAP == pytest.approx(np.mean(ref), abs=1e-12)


def _classic_loop(d, qp, gp, qc, gc, repeats, seed, separate):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(d.shape[0]):
        keep = [j for j in range(d.shape[1]) if not ((gc[j] == qc[i]) if separate else (gp[j] == qp[i] and gc[j] == qc[i]))]
        if not any(gp[j] == qp[i] for j in keep):
            continue
        kept_sorted = sorted(keep, key=lambda j: (d[i, j], j))
        idx_sorted = np.asarray(sorted(keep))  # keys are drawn in gallery-index order of the kept list
        per = []
        for _ in range(repeats):
            keys = dict(zip(idx_sorted.tolist(), rng.random(len(keep)).tolist()))
            best = {}
            for j in keep:
                if gp[j] not in best or keys[j] < keys[best[gp[j]]]:
                    best[gp[j]] = j
            chosen = [j for j in kept_sorted if best[gp[j]] == j]
            per.append([gp[j] for j in chosen].index(qp[i]))
        out.append(per)
    return out


@pytest.mark.parametrize("separate", [False, True])
def test_cuhk03_classic_equals_loop(separate):
    rng = np.random.default_rng(3)
    d = rng.random((15, 90))
    qp, gp = rng.integers(0, 10, 15), rng.integers(0, 10, 90)
    qc, gc = rng.integers(0, 2, 15), rng.integers(0, 2, 90)
    hits = _classic_loop(d, qp, gp, qc, gc, 4, 7, separate)
    ref = np.mean([np.mean([[h <= r for r in range(10)] for h in per], 0) for per in hits], 0)
    res = evaluate_rank(d, qp, gp, qc, gc, max_rank=10, protocol="cuhk03_classic", num_repeats=4, seed=7,
                        separate_cameras=separate)
    np.testing.assert_allclose(res.cmc, ref)
    market = evaluate_rank(d, qp, gp, qc, gc, max_rank=10, separate_cameras=separate)
    assert res.cmc[0] >= market.cmc[0] and res.mAP == market.mAP


def test_pairwise_distance():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((5, 7)), rng.standard_normal((6, 7))
    brute = ((x[:, None] - y[None]) ** 2).sum(-1)
    np.testing.assert_allclose(pairwise_distance(x, y), brute, atol=1e-10)
    np.testing.assert_allclose(pairwise_distance(x, y, "euclidean"), np.sqrt(brute), atol=1e-7)
    xn, yn = x / np.linalg.norm(x, axis=1, keepdims=True), y / np.linalg.norm(y, axis=1, keepdims=True)
    np.testing.assert_allclose(pairwise_distance(x, y, "cosine"), 1 - xn @ yn.T, atol=1e-10)
    t = pairwise_distance(torch.from_numpy(x), torch.from_numpy(y))
    assert isinstance(t, torch.Tensor)
    with pytest.raises(ValueError):
        pairwise_distance(x, y, "manhattan")
    with pytest.raises(ValueError, match="NaN"):
        evaluate_rank(np.full((1, 2), np.nan), [1], [1, 2], [0], [1, 1])


def test_oracle_on_synthetic(tmp_path):
    make_market_like_dataset(tmp_path, seed=0, size=(64, 32))
    ds = Market1501(tmp_path, check=False)
    qf = oracle_features([r.path for r in ds.query], seed=0)
    gf = oracle_features([r.path for r in ds.gallery], seed=0)
    r = evaluate_rank(pairwise_distance(qf, gf), [x.pid for x in ds.query], [x.pid for x in ds.gallery],
                      [x.camid for x in ds.query], [x.camid for x in ds.gallery])
    assert r.rank(1) >= 0.9 and r.mAP >= 0.7
    # the oracle is not trivially perfect when its features are corrupted: shuffle the gallery
    shuffled = evaluate_rank(pairwise_distance(qf, gf[np.random.default_rng(0).permutation(len(gf))]),
                             [x.pid for x in ds.query], [x.pid for x in ds.gallery],
                             [x.camid for x in ds.query], [x.camid for x in ds.gallery])
    assert shuffled.mAP < r.mAP
