"""cvcore.reid.samplers: the three P x K modes."""

from collections import Counter

import numpy as np
import pytest

from cvcore.reid import PKSampler

LABELS = [0] * 7 + [1] * 2 + [2] * 5 + [3] * 3 + [4] * 9 + [5] * 4


@pytest.mark.parametrize("mode", ["identity", "exhaustive", "anchor"])
def test_blocks_share_a_pid(mode):
    s = PKSampler(LABELS, batch_size=8, num_instances=4, mode=mode, seed=0)
    idx = list(s)
    if mode == "exhaustive":  # torchreid's len() is an upper bound: stops when < P pids have chunks
        assert len(idx) <= len(s) and len(idx) % 8 == 0
    else:
        assert len(idx) == len(s)
    lab = np.asarray(LABELS)[idx].reshape(-1, 4)
    assert (lab == lab[:, :1]).all()
    if mode != "anchor":
        for b in range(0, len(idx) // 8):
            assert len(set(lab[2 * b:2 * b + 2, 0])) == 2  # P distinct pids per batch


def test_lengths():
    assert len(PKSampler(LABELS, 8, 4, "identity", 0)) == 6 * 4
    n = [7, 2, 5, 3, 9, 4]
    assert len(PKSampler(LABELS, 8, 4, "exhaustive", 0)) == sum(max(m, 4) - max(m, 4) % 4 for m in n)
    assert len(PKSampler(LABELS, 8, 4, "anchor", 0)) == len(LABELS) * 4


def test_identity_every_pid_once():
    idx = list(PKSampler(LABELS, 8, 4, "identity", 1))
    firsts = np.asarray(LABELS)[idx][::4]
    assert sorted(firsts) == list(range(6))


def test_anchor_excludes_anchor_and_visits_all():
    s = PKSampler(LABELS, 8, 4, "anchor", 2)
    rng = np.random.default_rng([2, 0])
    anchors = rng.permutation(len(LABELS))
    idx = np.asarray(list(s)).reshape(-1, 4)
    assert sorted(anchors.tolist()) == list(range(len(LABELS)))
    for a, block in zip(anchors, idx):
        assert a not in block
        assert (np.asarray(LABELS)[block] == LABELS[a]).all()
    # pid 1 has 2 images (<= K): sampled with replacement; pid 4 has 9: without
    big = [b for a, b in zip(anchors, idx) if LABELS[a] == 4]
    assert all(len(set(b)) == 4 for b in big)
    with pytest.raises(ValueError, match=">= 2 images"):
        PKSampler([0, 1, 1], 4, 2, "anchor")


def test_seed_and_epochs():
    a = PKSampler(LABELS, 8, 4, "exhaustive", seed=5)
    b = PKSampler(LABELS, 8, 4, "exhaustive", seed=5)
    e0a, e1a = list(a), list(a)
    assert e0a == list(b) and e0a != e1a
    b.set_epoch(1)
    assert list(b) == e1a
    assert Counter(e0a) != Counter()


def test_bad_arguments():
    with pytest.raises(ValueError):
        PKSampler(LABELS, 6, 4)
    with pytest.raises(ValueError):
        PKSampler(LABELS, 8, 4, mode="random")
