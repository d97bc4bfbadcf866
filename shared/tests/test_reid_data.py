"""cvcore.reid.data: Market/Duke/CUHK03 parsers on replicas of the real layouts."""

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from cvcore.data.replica import Replica, rng_image
from cvcore.errors import DataError
from cvcore.reid import (
    CUHK03,
    DukeMTMCreID,
    ImageDataset,
    Market1501,
    build_dataset,
    last_parse_report,
    make_market_like_dataset,
    parse_market_style_dir,
)


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("market")
    return root, make_market_like_dataset(root, seed=3, num_train_ids=6, num_test_ids=5, size=(32, 16))


def test_market_counts_match_manifest(market):
    root, man = market
    with pytest.warns(UserWarning, match="statistics differ"):
        ds = Market1501(root)
    s = ds.summary()
    for split in ("train", "query", "gallery"):
        assert s[split]["images"] == man["counts"][split]["images"]
        assert s[split]["ids"] == man["counts"][split]["ids"]
    assert man["num_junk"] > 0
    assert all(r.pid != -1 for r in ds.train + ds.query + ds.gallery)  # junk dropped
    assert 0 in {r.pid for r in ds.gallery} and 0 not in {r.pid for r in ds.query}
    assert sorted({r.pid for r in ds.train}) == list(range(ds.num_train_pids))
    assert {r.camid for r in ds.gallery} <= set(range(4))
    assert ds.query_only_pids() == []


def test_train_relabel_in_sorted_pid_order(market):
    root, man = market
    recs = parse_market_style_dir(root / "Market-1501-v15.09.15" / "bounding_box_train", relabel=False)
    rel = parse_market_style_dir(root / "Market-1501-v15.09.15" / "bounding_box_train", relabel=True)
    order = sorted({r.pid for r in recs})
    assert [order[r.pid] for r in rel] == [r.pid for r in recs]


def _torchreid_rules(folder):
    # reference: glob, single-digit camera, junk -1 dropped, camid - 1 (the torchreid recipe)
    pat = re.compile(r"([-\d]+)_c(\d)")
    out = []
    for p in folder.iterdir():
        if p.suffix != ".jpg":
            continue
        pid, cam = map(int, pat.search(p.name).groups())
        if pid == -1:
            continue
        out.append((str(p), pid, cam - 1))
    return Counter(out)


def test_parser_equals_torchreid_rules(market):
    root, _ = market
    for sub in ("bounding_box_train", "query", "bounding_box_test"):
        folder = root / "Market-1501-v15.09.15" / sub
        ours = Counter((r.path, r.pid, r.camid) for r in parse_market_style_dir(folder))
        assert ours == _torchreid_rules(folder)


def test_camera_10_and_skipped_names(tmp_path):
    rep = Replica(tmp_path)
    for name in ("0001_c10_03.jpg", "0001_c7_01.jpg", "-1_c3s1_000026_00.jpg", "0000_c1s1_000151_01.jpg",
                 "Thumbs.jpg", "notes.txt"):
        rep.bytes(name, b"x")
    recs = parse_market_style_dir(tmp_path)
    assert [(r.pid, r.camid) for r in recs] == [(0, 0), (1, 9), (1, 6)]
    rep_ = last_parse_report()
    assert rep_["skipped"] == 1 and rep_["junk"] == 1 and rep_["skipped_examples"] == ["Thumbs.jpg"]
    with pytest.raises(DataError, match="Thumbs.jpg"):
        parse_market_style_dir(tmp_path, strict=True)


def test_duke_layout(tmp_path):
    man = make_market_like_dataset(tmp_path, layout="duke", num_train_ids=4, num_test_ids=3, size=(32, 16), seed=1)
    assert man["num_junk"] == 0
    ds = DukeMTMCreID(tmp_path, check=False)
    assert len(ds.gallery) == man["counts"]["gallery"]["images"]
    assert re.match(r"^\d{4}_c\d_f\d{7}\.jpg$", ds.query[0].path.rsplit("/", 1)[1])
    assert build_dataset("dukemtmc", tmp_path, check=False).summary() == ds.summary()


def test_cuhk03_market_layout_with_pid_subfolders(tmp_path):
    rep = Replica(tmp_path)
    base = "cuhk03-np/detected"
    for split, pids in (("bounding_box_train", (3, 5)), ("query", (7,)), ("bounding_box_test", (7, 8))):
        for pid in pids:
            for cam in (1, 10):
                rep.image(f"{base}/{split}/{pid:04d}/{pid:04d}_c{cam}_1.png", rng_image(8, 4, seed=pid))
    ds = CUHK03(tmp_path, labeled=False, check=False)
    assert ds.num_train_pids == 2 and ds.num_train_cams == 2
    assert {r.camid for r in ds.gallery} == {0, 9}
    assert len(ds.query) == 2
    with pytest.raises(DataError, match="labeled"):
        CUHK03(tmp_path, labeled=True)


