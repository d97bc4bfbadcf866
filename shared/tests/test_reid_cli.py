"""python -m cvcore.reid (the spec's reid-common command), in-process."""

import json

import numpy as np

from cvcore.reid import Market1501, evaluate_rank, oracle_features, pairwise_distance
from cvcore.reid.__main__ import main


def _save(path, recs, feats):
    np.savez(path, features=feats, pids=np.array([r.pid for r in recs]), camids=np.array([r.camid for r in recs]),
             paths=np.array([r.path for r in recs]))


def test_make_eval_visrank(tmp_path, capsys):
    assert main(["make-synthetic", "--root", str(tmp_path / "d"), "--seed", "1"]) == 0
    ds = Market1501(tmp_path / "d", check=False)
    qf, gf = oracle_features([r.path for r in ds.query], seed=1), oracle_features([r.path for r in ds.gallery], seed=1)
    _save(tmp_path / "q.npz", ds.query, qf)
    _save(tmp_path / "g.npz", ds.gallery, gf)
    capsys.readouterr()
    assert main(["eval", "--query-features", str(tmp_path / "q.npz"), "--gallery-features", str(tmp_path / "g.npz"),
                 "--rerank"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ref = evaluate_rank(pairwise_distance(qf, gf), [r.pid for r in ds.query], [r.pid for r in ds.gallery],
                        [r.camid for r in ds.query], [r.camid for r in ds.gallery])
    assert res["mAP"] == ref.mAP and "rerank" in res
    assert main(["visrank", "--query-features", str(tmp_path / "q.npz"), "--gallery-features", str(tmp_path / "g.npz"),
                 "--output-dir", str(tmp_path / "v"), "--topk", "3", "--max-queries", "2"]) == 0
    assert len(list((tmp_path / "v").glob("*.png"))) == 2


def test_bad_feature_files(tmp_path, capsys):
    assert main(["eval", "--query-features", str(tmp_path / "no.npz"), "--gallery-features", str(tmp_path / "no.npz")]) == 1
    assert "not found" in capsys.readouterr().err
    np.savez(tmp_path / "bad.npz", features=np.zeros((3, 2)), pids=np.zeros(2), camids=np.zeros(3))
    assert main(["eval", "--query-features", str(tmp_path / "bad.npz"), "--gallery-features", str(tmp_path / "bad.npz")]) == 1
    assert "do not agree" in capsys.readouterr().err
    np.savez(tmp_path / "q.npz", features=np.eye(2), pids=np.array([1, 2]), camids=np.array([0, 0]))
    np.savez(tmp_path / "g.npz", features=np.eye(2), pids=np.array([3, 4]), camids=np.array([1, 1]))
    assert main(["eval", "--query-features", str(tmp_path / "q.npz"), "--gallery-features", str(tmp_path / "g.npz")]) == 1
    assert "no valid query" in capsys.readouterr().err
