"""Fixtures of the isgan tests: a tiny model at 192x128 and a synthetic Market-layout data set."""

import pytest
import torch

from isgan import ISGAN

TINY = dict(backbone="tiny", feat_id=8, feat_nid=4, noise_dim=8, g_width=4, d_width=4)


@pytest.fixture
def tiny_kwargs():
    return dict(TINY)


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return ISGAN(6, (192, 128), **TINY)


@pytest.fixture(scope="session")
def market(tmp_path_factory):
    from cvcore.reid import make_market_like_dataset

    root = tmp_path_factory.mktemp("market")
    make_market_like_dataset(root, num_train_ids=6, num_test_ids=5, num_cams=3, imgs_per_id_cam=(2, 2), seed=1)
    return root


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, 192, 128, generator=g)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    return x, y