def test_missing_and_empty_roots(tmp_path):
    with pytest.raises(DataError, match="bounding_box_train"):
        Market1501(tmp_path)
    with pytest.raises(DataError, match="not found"):
        Market1501(tmp_path / "nope")
    for sub in ("bounding_box_train", "query", "bounding_box_test"):
        Replica(tmp_path).bytes(f"{sub}/readme.jpg", b"x")
    with pytest.raises(DataError, match="no parsable"):
        Market1501(tmp_path)
    with pytest.raises(DataError, match="unknown re-ID dataset"):
        build_dataset("msmt", tmp_path)


def test_image_dataset_reads_and_rejects_corrupt(tmp_path, market):
    root, _ = market
    ds = Market1501(root, check=False)
    img, pid, cam, path = ImageDataset(ds.query)[0]
    assert img.shape == (3, 32, 16) and pid == ds.query[0].pid and path == ds.query[0].path
    bad = tmp_path / "0001_c1s1_000001_00.jpg"
    bad.write_bytes(b"not a jpeg")
    (rec,) = parse_market_style_dir(tmp_path)
    with pytest.raises(DataError, match="not an image"):
        ImageDataset([rec])[0]
    assert np.isfinite(img.numpy()).all()


def test_cuhk03_mat_new_protocol_config(tmp_path):
    from scipy.io import savemat

    rep = Replica(tmp_path)
    names, labels, cams = [], [], []
    for pid in (1, 2, 3, 4):
        for cam in (1, 2):
            name = f"1_{pid:03d}_{cam}_01.png"
            rep.image(f"images_labeled/{name}", rng_image(8, 4, seed=pid))
            names.append(name)
            labels.append(pid)
            cams.append(cam)
    cell = np.empty((len(names), 1), dtype=object)
    for i, n in enumerate(names):
        cell[i, 0] = n
    savemat(tmp_path / "cuhk03_new_protocol_config_labeled.mat", {
        "filelist": cell, "labels": np.array(labels)[:, None], "camId": np.array(cams)[:, None],
        "train_idx": np.array([1, 2, 3, 4])[:, None], "query_idx": np.array([5, 7])[:, None],
        "gallery_idx": np.array([6, 8])[:, None]})
    ds = CUHK03(tmp_path, labeled=True, layout="mat", check=False)
    assert [r.pid for r in ds.train] == [0, 0, 1, 1]
    assert [(r.pid, r.camid) for r in ds.query] == [(3, 0), (4, 0)]
    assert ds.gallery[0].path.endswith("1_003_2_01.png")
    with pytest.raises(DataError, match="detected"):
        CUHK03(tmp_path, labeled=False, layout="mat")


