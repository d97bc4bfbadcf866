import numpy as np
import pytest
import torch

from cvcore.data.classification import CIFAR, FashionMNIST, ImageNetFolder, SyntheticClassification
from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError


def test_cifar10_replica(tmp_path):
    folder = Replica(tmp_path).cifar10(n_train_per_batch=3, n_test=2)
    train = CIFAR(tmp_path, train=True)
    assert len(train) == 15 and train.data.shape == (15, 32, 32, 3)
    img, label = train[4]
    assert img.shape == (3, 32, 32) and 0 <= label < 10
    # pixel layout: the first 1024 bytes of a row are the red plane
    import pickle

    raw = pickle.load(open(folder / "data_batch_2", "rb"), encoding="bytes")[b"data"][1]
    np.testing.assert_array_equal(train.data[4][..., 0].ravel(), raw[:1024])
    assert len(CIFAR(folder, train=False)) == 2  # the batches folder itself also works


def test_cifar100_and_errors(tmp_path):
    r = Replica(tmp_path)
    rng = np.random.default_rng(0)
    for split, n in (("train", 5), ("test", 3)):
        r.pickle(f"cifar-100-python/{split}", {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                               b"fine_labels": [99] * n, b"coarse_labels": [0] * n})
    assert CIFAR(tmp_path, num_classes=100, train=False).targets.tolist() == [99] * 3
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        CIFAR(tmp_path, num_classes=10)
    r.text("cifar-10-batches-py/data_batch_1", "junk")
    with pytest.raises(DataError, match="missing"):
        CIFAR(tmp_path)


def test_fashion_mnist_replica(tmp_path):
    Replica(tmp_path).fashion_mnist(n_train=12, n_test=5)
    ds = FashionMNIST(tmp_path, train=True)
    x, y = ds.tensors()
    assert x.shape == (12, 1, 28, 28) and y.shape == (12,) and x.max() <= 1
    assert torch.equal(ds[3][0], x[3])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="t10k-images"):
        FashionMNIST(tmp_path / "empty", train=False)
    with pytest.raises(DataError, match="folder not found"):
        FashionMNIST(tmp_path / "missing")


def test_imagenet_folder_replica(tmp_path):
    r = Replica(tmp_path)
    for i, wnid in enumerate(["n01440764", "n01443537"]):
        for j in range(2):
            r.image(f"val/{wnid}/ILSVRC2012_val_{i}{j}.JPEG", rng_image(10, 12, seed=i * 2 + j))
    ds = ImageNetFolder(tmp_path, split="val")
    assert ds.classes == ["n01440764", "n01443537"] and len(ds) == 4
    assert ds[3][1] == 1 and ds[0][0].shape == (3, 10, 12)
    with pytest.raises(DataError, match="train"):
        ImageNetFolder(tmp_path, split="train")


def test_synthetic_is_learnable_and_splits_differ():
    train = SyntheticClassification(400, num_classes=4, seed=3)
    test = SyntheticClassification(100, num_classes=4, seed=3, train=False)
    assert not np.array_equal(train.data[:100], test.data)
    # nearest class mean (from train) classifies test well: the set carries class signal
    xtr, ytr = train.tensors()
    xte, yte = test.tensors()
    means = torch.stack([xtr[ytr == c].mean(0) for c in range(4)]).flatten(1)
    pred = torch.cdist(xte.flatten(1), means).argmin(1)
    assert (pred == yte).float().mean() > 0.9
