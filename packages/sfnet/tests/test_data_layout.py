import numpy as np
import pytest
import replicas
import torch

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from cvcore.viz import voc_palette
from sfnet.data import TSS, PFPascal, PFWillow, load_training_arrays, prepare_voc, read_flo
from sfnet.data.tss import write_flo
from sfnet.engine.evaluate import evaluate
from sfnet.flow import regular_grid


class IdentityModel(torch.nn.Module):
    """Predicts the identity grid of the padded input (what a perfect model does for equal images)."""

    feature_size = (20, 20)

    def forward(self, src, tgt):
        g = regular_grid(src.shape[-2] // 16, src.shape[-1] // 16)[None].expand(len(src), -1, -1, -1)
        return type("Out", (), {"grid_t2s": g, "grid_s2t": g})()


def test_pf_pascal_items_and_both_normalisations(tmp_path):
    root = replicas.pf_pascal(tmp_path / "PF_Pascal")
    ds = PFPascal(root, split="test", eval_type="image_size")
    assert len(ds) == 3
    it = ds[0]
    assert it["source_image"].shape == (3, 320, 320) and it["L"] == 288.0
    assert it["source_points"].shape == (2, 5) and it["source_points"][0, -1] == -1
    assert tuple(it["source_size"].tolist()) == (288, 288)
    # padding equals -mean/std
    assert torch.allclose(it["source_image"][:, 0, 0], torch.tensor([-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    bb = PFPascal(root, split="val", eval_type="bounding_box")[1]
    assert bb["L"] == 41.5 and tuple(bb["source_size"].tolist()) == (60, 80)
    res = evaluate(IdentityModel(), ds)
    assert res["pck"] == 1.0 and res["n_pairs"] == 3 and set(res["per_class"]) == {"aeroplane", "bicycle", "bird"}


def test_pf_pascal_errors(tmp_path):
    with pytest.raises(DataError, match="bbox_test_pairs_pf_pascal.csv"):
        PFPascal(tmp_path)
    r = Replica(tmp_path / "bad")
    r.lines("bbox_test_pairs_pf_pascal.csv", ["source_image,target_image,class,XA,YA,XB,YB,L_pck",
                                              "a.jpg,b.jpg,1,1;x,2,3,4,5"])
    with pytest.raises(DataError, match="XA"):
        PFPascal(r.root)
    r.lines("bbox_test_pairs_pf_pascal.csv", ["source_image,target_image,class,XA,YA,XB,YB,L_pck", "a.jpg,b.jpg,1"])
    with pytest.raises(DataError, match="columns"):
        PFPascal(r.root)
    r.lines("bbox_test_pairs_pf_pascal.csv", ["source_image,target_image,class,XA,YA,XB,YB,L_pck",
                                              "a.jpg,b.jpg,1,1,2,3,4,5"])
    with pytest.raises(DataError, match="image not found"):
        PFPascal(r.root)[0]
    with pytest.raises(ValueError):
        PFPascal(r.root, eval_type="pixels")


def test_pf_willow_bbox_threshold_and_eval(tmp_path):
    root = replicas.pf_willow(tmp_path / "PF_WILLOW")
    ds = PFWillow(root)
    it = ds[0]
    p = it["source_points"]
    assert it["L"] == pytest.approx(float(max(p[0].max() - p[0].min(), p[1].max() - p[1].min())))
    assert it["source_points"].shape == (2, 10)
    res = evaluate(IdentityModel(), ds)
    assert res["pck"] == 1.0 and res["n_pairs"] == 3


def test_tss_flow_and_dense_pck(tmp_path):
    root = replicas.tss(tmp_path / "TSS", flow=(0.0, 0.0))
    ds = TSS(root)
    assert len(ds) == 4  # 2 pairs x 2 directions
    it = ds[0]
    assert it["gt_flow"].shape == (2, 40, 50) and it["mask"].dtype == torch.bool
    assert evaluate(IdentityModel(), ds)["pck"] == 1.0
    far = replicas.tss(tmp_path / "TSS2", flow=(20.0, 0.0))
    assert evaluate(IdentityModel(), TSS(far))["pck"] == 0.0


def test_flo_roundtrip_and_truncation(tmp_path):
    f = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    p = write_flo(tmp_path / "a.flo", f)
    np.testing.assert_array_equal(read_flo(p), f)
    p.write_bytes(p.read_bytes()[:20])
    with pytest.raises(DataError, match="truncated"):
        read_flo(p)
    (tmp_path / "b.flo").write_bytes(b"not a flow file")
    with pytest.raises(DataError, match="header"):
        read_flo(tmp_path / "b.flo")


def test_prepare_voc_and_training_arrays(tmp_path):
    r = Replica(tmp_path / "VOCdevkit" / "VOC2012")
    names = ["2007_000032", "2007_000039", "2009_000001"]
    for i, n in enumerate(names):
        r.image(f"JPEGImages/{n}.jpg", rng_image(20, 30, seed=i))
        lab = np.zeros((20, 30), np.uint8)
        lab[2:8, 3:9] = 15
        lab[0, :] = 255  # void -> background
        r.png_indexed(f"SegmentationClass/{n}.png", lab, palette=voc_palette())
    r.lines("ImageSets/Segmentation/trainval.txt", names)
    excl = r.lines("exclude.csv", ["source_image,target_image", "JPEGImages/2009_000001.jpg,JPEGImages/x.jpg"])
    _, _, count = prepare_voc(r.root, tmp_path / "training_data", exclude_csv=excl)
    assert count == 2
    imgs, masks = load_training_arrays(tmp_path)
    assert len(imgs) == 2 and imgs[0].shape == (20, 30, 3)
    assert set(np.unique(masks[0])) == {0, 255} and masks[0][0].max() == 0 and masks[0][4, 4] == 255
    with pytest.raises(DataError, match="VOC2012_seg_img.npy"):
        load_training_arrays(tmp_path / "nothing")


class MatchOrMirror(torch.nn.Module):
    """A perfect matcher for the two cases of the flip tests: identity grid when the inputs are equal,
    the mirrored grid (x -> -x) when the source is the target mirrored."""

    feature_size = (20, 20)

    def forward(self, src, tgt):
        g = regular_grid(src.shape[-2] // 16, src.shape[-1] // 16)[None].expand(len(src), -1, -1, -1).clone()
        if not torch.allclose(src, tgt):
            assert torch.allclose(src, tgt.flip(-1), atol=1e-3), "test model only knows equal or mirrored inputs"
            g[..., 0] = -g[..., 0]
        return type("Out", (), {"grid_t2s": g, "grid_s2t": g})()


@pytest.mark.parametrize("layout", ["flip_gt.txt", "csv"])
def test_tss_flip_flag_flips_the_source(tmp_path, layout):
    """image2 = image1 mirrored, flagged: the ground truth points into the flipped image, so the
    protocol must flip the source first; ignoring the flag would score the mirror flow."""
    csv = layout == "csv"
    root = replicas.tss(tmp_path / "tss", flip=True, csv=csv, prefix="TSS_CVPR2016/" if csv else "")
    ds = TSS(root)
    assert len(ds) == 4 and all(ds[i]["flip"] for i in range(4))
    it = ds[0]
    assert torch.equal(it["source_image"], it["target_image"])  # flipped image2 == image1
    res = evaluate(MatchOrMirror(), ds)
    assert res["pck"] == 1.0 and res["n_flipped"] == 4 and np.isnan(res["pck_without_flip"])
    # the same folders with the flag cleared: the source stays mirrored and the score collapses
    for p in root.rglob("flip_gt.txt"):
        p.write_text("0\n")
    if csv:
        csv_path = root / "test_pairs_tss.csv"
        lines = csv_path.read_text().splitlines()
        csv_path.write_text("\n".join([lines[0]] + [ln.replace(",1,1,", ",1,0,").replace(",2,1,", ",2,0,")
                                                    for ln in lines[1:]]) + "\n")
    unflagged = evaluate(MatchOrMirror(), TSS(root))
    assert unflagged["n_flipped"] == 0 and unflagged["pck"] < 0.3
    assert unflagged["pck_without_flip"] == unflagged["pck_all_pairs"] == unflagged["pck"]


def test_tss_threshold_uses_the_source_size_and_csv_errors(tmp_path):
    root = replicas.tss(tmp_path / "tss", n=1, size=(40, 50), size2=(30, 70))
    ds = TSS(root)
    by_dir = {ds[i]["name"][-1]: ds[i] for i in range(2)}
    assert by_dir["1"]["L"] == 70.0 and tuple(by_dir["1"]["target_size"].tolist()) == (40, 50)
    assert by_dir["2"]["L"] == 50.0 and by_dir["2"]["gt_flow"].shape == (2, 30, 70)
    r = Replica(tmp_path / "bad")
    r.lines("test_pairs_tss.csv", ["source_image,target_image,flow_direction,flip,category",
                                   "FG3DCar/a/image1.png,FG3DCar/a/image2.png,1,0,1"])
    with pytest.raises(DataError, match="image1.png"):
        TSS(r.root)
    r.lines("test_pairs_tss.csv", ["source_image,target_image,flow_direction,flip,category",
                                   "FG3DCar/a/image1.png,FG3DCar/a/image2.png,2,yes,1"])
    with pytest.raises(DataError, match="integers"):
        TSS(r.root)
    bad_flag = replicas.tss(tmp_path / "flag", n=1)
    (bad_flag / "FG3DCar/0001_0002/flip_gt.txt").write_text("maybe")
    with pytest.raises(DataError, match="0 or 1"):
        TSS(bad_flag)
