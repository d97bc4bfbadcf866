import json

import numpy as np
import pytest
import replicas
import torch

from cvcore.data.replica import Replica
from sfnet import __version__
from sfnet.cli import main

COMMANDS = ("train", "eval", "match", "demo", "export", "data")


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help(cmd, capsys):
    assert main([cmd, "--help"]) == 0
    assert "usage" in capsys.readouterr().out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(["demo", "--epochs", "2", "--images", "4", "--size", "96", "--output-dir", str(out), "-q"])
    return code, out


def test_demo_writes_png_and_metrics(demo_run):
    code, out = demo_run
    assert code == 0
    assert (out / "demo.png").stat().st_size > 1000 and (out / "demo_model.pt").is_file()
    res = json.loads((out / "demo_metrics.json").read_text())
    for alpha in ("pck@0.1", "pck@0.05"):
        assert set(res[alpha]) == {"identity", "untrained", "sfnet"}
        assert all(0.0 <= v <= 1.0 for v in res[alpha].values())
    assert len(res["train_loss"]) == 2


def test_eval_pf_willow_replica(demo_run, tmp_path, capsys):
    _, out = demo_run
    root = replicas.pf_willow(tmp_path / "PF_WILLOW")
    capsys.readouterr()
    assert main(["eval", "--benchmark", "pf-willow", "--data-root", str(root), "--weights", str(out / "demo_model.pt"),
                 "--output-dir", str(tmp_path / "ev")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n_pairs"] == 3 and 0.0 <= res["pck"] <= 1.0 and res["benchmark"] == "pf-willow"
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["pck"] == res["pck"]


def test_eval_caltech_replica(demo_run, tmp_path, capsys):
    _, out = demo_run
    root = replicas.caltech(tmp_path / "caltech-101")
    capsys.readouterr()
    assert main(["eval", "--dataset", "caltech", "--data-root", str(root), "--weights", str(out / "demo_model.pt"),
                 "--polygons", "annotations", "-q"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["benchmark"] == "caltech" and res["n_pairs"] == 3
    assert 0.0 <= res["lt_acc"] <= 1.0 and 0.0 <= res["iou"] <= 1.0 and res["loc_err"] >= 0.0
    assert set(res["per_category"]) == {"Faces", "ant", "yin_yang"}


def test_match_writes_flow_warp_and_keypoints(demo_run, tmp_path):
    _, out = demo_run
    r = Replica(tmp_path)
    rng = np.random.default_rng(0)
    a = r.image("a.png", rng.integers(0, 255, (70, 90, 3)).astype(np.uint8))
    b = r.image("b.jpg", rng.integers(0, 255, (60, 80, 3)).astype(np.uint8))
    kp = r.lines("kp.csv", ["x,y", "10,20", "45.5,33"])
    assert main(["match", str(a), str(b), "-o", str(tmp_path / "res" / "flow.png"), "--keypoints", str(kp),
                 "--weights", str(out / "demo_model.pt")]) == 0
    for name in ("flow.png", "flow_warped.png", "flow.npz", "flow_keypoints.csv", "flow_keypoints.png"):
        assert (tmp_path / "res" / name).is_file(), name
    lines = (tmp_path / "res" / "flow_keypoints.csv").read_text().splitlines()
    assert len(lines) == 3
    tx, ty = (float(v) for v in lines[1].split(",")[2:])
    assert 0 <= tx <= 79 and 0 <= ty <= 59  # inside the target image
    grids = np.load(tmp_path / "res" / "flow.npz")
    assert grids["grid_t2s"].shape == (6, 6, 2)


def test_export_roundtrip(demo_run, tmp_path):
    _, out = demo_run
    path = tmp_path / "m.pt2"
    assert main(["export", "--weights", str(out / "demo_model.pt"), "-o", str(path), "--size", "64"]) == 0
    prog = torch.export.load(str(path))
    x = torch.randn(1, 3, 64, 64)
    from sfnet.engine.inference import load_model

    model = load_model(out / "demo_model.pt", version=__version__)
    with torch.no_grad():
        ref = model(x, x.flip(-1))
    gs, gt = prog.module()(x, x.flip(-1))
    torch.testing.assert_close(gt, ref.grid_t2s, atol=1e-5, rtol=0)


def test_train_resume_is_bit_for_bit(tmp_path):
    common = ["train", "--synthetic-demo", "--batch-size", "2", "--set", "data.demo_images=4",
              "--set", "data.demo_size=64", "--set", "model.feature_size=[4, 4]", "--set", "data.val_synthetic=2",
              "--seed", "3", "-q"]
    assert main([*common, "--epochs", "2", "--output-dir", str(tmp_path / "full")]) == 0
    assert main([*common, "--epochs", "1", "--output-dir", str(tmp_path / "part")]) == 0
    assert main([*common, "--epochs", "2", "--output-dir", str(tmp_path / "part"),
                 "--resume", str(tmp_path / "part" / "last.pt")]) == 0
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "part" / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "full" / "config.toml").is_file() and (tmp_path / "full" / "best_checkpoint.pt").is_file()
    log = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2] and all(np.isfinite(r["loss"]) for r in log)


def test_bad_inputs_give_one_line_errors(demo_run, tmp_path, capsys):
    _, out = demo_run
    weights = str(out / "demo_model.pt")
    r = Replica(tmp_path)
    good = r.image("good.png", np.zeros((40, 40, 3), np.uint8))
    corrupt = r.bytes("bad.png", b"\x89PNG not really")
    cases = [
        (["match", str(good), str(tmp_path / "missing.png"), "--weights", weights], 1, "not found"),
        (["match", str(good), str(corrupt), "--weights", weights], 1, "corrupt"),
        (["match", str(good), str(good)], 1, "--weights"),
        (["match", str(good), str(good), "--weights", str(corrupt)], 1, "truncated"),
        (["match", str(good), str(good), "--weights", weights, "--keypoints", str(r.lines("k.csv", ["1,nan"]))], 1,
         "non-finite"),
        (["eval", "--benchmark", "pf-pascal", "--data-root", str(tmp_path / "none"), "--weights", weights], 1,
         "PF-PASCAL root not found"),
        (["eval", "--benchmark", "kitti"], 2, "invalid choice"),
        (["train", "--epochs", "0"], 2, ">= 1"),
        (["train", "--set", "optim.nope=1", "--synthetic-demo"], 1, "unknown config key"),
        (["train", "--set", "loss.smoothness=paper", "--synthetic-demo", "--output-dir", str(tmp_path / "t")], 1,
         "smoothness"),
    ]
    for argv, code, msg in cases:
        capsys.readouterr()
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "t" / "last.pt").exists()
    # an official-layout checkpoint for the wrong architecture
    torch.save({"state_dict1": {}, "state_dict2": {}}, tmp_path / "official.pt")
    assert main(["match", str(good), str(good), "--weights", str(tmp_path / "official.pt"), "--backbone", "tiny"]) == 1
    assert "does not fit" in capsys.readouterr().err
