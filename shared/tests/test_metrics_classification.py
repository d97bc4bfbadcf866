import math

import pytest
import torch

from cvcore.metrics import topk_accuracy


def test_topk_against_brute_force():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(200, 7, generator=g)
    target = torch.randint(0, 7, (200,), generator=g)
    got = topk_accuracy(logits, target, ks=(1, 3, 7))
    for k, value in zip((1, 3, 7), got):
        hits = 0
        for row, t in zip(logits.tolist(), target.tolist()):
            better = sum(v > row[t] for v in row)  # no ties with continuous values
            hits += better < k
        assert value == pytest.approx(100.0 * hits / 200)
    assert got[2] == 100.0


def test_topk_hand_example_and_errors():
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.05, 0.15], [0.2, 0.3, 0.5]])
    assert topk_accuracy(logits, torch.tensor([1, 2, 0]), ks=(1, 2)) == pytest.approx([100 / 3, 200 / 3])
    assert math.isnan(topk_accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))[0])
    with pytest.raises(ValueError, match="k must be"):
        topk_accuracy(logits, torch.tensor([1, 2, 0]), ks=(4,))
    with pytest.raises(ValueError, match="target must be"):
        topk_accuracy(logits, torch.tensor([1, 2]))