def _write_cuhk03_v73(path, pairs_pids=(3, 2), seed=0):
    """A tiny ``cuhk-03.mat`` the way MATLAB v7.3 stores it: HDF5 with transposed arrays and cells as
    datasets of object references into ``#refs#`` (an empty cell is a ``uint64 [0, 0]``)."""
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(seed)
    images = {}
    with h5py.File(path, "w") as f:
        refs = f.create_group("#refs#")
        counter = iter(range(10**6))

        def store(arr):
            return refs.create_dataset(f"r{next(counter)}", data=arr).ref

        for kind in ("labeled", "detected"):
            pair_refs = []
            for pair, n_pids in enumerate(pairs_pids):
                cells = np.empty((10, n_pids), dtype=h5py.ref_dtype)  # MATLAB (n_pids, 10), transposed
                for pid in range(n_pids):
                    for index in range(10):
                        if index in (4, 9) and pid % 2:  # fewer images for odd persons
                            cells[index, pid] = store(np.zeros(2, dtype=np.uint64))
                            continue
                        h, w = 6 + index % 3, 4
                        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                        images[(kind, pair + 1, pid + 1, index + 1)] = img
                        cells[index, pid] = store(img.T)  # stored column-major: (3, W, H)
                pair_refs.append(store(cells))
            f.create_dataset(kind, data=np.array([pair_refs], dtype=h5py.ref_dtype))
        splits = []
        for s in range(20):
            test = [[1 + (s % 2), 1], [2, 1 + (s // 2) % 2]]
            splits.append(store(np.array(test, dtype=np.float64).T))
        f.create_dataset("testsets", data=np.array([splits], dtype=h5py.ref_dtype))
    return images


def test_cuhk03_raw_mat_extraction_and_classic_protocol(tmp_path):
    from cvcore.data import read_image
    from cvcore.reid.cuhk03_mat import extract_cuhk03_mat

    root = tmp_path / "cuhk03"
    (root / "cuhk03_release").mkdir(parents=True)
    images = _write_cuhk03_v73(root / "cuhk03_release" / "cuhk-03.mat")
    extract_cuhk03_mat(root)
    for kind in ("labeled", "detected"):
        written = sorted(p.name for p in (root / f"images_{kind}").iterdir())
        expected = sorted(f"{pair}_{pid:03d}_{1 if i <= 5 else 2}_{i:02d}.png"
                          for (k, pair, pid, i) in images if k == kind)
        assert written == expected
    for (kind, pair, pid, i), img in list(images.items())[:7]:
        got = read_image(root / f"images_{kind}" / f"{pair}_{pid:03d}_{1 if i <= 5 else 2}_{i:02d}.png")
        np.testing.assert_array_equal(got, img)

    # split 3: test ids = pair 2 pid 1 and pair 2 pid 2 (see the writer); tmp_path (parent) as root works too
    ds = CUHK03(tmp_path, labeled=False, protocol="classic", split_id=3, layout="mat", check=False)
    test_ids = {(2, 1), (2, 2)}
    n_test_imgs = sum(1 for (k, pair, pid, _) in images if k == "detected" and (pair, pid) in test_ids)
    assert len(ds.query) == len(ds.gallery) == n_test_imgs
    assert {r.pid for r in ds.query} == {0, 1} and ds.num_train_pids == 3
    assert len(ds.train) + n_test_imgs == sum(1 for k, *_ in images if k == "detected")
    assert {r.camid for r in ds.query} == {0, 1}
    for r in ds.query + ds.train:  # the camera is the view: images 1-5 -> 0, 6-10 -> 1
        assert r.camid == (0 if int(Path(r.path).stem.split("_")[3]) <= 5 else 1)
    # the extraction is cached: the raw file is no longer needed
    (root / "cuhk03_release" / "cuhk-03.mat").unlink()
    again = CUHK03(root, labeled=False, protocol="classic", split_id=3, layout="mat", check=False)
    assert again.query == ds.query and again.train == ds.train
    with pytest.raises(DataError, match="splits 0..19"):
        CUHK03(root, protocol="classic", split_id=20, layout="mat")
    with pytest.raises(DataError, match="layout='mat'"):
        CUHK03(root, protocol="classic", layout="market")


def test_cuhk03_new_protocol_extracts_from_raw_mat(tmp_path):
    from scipy.io import savemat

    (tmp_path / "cuhk03_release").mkdir()
    _write_cuhk03_v73(tmp_path / "cuhk03_release" / "cuhk-03.mat", pairs_pids=(2,))
    names = ["1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png", "1_002_2_06.png"]
    cell = np.empty((4, 1), dtype=object)
    for i, n in enumerate(names):
        cell[i, 0] = n
    savemat(tmp_path / "cuhk03_new_protocol_config_labeled.mat", {
        "filelist": cell, "labels": np.array([[1], [1], [2], [2]]), "camId": np.array([[9], [9], [9], [9]]),
        "train_idx": np.array([[1], [2]]), "query_idx": np.array([[3]]), "gallery_idx": np.array([[4]])})
    ds = CUHK03(tmp_path, labeled=True, layout="mat", check=False)
    assert (tmp_path / "images_labeled" / "1_002_2_06.png").is_file()
    assert [r.camid for r in ds.train] == [0, 1]  # from the file name's view, as torchreid does
    assert (ds.query[0].pid, ds.query[0].camid, ds.gallery[0].camid) == (2, 0, 1)


def test_cuhk03_raw_mat_errors(tmp_path, monkeypatch):
    import builtins

    from cvcore.reid.cuhk03_mat import extract_cuhk03_mat

    with pytest.raises(DataError, match="not found"):
        extract_cuhk03_mat(tmp_path)
    (tmp_path / "cuhk03_release").mkdir()
    (tmp_path / "cuhk03_release" / "cuhk-03.mat").write_bytes(b"MATLAB 5.0 MAT-file, not HDF5")
    with pytest.raises(DataError, match="not a MATLAB v7.3"):
        extract_cuhk03_mat(tmp_path)
    real_import = builtins.__import__

    def no_h5py(name, *a, **k):
        if name == "h5py":
            raise ImportError("no h5py")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(DataError, match="pip install h5py"):
        CUHK03(tmp_path, protocol="classic", layout="mat")
    with pytest.raises(DataError, match="neither"):
        CUHK03(tmp_path / "cuhk03_release", layout="mat")
