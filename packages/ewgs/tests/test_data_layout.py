"""Loaders read tiny replicas of the official layouts; missing roots name the layout."""

import numpy as np
import pytest
import torch

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from ewgs.data import build_datasets
from ewgs.data.transforms import CIFAR_MEAN, CIFAR_STD
from ewgs.errors import ConfigError


def test_cifar10_replica(tmp_path):
    Replica(tmp_path).cifar10(n_train_per_batch=3, n_test=4)
    pair = build_datasets("cifar10", tmp_path, augment=False)
    assert len(pair.train) == 15 and len(pair.test) == 4 and pair.num_classes == 10 and pair.in_channels == 3
    x, y = pair.test[0]
    raw = torch.from_numpy(pair.test.data[0]).permute(2, 0, 1).float() / 255
    ref = (raw - torch.tensor(CIFAR_MEAN).view(3, 1, 1)) / torch.tensor(CIFAR_STD).view(3, 1, 1)
    torch.testing.assert_close(x, ref)
    xa, _ = build_datasets("cifar10", tmp_path).train[0]
    assert xa.shape == (3, 32, 32)


def test_cifar100_replica(tmp_path):
    rep = Replica(tmp_path)
    for split, n in (("train", 6), ("test", 3)):
        rep.pickle(f"cifar-100-python/{split}", {b"data": np.random.randint(0, 255, (n, 3072), dtype=np.uint8),
                                                 b"fine_labels": list(range(n)), b"coarse_labels": [0] * n})
    pair = build_datasets("cifar100", tmp_path)
    assert pair.num_classes == 100 and len(pair.train) == 6 and pair.test[2][1] == 2


def test_fashion_mnist_replica(tmp_path):
    Replica(tmp_path).fashion_mnist(n_train=12, n_test=5)
    pair = build_datasets("fashion-mnist", tmp_path, train_subset=10)
    assert len(pair.train) == 10 and len(pair.test) == 5 and pair.train[0][0].shape == (1, 28, 28)


def test_imagenet_replica(tmp_path):
    rep = Replica(tmp_path)
    for split in ("train", "val"):
        for i, wnid in enumerate(("n01440764", "n01443537")):
            rep.image(f"{split}/{wnid}/{wnid}_{i}.JPEG", rng_image(40, 48, seed=i))
    pair = build_datasets("imagenet", tmp_path, image_size=32)
    assert pair.num_classes == 2 and len(pair.train) == 2
    x, y = pair.test[1]
    assert x.shape == (3, 32, 32) and y == 1


@pytest.mark.parametrize("name, layout", [("cifar10", "cifar-10-batches-py"), ("fashion-mnist", "idx3-ubyte"),
                                          ("imagenet", "<wnid>")])
def test_missing_root_names_layout(tmp_path, name, layout):
    with pytest.raises(DataError, match="Expected layout") as info:
        build_datasets(name, tmp_path / "nothing")
    assert layout in str(info.value)


def test_bad_names():
    with pytest.raises(ConfigError):
        build_datasets("mnist3d")
    with pytest.raises(ConfigError, match="data-root"):
        build_datasets("cifar10", None)
    pair = build_datasets("synthetic", synthetic_size=64)
    assert pair.train[0][0].shape == (1, 28, 28) and -1 <= pair.train[0][0].min() <= pair.train[0][0].max() <= 1
