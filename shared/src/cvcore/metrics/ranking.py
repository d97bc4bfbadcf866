"""ROC-AUC from ranks (Mann-Whitney U), ties counted as one half."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from cvcore.metrics._arrays import as_numpy

__all__ = ["roc_auc"]


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve; higher ``scores`` should mean positive (label 1).

    Equals scikit-learn's ``roc_auc_score(labels, scores)``, including ties.

    Args:
        scores: ``(N,)`` real scores (finite).
        labels: ``(N,)`` binary labels (0/1 or bool).
    """
    s = as_numpy(scores, np.float64).ravel()
    y = as_numpy(labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.size} vs {y.size}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinity")
    uniq = np.unique(y)
    if not np.all(np.isin(uniq, (0, 1))):
        raise ValueError(f"labels must be 0/1, got values {uniq[:5].tolist()}")
    pos = y.astype(bool)
    n_pos = int(pos.sum())
    n_neg = pos.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs both positive and negative labels")
    ranks = rankdata(s)  # average ranks for ties
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
