import numpy as np
import pytest

from gzs3 import splits

VOC = {2: [10, 14], 4: [10, 14, 1, 18], 6: [10, 14, 1, 18, 8, 20], 8: [10, 14, 1, 18, 8, 20, 19, 5],
       10: [10, 14, 1, 18, 8, 20, 19, 5, 9, 16]}
CTX = {2: [10, 14], 4: [10, 14, 18, 8], 6: [10, 14, 18, 8, 4, 32], 8: [10, 14, 18, 8, 4, 32, 3, 20],
       10: [10, 14, 18, 8, 4, 32, 3, 20, 38, 2]}


@pytest.mark.parametrize("k", [2, 4, 6, 8, 10])
def test_tables_exact_and_complement(k):
    assert splits.unseen_classes("voc", k) == VOC[k]
    assert splits.unseen_classes("context", k) == CTX[k]
    for ds, n in (("voc", 21), ("context", 60)):
        u, s = splits.unseen_classes(ds, k), splits.seen_classes(ds, k)
        assert sorted(u + s) == list(range(n)) and 0 in s and len(set(u)) == k


def test_cumulative_and_protocol():
    for ds in ("voc", "context"):
        for k in (4, 6, 8, 10):
            assert splits.unseen_classes(ds, k)[: k - 2] == splits.unseen_classes(ds, k - 2)
    for k in (2, 4, 6, 8):
        assert splits.unseen_classes("context", k, "zs3") == splits.unseen_classes("context", k, "joem")
        assert splits.unseen_classes("voc", k, "zs3") == splits.unseen_classes("voc", k, "joem")
    z = splits.unseen_classes("context", 10, "zs3")
    assert z[-1] == 1 and splits.CONTEXT_CLASSES[z[-1]] == "aeroplane"
    assert splits.CONTEXT_CLASSES[CTX[10][-1]] == "bicycle"
    assert splits.unseen_classes("voc", 10, "zs3") == VOC[10]


def test_spnet_and_names():
    assert splits.unseen_classes("voc", 5, setting="spnet") == [16, 17, 18, 19, 20]
    assert splits.seen_classes("voc", 5, setting="spnet") == list(range(1, 16))
    names = [splits.VOC_CLASSES[i] for i in VOC[4]]
    assert names == ["cow", "motorbike", "airplane", "sofa"]
    assert [splits.CONTEXT_CLASSES[i] for i in (32, 38)] == ["fence", "keyboard"]
    assert len(splits.CONTEXT_CLASSES) == 60 and len(splits.VOC_CLASSES) == 21


def test_bad_arguments():
    with pytest.raises(ValueError):
        splits.unseen_classes("voc", 3)
    with pytest.raises(ValueError):
        splits.unseen_classes("coco", 2)
    with pytest.raises(ValueError):
        splits.unseen_classes("context", 5, setting="spnet")


def test_contains_unseen_property():
    rng = np.random.default_rng(0)
    unseen = [10, 14]
    seen = [c for c in range(21) if c not in unseen] + [255]
    for _ in range(50):
        lab = rng.choice(seen, size=(7, 9))
        assert not splits.contains_unseen(lab, unseen)
        lab2 = lab.copy()
        lab2[rng.integers(7), rng.integers(9)] = rng.choice(unseen)
        assert splits.contains_unseen(lab2, unseen)
    assert not splits.contains_unseen(np.zeros((0, 0), int), unseen)
