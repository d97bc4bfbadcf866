import json

import numpy as np
import pytest
import torch

from cvcore.data import write_image
from cvcore.data.replica import rng_image
from gzs3 import __version__
from gzs3.cli import main

TINY = ["--set", "optim.epochs=1", "--set", "optim.batch_size=4", "--set", "data.synthetic_train=8",
        "--set", "data.synthetic_val=2", "--set", "data.synthetic_size=32", "--set", "model.width=8"]


@pytest.fixture(scope="module")
def synth_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--preset", "synthetic_tiny", *TINY, "--output-dir", str(out), "-q"]) == 0
    return out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train", "eval", "predict", "export", "demo", "embed-classes", "convert-context"])
def test_help(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "--" in capsys.readouterr().out


def test_train_writes_checkpoint_config_and_metrics(synth_ckpt):
    assert (synth_ckpt / "last.pt").is_file() and (synth_ckpt / "config.toml").is_file()
    m = json.loads((synth_ckpt / "metrics.json").read_text())
    assert set(m["metrics"]["apollonius"]["miou"]) >= {"seen", "unseen", "harmonic", "overall", "per_class"}


def test_eval_json_and_sweep(synth_ckpt, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["eval", "--weights", str(synth_ckpt / "last.pt"), "--output-dir", str(out),
                 "--sigma-sweep", "0.5:0.7:0.1", "--save-pred", str(tmp_path / "pred"), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"apollonius", "none", "sigma=0.5", "sigma=0.6", "sigma=0.7"} <= set(res)
    assert res["apollonius"]["miou"] == res["sigma=0.5"]["miou"]
    for k in ("seen", "unseen", "harmonic"):
        assert 0.0 <= res["apollonius"]["miou"][k] <= 1.0
    assert json.loads((out / "metrics.json").read_text())["num_images"] == 2
    assert len(list((tmp_path / "pred").glob("*.png"))) == 2
    assert main(["eval", "--weights", str(synth_ckpt / "last.pt"), "--calibration", "stacking", "--gamma", "0.1", "-q"]) == 0


def test_eval_bad_inputs(synth_ckpt, tmp_path, capsys):
    assert main(["eval", "--weights", str(synth_ckpt / "last.pt"), "--sigma", "-1"]) == 2
    assert main(["eval", "--weights", str(synth_ckpt / "last.pt"), "--sigma", "nan"]) == 2
    assert main(["eval", "--weights", str(synth_ckpt / "last.pt"), "--sigma-sweep", "1:0.5:0.1"]) == 2
    capsys.readouterr()
    assert main(["eval"]) == 1
    assert main(["eval", "--weights", str(tmp_path / "missing.pt")]) == 1
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes((synth_ckpt / "last.pt").read_bytes()[:300])
    assert main(["eval", "--weights", str(bad)]) == 1
    from cvcore.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "other.pt", package="ewgs", version="0.1.0", model={})
    assert main(["eval", "--weights", str(tmp_path / "other.pt")]) == 1
    err = capsys.readouterr().err
    assert "ewgs" in err and "Traceback" not in err


def test_train_and_eval_on_voc_replica(voc_root, tmp_path, capsys):
    emb = tmp_path / "table.npy"
    np.save(emb, np.random.default_rng(0).normal(size=(21, 300)))
    out = tmp_path / "voc"
    assert main(["train", "--dataset", "voc", "--data-root", str(voc_root), "--embeddings", str(emb),
                 "--backbone", "tiny", "--crop", "32", "--batch-size", "2", "--epochs", "1", "--set", "model.width=8",
                 "--n-unseen", "2", "--output-dir", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["eval", "--weights", str(out / "last.pt"), "--data-root", str(voc_root), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {"seen", "unseen", "harmonic"} <= set(res["apollonius"]["miou"]) and res["num_images"] == 4
    assert res["unseen"] == [10, 14]


def test_context_missing_labels_names_file(context_root, tmp_path, capsys):
    root, img_root = context_root
    (root / "59_labels.pth").unlink()
    emb = tmp_path / "ctx.npy"
    np.save(emb, np.random.default_rng(0).normal(size=(60, 300)))
    assert main(["train", "--dataset", "context", "--data-root", str(root), "--embeddings", str(emb),
                 "--set", f"data.image_root={img_root}", "--backbone", "tiny", "--output-dir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "59_labels.pth" in err and "Traceback" not in err
    assert not (tmp_path / "c" / "last.pt").exists()


def test_predict_with_class_lists(synth_ckpt, tmp_path, capsys):
    img = tmp_path / "scene.png"
    write_image(img, rng_image(32, 40, seed=3))
    out = tmp_path / "pred"
    ck = str(synth_ckpt / "last.pt")
    assert main(["predict", str(img), "--weights", ck, "--output-dir", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["classes"]) == 7 and (out / "scene_labels.png").is_file() and (out / "scene_overlay.png").is_file()
    assert abs(sum(rep["images"][0]["fractions"].values()) - 1) < 1e-6
    assert main(["predict", str(img), "--weights", ck, "--output-dir", str(out), "--classes", "background,red solid"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["classes"] == ["background", "red solid"] and set(rep["images"][0]["fractions"]) <= {"background", "red solid"}
    wv = tmp_path / "wv.txt"
    wv.write_text("background " + " ".join(["0.1"] * 8) + "\npurple " + " ".join(["0.5"] * 8) + "\nthing 1 0 1 0 1 0 0 0\n")
    assert main(["predict", str(img), "--weights", ck, "--output-dir", str(out), "--classes", "background,purple thing",
                 "--word-vectors", str(wv)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["unseen"] == [1]  # names not among the trained seen classes count as unseen
    assert main(["predict", str(img), "--weights", ck, "--output-dir", str(out), "--classes", "zebra"]) == 1
    assert main(["predict", str(img), "--weights", ck, "--output-dir", str(out), "--classes", "zebra",
                 "--word-vectors", str(wv)]) == 1
    assert "zebra" in capsys.readouterr().err
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG broken")
    out2 = tmp_path / "pred2"
    assert main(["predict", str(img), str(bad), "--weights", ck, "--output-dir", str(out2)]) == 1
    assert not out2.exists()  # nothing half-written


def test_export_matches_predict(synth_ckpt, tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["export", "--weights", str(synth_ckpt / "last.pt"), "--output-dir", str(out), "--height", "32", "--width", "32"]) == 0
    info = json.loads(capsys.readouterr().out)
    prog = torch.export.load(info["program"])
    from gzs3.checkpoints import load_trained

    model, _, _ = load_trained(synth_ckpt / "last.pt")
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(prog.module()(x), model.predict(x))


def test_demo_quick(tmp_path, capsys):
    assert main(["demo", "--quick", "--output-dir", str(tmp_path), "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (tmp_path / "demo.png").is_file() and "bar/apollonius" in res and "center/nearest prototype" in res


@pytest.mark.slow
def test_python_m_help_subprocess():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "gzs3", "--help"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "predict" in r.stdout


def test_embed_classes(tmp_path, capsys):
    from gzs3.embeddings import load_table

    wv = tmp_path / "wv.txt"
    wv.write_text("3 2\npotted 1 0\nplant 0 2\ncat 4 4\n")
    names = tmp_path / "names.txt"
    names.write_text("cat\npotted plant\n")
    out = tmp_path / "table.npy"
    assert main(["embed-classes", "--word-vectors", str(wv), "--names", str(names), "--out", str(out),
                 "--normalize", "none"]) == 0
    np.testing.assert_allclose(load_table(out, normalize=None).numpy(), [[4, 4], [0.5, 1.0]])
    names.write_text("cat\nunicorn\n")
    capsys.readouterr()
    assert main(["embed-classes", "--word-vectors", str(wv), "--names", str(names), "--out", str(tmp_path / "t2.npy")]) == 1
    assert "unicorn" in capsys.readouterr().err and not (tmp_path / "t2.npy").exists()


def test_convert_context_cli(tmp_path, capsys):
    from scipy.io import savemat

    from gzs3.data import ContextZeroShot
    from gzs3.splits import CONTEXT_CLASSES

    # a raw release: 459-class list in its own order (ZS3Net spellings differ for 3 classes), LabelMap .mat files
    raw = ["accordion", "aeroplane", "diningtable", "bedcloth", "clothes"] + [
        n for n in CONTEXT_CLASSES[1:] if n not in ("aeroplane", "table", "bedclothes", "cloth")] + ["zebra"]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(raw))
    ids = {raw[j]: i + 1 for i, j in enumerate(order)}
    (tmp_path / "labels.txt").write_text("".join(f"{ids[n]}: {n}\n" for n in sorted(ids, key=ids.get)))
    tv = tmp_path / "trainval"
    tv.mkdir()
    maps = {f"2008_00000{i}": rng.integers(1, len(raw) + 1, (6, 7)) for i in range(3)}
    for stem, lm in maps.items():
        savemat(tv / f"{stem}.mat", {"LabelMap": lm.astype(np.uint16)})
    out = tmp_path / "context" / "59_labels.pth"
    assert main(["convert-context", "--trainval", str(tv), "--labels", str(tmp_path / "labels.txt"), "--out", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["images"] == 3 and rep["labels_file"] == str(out)
    inv = {v: k for k, v in ids.items()}
    rename = {"diningtable": "table", "bedcloth": "bedclothes", "clothes": "cloth"}
    got = torch.load(out, weights_only=True)
    for stem, lm in maps.items():  # brute force: per pixel, the raw name -> ZS3Net id (0 outside the 59)
        expect = [[CONTEXT_CLASSES.index(rename.get(inv[v], inv[v])) if rename.get(inv[v], inv[v]) in CONTEXT_CLASSES
                   else 0 for v in row] for row in lm.tolist()]
        assert got[stem].tolist() == expect
    assert rep["classes_present"] == len({x for t in got.values() for x in t.flatten().tolist()} - {0})
    # the written file is what ContextZeroShot reads
    from cvcore.data import write_image
    from cvcore.data.replica import rng_image

    for stem in maps:
        write_image(tmp_path / "VOC2012" / "JPEGImages" / f"{stem}.jpg", rng_image(6, 7, seed=1))
    (out.parent / "pascal_context_val.txt").write_text("".join(f"JPEGImages/{s}.jpg labels/{s}.png\n" for s in maps))
    val = ContextZeroShot(out.parent, "val", image_root=tmp_path / "VOC2012")
    assert len(val) == 3 and torch.equal(val[0][1], got["2008_000000"])
    # bad input: one-line errors, nothing written
    assert main(["convert-context", "--trainval", str(tmp_path / "nope"), "--labels", str(tmp_path / "labels.txt"),
                 "--out", str(tmp_path / "x.pth")]) == 1
    assert main(["convert-context", "--trainval", str(tv), "--labels", str(tmp_path / "missing.txt"),
                 "--out", str(tmp_path / "x.pth")]) == 1
    (tv / "2008_000009.mat").write_bytes(b"garbage")
    assert main(["convert-context", "--trainval", str(tv), "--labels", str(tmp_path / "labels.txt"),
                 "--out", str(tmp_path / "x.pth")]) == 1
    assert main(["convert-context", "--trainval", str(tv), "--labels", str(tmp_path / "labels.txt"),
                 "--out", str(tmp_path / "x.txt")]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "missing.txt" in err and "2008_000009" in err and "Traceback" not in err
    assert not (tmp_path / "x.pth").exists()
