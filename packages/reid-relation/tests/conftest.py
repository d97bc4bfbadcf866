"""Fixtures of the reid-relation tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""

import pytest

from cvcore.reid import Market1501, make_market_like_dataset


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """A small synthetic Market-1501 tree at 192x64 (the test resolution)."""
    root = tmp_path_factory.mktemp("synthetic")
    make_market_like_dataset(root, num_train_ids=6, num_test_ids=4, size=(192, 64), imgs_per_id_cam=(1, 2), seed=0)
    return root


@pytest.fixture(scope="session")
def synthetic(synthetic_root):
    return Market1501(synthetic_root, check=False)
