"""Loaders against tiny replicas of the official on-disk layouts; clear errors for bad roots."""

import numpy as np
import pytest
import torch

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from daq.config import DataConfig
from daq.data import build_datasets
from daq.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def test_cifar10_replica(tmp_path):
    Replica(tmp_path).cifar10(n_train_per_batch=3, n_test=5)
    train, test, ch = build_datasets(DataConfig(dataset="cifar10", root=str(tmp_path)))
    assert (len(train), len(test), ch) == (15, 5, 3)
    x, y = test[0]
    assert x.shape == (3, 32, 32) and 0 <= y < 10
    # test transform = ImageNet normalization of the raw pixels (official script)
    raw = torch.from_numpy(test.data[0]).permute(2, 0, 1).float() / 255
    ref = (raw - torch.tensor(IMAGENET_MEAN).view(3, 1, 1)) / torch.tensor(IMAGENET_STD).view(3, 1, 1)
    assert torch.allclose(x, ref, atol=1e-6)
    # train transform: flip + crop with zero padding of the raw image, then normalization
    xt, _ = train[0]
    assert xt.shape == (3, 32, 32)
    raw_t = torch.from_numpy(train.data[0]).permute(2, 0, 1).float() / 255
    padded = torch.nn.functional.pad(raw_t, (4, 4, 4, 4))
    de = xt * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    found = any(torch.allclose(de, c[:, i:i + 32, j:j + 32], atol=1e-5)
                for c in (padded, padded.flip(-1)) for i in range(9) for j in range(9))
    assert found


def test_imagenet_replica(tmp_path):
    r = Replica(tmp_path)
    for split in ("train", "val"):
        for k, wnid in enumerate(("n01440764", "n01443537")):
            r.image(f"{split}/{wnid}/{wnid}_{k}.JPEG", rng_image(40, 50, seed=k))
    train, test, ch = build_datasets(DataConfig(dataset="imagenet", root=str(tmp_path)))
    assert len(train) == 2 and len(test) == 2 and ch == 3
    x, y = test[1]
    assert x.shape == (3, 224, 224) and y == 1


def test_fashion_mnist_replica(tmp_path):
    Replica(tmp_path).fashion_mnist(n_train=12, n_test=6)
    train, test, ch = build_datasets(DataConfig(dataset="fashion-mnist", root=str(tmp_path)))
    assert (len(train), len(test), ch) == (12, 6, 1)
    assert test[0][0].shape == (1, 28, 28)


def test_limits_and_synthetic():
    cfg = DataConfig(dataset="synthetic", synthetic_train=40, synthetic_test=20, image_size=8, train_limit=10)
    train, test, ch = build_datasets(cfg)
    assert len(train) == 10 and len(test) == 20 and train[0][0].shape == (3, 8, 8)
    again, _, _ = build_datasets(cfg)
    assert torch.equal(train[3][0], again[3][0])


@pytest.mark.parametrize("name, needle", [("cifar10", "cifar-10-batches-py"), ("imagenet", "train/<wnid>"),
                                          ("fashion-mnist", "train-images-idx3-ubyte")])
def test_missing_roots_name_the_layout(tmp_path, name, needle):
    with pytest.raises(DataError, match="Expected layout") as exc:
        build_datasets(DataConfig(dataset=name, root=str(tmp_path / "nothing")))
    assert needle in str(exc.value)
    with pytest.raises(DataError, match="--data-root"):
        build_datasets(DataConfig(dataset=name))


def test_malformed_cifar_batch(tmp_path):
    r = Replica(tmp_path)
    r.cifar10(n_train_per_batch=2, n_test=2)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"garbage")
    with pytest.raises(DataError):
        build_datasets(DataConfig(dataset="cifar10", root=str(tmp_path)))


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset"):
        build_datasets(DataConfig(dataset="mnist", root="/x"))


def test_corrupt_image_in_imagenet(tmp_path):
    r = Replica(tmp_path)
    for split in ("train", "val"):
        r.bytes(f"{split}/n0/broken.JPEG", b"not a jpeg")
    _, test, _ = build_datasets(DataConfig(dataset="imagenet", root=str(tmp_path)))
    with pytest.raises(Exception) as exc:
        test[0]
    assert isinstance(exc.value, (DataError, OSError, ValueError))
    assert np is not None
