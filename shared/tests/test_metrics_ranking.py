import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from cvcore.metrics import roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_matches_sklearn_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(labels * 0.7, 1.0), 1)  # rounding makes ties
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_extremes_and_errors():
    assert roc_auc([0.1, 0.2, 0.9, 1.0], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 1.0, 0.1, 0.2], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5] * 4, [0, 1, 0, 1]) == 0.5
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_auc([1, 2], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([np.nan, 1], [0, 1])
    with pytest.raises(ValueError, match="0/1"):
        roc_auc([1, 2], [0, 2])
