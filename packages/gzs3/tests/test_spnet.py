"""The SPNet setting (VOC, 5 unseen, DeepLab-V2, 600-d word2vec + fastText table, background ignored)."""

import json
import pickle

import numpy as np
import pytest
import torch

from cvcore.config import load_config
from cvcore.data.replica import Replica, rng_image
from cvcore.testing import official_data_dir
from cvcore.viz import voc_palette
from gzs3.config import TrainConfig, preset_path
from gzs3.engine.builders import build_class_setup, build_datasets, load_tables

IDS = ["2007_000032", "2007_000033", "2007_000039", "2007_000042"]
CLASSES = [[15, 17], [10], [19, 20, 3], [1]]


@pytest.fixture
def spnet_root(tmp_path):
    r = Replica(tmp_path / "VOC2012")
    rng = np.random.default_rng(0)
    for i, (img_id, cls) in enumerate(zip(IDS, CLASSES)):
        lab = np.zeros((24, 32), np.uint8)
        for c in cls:
            y, x = rng.integers(0, 16), rng.integers(0, 24)
            lab[y:y + 8, x:x + 8] = c
        lab[0] = 255
        r.image(f"JPEGImages/{img_id}.jpg", rng_image(24, 32, seed=i))
        r.png_indexed(f"SegmentationClass/{img_id}.png", lab, palette=voc_palette())
        r.image(f"SegmentationClassAug/{img_id}.png", lab)
    r.lines("ImageSets/Segmentation/train_aug.txt", [f"/JPEGImages/{i}.jpg /SegmentationClassAug/{i}.png" for i in IDS])
    r.lines("ImageSets/Segmentation/val.txt", IDS)
    rng = np.random.default_rng(1)
    w2v, ft = tmp_path / "word2vec.pkl", tmp_path / "fasttext.pkl"
    for p, scale in ((w2v, 3.0), (ft, 0.5)):  # 34-row CaGNet-style pickles (numpy, protocol 2)
        with p.open("wb") as f:
            pickle.dump(rng.normal(size=(34, 300)) * scale, f, protocol=2)
    return r.root, w2v, ft


def spnet_cfg(root, w2v, ft, *extra):
    return load_config(TrainConfig, preset_path("voc_deeplabv2_spnet"), [
        f"data.root='{root}'", f"data.embeddings='{w2v},{ft}'", *extra])


def test_two_tables_concatenated_each_max_scaled(spnet_root):
    _, w2v, ft = spnet_root
    t = load_tables(f"{w2v},{ft}", 21)
    a = np.asarray(pickle.loads(w2v.read_bytes()))[:21]
    b = np.asarray(pickle.loads(ft.read_bytes()))[:21]
    ref = np.concatenate([a / np.linalg.norm(a, axis=1).max(), b / np.linalg.norm(b, axis=1).max()], 1)
    assert t.shape == (21, 600)
    np.testing.assert_allclose(t.numpy(), ref, rtol=1e-5, atol=1e-6)


def test_official_cagnet_tables_make_the_600d_table():
    base = official_data_dir("gzs3")
    if base is None or not (base / "context/CaGNet/word2vec.pkl").is_file():
        pytest.skip("official JoEm embedding files not available")
    t = load_tables(f"{base / 'context/CaGNet/word2vec.pkl'},{base / 'context/CaGNet/fasttext.pkl'}", 21)
    assert t.shape == (21, 600) and torch.isfinite(t).all()
    for half in (t[:, :300], t[:, 300:]):
        assert half.norm(dim=1).max().item() == pytest.approx(1.0, abs=1e-5)


def test_spnet_setup_and_labels(spnet_root):
    root, w2v, ft = spnet_root
    cfg = spnet_cfg(root, w2v, ft, "data.crop=24", "data.base_size=24")
    setup = build_class_setup(cfg)
    assert setup.unseen == [16, 17, 18, 19, 20] and setup.seen == list(range(1, 16)) and setup.excluded == [0]
    assert setup.sc_classes == list(range(1, 16)) and setup.table.shape == (21, 600)
    tr, va = build_datasets(cfg, setup)
    assert len(tr) == 4 and tr.num_removed == 0  # no image removal in this setting
    for i in range(4):
        raw = tr.items[i][1]
        from gzs3.data._common import read_label

        lab = read_label(raw)
        got = tr._label(i)
        ignore = np.isin(lab, [0, 16, 17, 18, 19, 20])
        assert np.array_equal(got[ignore], np.full(ignore.sum(), 255)) and np.array_equal(got[~ignore], lab[~ignore])
        vlab = va._label(i)
        assert np.array_equal(vlab, np.where(lab == 0, 255, lab))  # val: background ignored, unseen kept
    with pytest.raises(Exception, match="k=5"):
        build_class_setup(spnet_cfg(root, w2v, ft, "data.n_unseen=4"))


def test_excluded_background_is_never_predicted():
    from gzs3 import JointEmbeddingModel
    from gzs3.models import DeepLabV2Encoder, SemanticEncoder

    visual = DeepLabV2Encoder(4, backbone="tiny", width=4)
    model = JointEmbeddingModel(visual, SemanticEncoder(6, visual.feature_dim), torch.randn(4, 6), unseen=[3], exclude=[0])
    assert model.seen == [1, 2] and model.unseen == [3]
    d = torch.tensor([[0.1, 0.5, 0.9, 2.0], [0.1, 0.9, 0.5, 0.6]]).T.reshape(1, 4, 2, 1)  # class 0 nearest everywhere
    for cal in ("none", "apollonius", "stacking"):
        pred = model.decide(d, cal, sigma=0.5, gamma=0.0)
        assert (pred != 0).all()
    assert model.decide(d, "none")[0, :, 0].tolist() == [1, 2]  # nearest among the others
    assert model.decide(d, "apollonius", sigma=0.5)[0, :, 0].tolist() == [1, 3]  # 0.3 < 0.5: unseen wins at pixel 2
    with pytest.raises(ValueError):
        JointEmbeddingModel(visual, SemanticEncoder(6, visual.feature_dim), torch.randn(4, 6), unseen=[3], exclude=[3])


def test_spnet_preset_trains_and_evaluates_via_cli(spnet_root, tmp_path, capsys):
    from gzs3.cli import main

    root, w2v, ft = spnet_root
    out = tmp_path / "sp"
    assert main(["train", "--preset", "voc_deeplabv2_spnet", "--data-root", str(root), "--embeddings", f"{w2v},{ft}",
                 "--backbone", "tiny", "--set", "model.width=4", "--crop", "24", "--set", "data.base_size=24",
                 "--batch-size", "2", "--epochs", "1", "--no-eval", "--output-dir", str(out), "-q"]) == 0
    capsys.readouterr()
    pred_dir = tmp_path / "pred"
    assert main(["eval", "--weights", str(out / "last.pt"), "--data-root", str(root), "--save-pred", str(pred_dir), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["seen"] == list(range(1, 16)) and res["unseen"] == [16, 17, 18, 19, 20] and res["num_images"] == 4
    assert "apollonius" in res and res["apollonius"]["miou"]["per_class"][0] == 0.0
    from PIL import Image

    preds = [np.array(Image.open(p)) for p in sorted(pred_dir.glob("*.png"))]
    assert len(preds) == 4 and all((p != 0).all() for p in preds)  # background is never predicted
