import pytest
import torch
import torch.nn.functional as F

from gzs3.calibration import apollonius_calibration
from gzs3.distances import squared_distances
from gzs3.joint_embedding import JointEmbeddingModel
from gzs3.models import DeepLabV3PlusEncoder, SemanticEncoder


def make(K=5, ds=6, unseen=(3,)):
    vis = DeepLabV3PlusEncoder(K, backbone="tiny", width=8).eval()
    sem = SemanticEncoder(ds, 8)
    return JointEmbeddingModel(vis, sem, torch.randn(K, ds), unseen=unseen)


def test_distances_and_predict():
    m = make()
    x = torch.randn(2, 3, 32, 32)
    d = m.distances(x)
    assert d.shape == (2, 5, 32, 32)
    v = F.interpolate(m.visual.features(x), size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(d, squared_distances(v, m.prototypes()))
    p = m.predict(x, sigma=0.5)
    assert torch.equal(p, apollonius_calibration(d, m.unseen_mask, 0.5))
    assert torch.equal(m.predict(x, calibration="none"), d.argmin(1))
    assert m.distances(x, out_size="feature").shape == (2, 5, 8, 8)
    assert m.seen == [0, 1, 2, 4] and m.unseen == [3]
    with pytest.raises(ValueError):
        m.predict(x, calibration="bogus")


def test_add_classes_by_vector_name_and_mapping():
    m = make()
    x = torch.randn(1, 3, 16, 16)
    before = m.distances(x)
    vec = torch.randn(2, 6)
    ids = m.add_classes(vec, names=["a", "b"])
    assert ids == [5, 6] and m.num_classes == 7 and m.unseen == [3, 5, 6]
    after = m.distances(x)
    torch.testing.assert_close(after[:, :5], before)
    torch.testing.assert_close(after[:, 5:], squared_distances(
        F.interpolate(m.visual.features(x), size=(16, 16), mode="bilinear", align_corners=False), m.semantic(vec)))
    wv = {"zebra": torch.randn(6).numpy(), "red": torch.ones(6).numpy(), "car": torch.zeros(6).numpy()}
    ids = m.add_classes(["zebra", "red car"], word_vectors=wv)
    torch.testing.assert_close(m.class_embeddings[ids[1]], torch.full((6,), 0.5))
    assert m.class_names[-2:] == ["zebra", "red car"]
    m.add_classes({"q": torch.zeros(6)}, unseen=False)
    assert m.unseen_mask[-1].item() is False
    with pytest.raises(ValueError):
        m.add_classes(torch.randn(1, 5))
    with pytest.raises(ValueError):
        m.add_classes(["zebra"])
    with pytest.raises(KeyError, match="unicorn"):
        m.add_classes(["unicorn"], word_vectors=wv)


def test_state_dict_roundtrip_with_added_classes():
    m = make()
    m.add_classes(torch.randn(3, 6))
    fresh = make()
    fresh.load_state_dict(m.state_dict())
    assert fresh.num_classes == 8 and fresh.unseen == m.unseen
    x = torch.randn(1, 3, 16, 16)
    assert torch.equal(fresh.predict(x), m.predict(x))
