"""Data layouts: Market-1501 replica through the shared parser, the open-reid JSON layout, query-only ids."""

import json

import numpy as np
import pytest

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from reid_relation import OpenReIDLayout
from reid_relation.train import holdout_last_ids, load_data


def _openreid(tmp_path):
    rep = Replica(tmp_path)
    files = {}
    for pid in range(5):
        for cam in range(2):
            for idx in range(2):
                name = f"{pid:08d}_{cam:02d}_{idx:04d}.jpg"
                rep.image(f"images/{name}", rng_image(16, 8, seed=pid * 10 + cam))
                files.setdefault(pid, []).append((name, pid, cam))
    rep.json("splits.json", [{"trainval": [0, 1, 2], "query": [3, 4], "gallery": [3, 4]}])
    rep.json("test.json", {"query": [list(files[p][0]) for p in (3, 4)],
                           "gallery": [list(f) for p in (3, 4) for f in files[p][1:]]})
    rep.json("meta.json", {"name": "market1501", "shot": "multiple", "num_cameras": 2, "identities": []})
    return tmp_path


def test_openreid_layout(tmp_path):
    ds = OpenReIDLayout(_openreid(tmp_path))
    assert ds.num_train_pids == 3 and len(ds.train) == 12
    assert sorted({r.pid for r in ds.train}) == [0, 1, 2]
    assert len(ds.query) == 2 and len(ds.gallery) == 6
    assert {r.camid for r in ds.train} == {0, 1}
    assert load_data("openreid", tmp_path).summary() == ds.summary()


def test_openreid_errors(tmp_path):
    with pytest.raises(DataError, match="splits.json"):
        OpenReIDLayout(tmp_path)
    _openreid(tmp_path)
    (tmp_path / "test.json").write_text("{bad json")
    with pytest.raises(DataError, match="malformed"):
        OpenReIDLayout(tmp_path)


def test_holdout_keeps_labels():
    from cvcore.reid import ImageRecord

    recs = [ImageRecord(f"{i}.jpg", i % 5, 0) for i in range(20)]
    kept = holdout_last_ids(recs, 2)
    assert {r.pid for r in kept} == {0, 1, 2}


def test_query_only_identity_is_skipped_and_counted(synthetic, tmp_path):
    from cvcore.reid import ImageRecord, evaluate_rank

    q = list(synthetic.query) + [ImageRecord("x.jpg", 9999, 0)]
    assert synthetic.query_only_pids() == []
    rng = np.random.default_rng(0)
    d = rng.random((len(q), len(synthetic.gallery)))
    r = evaluate_rank(d, [x.pid for x in q], [x.pid for x in synthetic.gallery], [x.camid for x in q],
                      [x.camid for x in synthetic.gallery])
    assert r.num_invalid == 1 and r.num_valid == len(synthetic.query)


def test_synthetic_dataset_reads_with_market_parser(synthetic):
    s = synthetic.summary()
    assert s["train"]["ids"] == 6 and s["query"]["ids"] == 4 and 0 in {r.pid for r in synthetic.gallery}
    man = json.loads((synthetic.root / "manifest.json").read_text())
    assert s["gallery"]["images"] == man["counts"]["gallery"]["images"]


def test_cuhk03_classic_options_reach_the_parser(tmp_path):
    """The cuhk03_* options select the classic split from the cached extraction of cuhk-03.mat."""
    rep = Replica(tmp_path)
    meta = []
    for pair, pid in ((1, 1), (1, 2), (2, 1)):
        names = [f"{pair}_{pid:03d}_{1 if i <= 5 else 2}_{i:02d}.png" for i in (1, 6)]
        for n in names:
            rep.image(f"images_detected/{n}", rng_image(8, 4, seed=pid))
        meta.append([pair, pid, names])
    rep.json("cuhk03_meta_detected.json", meta)
    rep.json("cuhk03_splits_classic.json", [[[1, 2]], [[2, 1]]] + [[[1, 1]]] * 18)
    ds = load_data("cuhk03-detected", tmp_path, cuhk03_layout="mat", cuhk03_protocol="classic", cuhk03_split=1)
    assert {r.path.rsplit("/", 1)[1][:5] for r in ds.query} == {"2_001"}
    assert ds.query == ds.gallery and ds.num_train_pids == 2 and {r.camid for r in ds.query} == {0, 1}
    with pytest.raises(DataError, match="Market-style"):
        load_data("cuhk03-detected", tmp_path, cuhk03_protocol="classic")
