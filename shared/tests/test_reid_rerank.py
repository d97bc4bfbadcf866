"""cvcore.reid.re_ranking against a straightforward dense loop (torchreid's procedure, float32 V)."""

import numpy as np
import pytest

from cvcore.reid import pairwise_distance, re_ranking


def _reference(qg, qq, gg, k1, k2, lam):
    nq = qg.shape[0]
    d = np.concatenate([np.concatenate([qq, qg], 1), np.concatenate([qg.T, gg], 1)], 0).astype(np.float32)
    d = np.power(d, 2).astype(np.float32)
    d = np.transpose(d / np.max(d, axis=0))
    n = d.shape[0]
    v = np.zeros_like(d)
    rank = np.argsort(d, axis=1, kind="stable")

    def krec(i, k):
        f = rank[i, :k + 1]
        return np.array([c for c in f if i in rank[c, :k + 1]], dtype=int)

    for i in range(n):
        r = krec(i, k1)
        exp = list(r)
        for c in r:
            rc = krec(c, int(np.around(k1 / 2)))
            if len(set(rc) & set(r)) > 2 / 3 * len(rc):
                exp.extend(rc)
        idx = np.unique(exp)
        w = np.exp(-d[i, idx])
        v[i, idx] = w / w.sum()
    if k2 != 1:
        v = np.stack([v[rank[i, :k2]].mean(0) for i in range(n)])
    jac = np.zeros((nq, n))
    for i in range(nq):
        for j in range(n):
            s = np.minimum(v[i], v[j]).sum()
            jac[i, j] = 1 - s / (2 - s)
    return ((1 - lam) * jac + lam * d[:nq])[:, nq:]


def _problem(seed, nq=20, ng=60):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, 6))
    q = centres[rng.integers(0, 8, nq)] + 0.5 * rng.standard_normal((nq, 6))
    g = centres[rng.integers(0, 8, ng)] + 0.5 * rng.standard_normal((ng, 6))
    return pairwise_distance(q, g), pairwise_distance(q, q), pairwise_distance(g, g)


@pytest.mark.parametrize("k1,k2,lam", [(20, 6, 0.3), (8, 1, 0.3), (6, 3, 0.0)])
def test_equals_reference(k1, k2, lam):
    qg, qq, gg = _problem(k1)
    got = re_ranking(qg, qq, gg, k1, k2, lam, block_size=17)
    np.testing.assert_allclose(got, _reference(qg, qq, gg, k1, k2, lam), atol=2e-6)


def test_lambda_one_is_normalised_squared_distance():
    qg, qq, gg = _problem(1)
    got = re_ranking(qg, qq, gg, lambda_value=1.0)
    full = np.concatenate([np.concatenate([qq, qg], 1), np.concatenate([qg.T, gg], 1)], 0) ** 2
    np.testing.assert_allclose(got, (full / full.max(0)).T[:20, 20:], rtol=1e-5)


def test_similarity_input_and_errors():
    qg, qq, gg = _problem(2)
    s = lambda d: (2 - d) / 2  # noqa: E731  (so that 2 - 2 S == d)
    np.testing.assert_allclose(re_ranking(s(qg), s(qq), s(gg), input="similarity"), re_ranking(qg, qq, gg),
                               atol=1e-5)
    with pytest.raises(ValueError):
        re_ranking(qg, qq, gg, k1=3, k2=6)
    with pytest.raises(ValueError):
        re_ranking(qg, qq[:3], gg)
