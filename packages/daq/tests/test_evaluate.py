"""Evaluation protocol: top-1/top-5 vs brute force, sample-weighted batches, empty set error."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cvcore.errors import DataError
from daq.engine.evaluate import evaluate


class Fixed(nn.Module):
    """Returns precomputed logits by sample index (the input is the index)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, idx):
        return self.logits[idx.long()]


def test_matches_brute_force_with_uneven_last_batch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(37, 10, generator=g)
    y = torch.randint(0, 10, (37,), generator=g)
    loader = DataLoader(TensorDataset(torch.arange(37), y), batch_size=8)  # last batch has 5
    m = evaluate(Fixed(logits), loader)
    top1 = sum(int(logits[i].argmax() == y[i]) for i in range(37)) / 37 * 100
    top5 = sum(int(y[i] in logits[i].argsort(descending=True)[:5]) for i in range(37)) / 37 * 100
    ce = float(torch.nn.functional.cross_entropy(logits, y))
    assert m["top1"] == pytest.approx(top1) and m["top5"] == pytest.approx(top5)
    assert m["loss"] == pytest.approx(ce, rel=1e-6) and m["n"] == 37


def test_sklearn_accuracy_agrees():
    metrics = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(50, 4, generator=g)
    y = torch.randint(0, 4, (50,), generator=g)
    m = evaluate(Fixed(logits), DataLoader(TensorDataset(torch.arange(50), y), batch_size=7))
    assert m["top1"] == pytest.approx(100 * metrics.accuracy_score(y.numpy(), logits.argmax(1).numpy()))
    assert m["top5"] == 100.0  # top-min(5, C) with C = 4


def test_empty_set_and_nan_outputs_raise():
    with pytest.raises(DataError, match="empty"):
        evaluate(Fixed(torch.zeros(1, 3)), DataLoader(TensorDataset(torch.zeros(0), torch.zeros(0).long())))
    bad = torch.full((2, 3), float("nan"))
    with pytest.raises(DataError, match="non-finite"):
        evaluate(Fixed(bad), DataLoader(TensorDataset(torch.arange(2), torch.zeros(2).long())))


def test_restores_training_mode():
    m = Fixed(torch.randn(3, 2)).train()
    evaluate(m, DataLoader(TensorDataset(torch.arange(3), torch.zeros(3).long())))
    assert m.training
