import json

import numpy as np
import pytest
import torch

from isgan import __version__
from isgan.cli import main

TINY_SET = ["--set", "model.feat_id=8", "--set", "model.feat_nid=4", "--set", "model.noise_dim=8",
            "--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "ids_per_batch=2",
            "--set", "images_per_id=2"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "error" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trained(tmp_path_factory, market):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--stage", "all", "--dataset", "market1501", "--data-root", str(market),
                 "--output-dir", str(out), "--height", "96", "--width", "48", "--backbone", "tiny",
                 "--epochs-stage1", "1", "--epochs-stage2", "1", "--epochs-stage3", "1", "--steps-per-epoch", "1",
                 "--seed", "0", "-q", *TINY_SET])
    assert code == 0
    return out


def test_train_writes_stage_checkpoints_and_config(trained):
    for s in (1, 2, 3):
        assert (trained / f"isgan_stage{s}_001.pt").is_file()
    assert "feat_id = 8" in (trained / "config.toml").read_text()
    assert json.loads((trained / "train.json").read_text())["num_classes"] == 6


def test_eval_extract_generate_export(trained, market, tmp_path, capsys):
    ck = str(trained / "isgan_stage3_001.pt")
    capsys.readouterr()
    assert main(["eval", "--weights", ck, "--dataset", "market1501", "--data-root", str(market),
                 "--output-dir", str(tmp_path), "--visrank", "2"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert all(0 <= res[k] <= 1 for k in ("mAP", "rank1", "rank3", "rank5", "rank10"))
    assert res["rank1"] <= res["rank5"] and len(list((tmp_path / "visrank").glob("*.png"))) == 2

    query = market / "Market-1501-v15.09.15" / "query"
    assert main(["extract", "--weights", ck, "--images", str(query), "--out", str(tmp_path / "f.npz"),
                 "--with-unrelated"]) == 0
    z = np.load(tmp_path / "f.npz")
    assert z["features"].shape[1] == 64 and np.allclose(np.linalg.norm(z["features"], axis=1), 1, atol=1e-5)
    assert z["unrelated"].shape == (len(z["paths"]), 32)

    imgs = sorted(query.iterdir())
    assert main(["generate", "--weights", ck, "--image", str(imgs[0]), "--identity-from", str(imgs[1]),
                 "--parts", "0,3,5", "--out", str(tmp_path / "grid.png")]) == 0
    from cvcore.data import read_image

    assert read_image(tmp_path / "grid.png").shape[1] > 5 * 48

    assert main(["export", "--weights", ck, "--out", str(tmp_path / "m.pt2")]) == 0
    program = torch.export.load(str(tmp_path / "m.pt2"))
    assert program.module()(torch.randn(2, 3, 96, 48)).shape == (2, 64)


def test_bad_inputs_are_clear_errors(trained, market, tmp_path, capsys):
    ck = str(trained / "isgan_stage3_001.pt")
    capsys.readouterr()
    assert main(["eval", "--weights", str(tmp_path / "none.pt"), "--data-root", str(market)]) == 1
    assert "checkpoint not found" in capsys.readouterr().err
    (tmp_path / "not_image.jpg").write_text("hello")
    assert main(["generate", "--weights", ck, "--image", str(tmp_path / "not_image.jpg"), "--identity-from",
                 str(tmp_path / "not_image.jpg"), "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert "not_image.jpg" in err and "Traceback" not in err
    assert not (tmp_path / "g.png").exists()
    assert main(["generate", "--weights", ck, "--image", "a", "--identity-from", "b", "--parts", "9",
                 "--out", str(tmp_path / "g.png")]) == 1
    assert "--parts" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["eval", "--weights", ck, "--data-root", str(tmp_path / "empty")]) == 1
    assert "market1501" in capsys.readouterr().err.lower()
    assert main(["extract", "--weights", ck, "--images", str(tmp_path / "empty"), "--out", str(tmp_path / "x.npz")]) == 1
    assert "no images" in capsys.readouterr().err
    assert main(["train", "--stage", "2", "--data-root", str(market), "--output-dir", str(tmp_path / "r")]) == 1
    assert "--init-from" in capsys.readouterr().err
    other = tmp_path / "other.pt"
    from cvcore.checkpoint import save_checkpoint

    save_checkpoint(other, package="ewgs", version="0.1.0", model=torch.nn.Linear(1, 1))
    assert main(["eval", "--weights", str(other), "--data-root", str(market)]) == 1
    assert "ewgs" in capsys.readouterr().err


def test_demo_short_run_writes_metrics_and_pictures(tmp_path, capsys):
    assert main(["demo", "--steps", "2", "--output-dir", str(tmp_path), "-q"]) == 0
    res = json.loads((tmp_path / "demo.json").read_text())
    assert res["steps_per_stage"] == [2, 2, 2] and res["image_size"] == [96, 48]
    rec = res["reconstruction_l1"]
    assert 0 < rec["mean_image_baseline"] < rec["before_stage2"]["auto"] < 2  # an untrained G is worse than the mean
    assert all(0 <= res[k][m] <= 100 for k in ("untrained", "isgan") for m in ("rank1", "mAP"))
    from cvcore.data import read_image

    assert read_image(tmp_path / "reconstructions.png").shape[:2] == (2 * 96 + 3 * 2, 8 * 48 + 9 * 2)
    assert (tmp_path / "shuffle_grid.png").is_file() and res["ranked_results"]
    assert "mean-image baseline" in capsys.readouterr().err
