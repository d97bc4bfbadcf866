"""cvcore.reid.features (flip TTA) and cvcore.reid.vis (ranked-result PNGs)."""

import numpy as np
import pytest
import torch
from PIL import Image

from cvcore.reid import (
    ImageDataset,
    Market1501,
    extract_features,
    flip_augmented,
    make_market_like_dataset,
    visualize_ranked_results,
)


class _ColumnMean(torch.nn.Module):  # flip invariant
    def forward(self, x):
        return x.mean(dim=(2, 3))


class _Parts(torch.nn.Module):  # not flip invariant, two parts
    def forward(self, x):
        return [x[:, :, :, :2].mean((2, 3)), x[:, :, :2, :].sum((2, 3))]


def test_flip_invariant_model_same_features():
    x = torch.randn(4, 3, 8, 4)
    a = flip_augmented(_ColumnMean(), x, flip=True)
    b = flip_augmented(_ColumnMean(), x, flip=False)
    torch.testing.assert_close(a, b)


def test_flip_mean_of_parts_then_normalise():
    x = torch.randn(3, 3, 8, 4)
    m = _Parts()
    p, pf = m(x), m(torch.flip(x, dims=[3]))
    ref = torch.cat([(p[0] + pf[0]) / 2, (p[1] + pf[1]) / 2], 1)
    ref = ref / ref.norm(dim=1, keepdim=True)
    torch.testing.assert_close(flip_augmented(m, x), ref)
    torch.testing.assert_close(flip_augmented(m, x, flip_reduce="sum"), ref)  # same direction


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    make_market_like_dataset(root, num_train_ids=3, num_test_ids=3, size=(32, 16), seed=2)
    return Market1501(root, check=False)


def test_extract_features_over_loader(tiny):
    loader = torch.utils.data.DataLoader(ImageDataset(tiny.gallery), batch_size=4)
    f, pids, cams, paths = extract_features(_ColumnMean(), loader)
    assert f.shape == (len(tiny.gallery), 3)
    torch.testing.assert_close(f.norm(dim=1), torch.ones(len(f)))
    assert pids.tolist() == [r.pid for r in tiny.gallery] and paths == [r.path for r in tiny.gallery]
    assert cams.tolist() == [r.camid for r in tiny.gallery]


def test_visualize_ranked_results(tiny, tmp_path):
    rng = np.random.default_rng(0)
    d = rng.random((len(tiny.query), len(tiny.gallery)))
    out = visualize_ranked_results(d, tiny.query, tiny.gallery, tmp_path, topk=3, size=(40, 20), max_queries=2)
    assert len(out) == 2
    img = np.asarray(Image.open(out[0]))
    pad = 4
    assert img.shape == (40 + 2 * pad, 4 * 20 + 5 * pad, 3)
    q = tiny.query[0]
    order = [j for j in np.argsort(d[0], kind="stable")
             if not (tiny.gallery[j].pid == q.pid and tiny.gallery[j].camid == q.camid)][:3]
    for t, j in enumerate(order, start=1):
        x = pad + t * (20 + pad)
        colour = img[pad + 1, x + 1]
        want = (0, 200, 0) if tiny.gallery[j].pid == q.pid else (220, 0, 0)
        assert tuple(colour) == want
