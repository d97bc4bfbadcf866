"""Real pixels: pedestrians cut out of OpenCV's fixed-camera video ``vtest`` (no re-ID data set is
available offline), written in the Market-1501 layout and run through the real parser, the
descriptor (I12) and the Market evaluator.

The clear property: the retrieval descriptor ``normalize(φ_R(x) + φ_R(flip(x)))`` is invariant
to horizontal flips, so a query that is the mirror image of its gallery crop is at distance ~0
from it and retrieval is perfect (rank-1 = mAP = 1) whatever the weights, while the same model
without the flip sum (``flip=False``) is not at distance 0. The crops come from frame
differencing against a median background; every crop is its own identity."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

FRAMES = range(1, 796, 130)  # 7 frames for the median background
PICK = (101, 401, 701)  # frames whose moving people are cut out


def _vtest_dir() -> Path:
    root = os.environ.get("CVCORE_TEST_DATA")
    d = Path(root or "") / "opencv" / "vtest"
    if not root or not (d / "000001.png").is_file():
        pytest.skip("needs CVCORE_TEST_DATA with opencv/vtest/*.png")
    return d


def pedestrian_crops(folder: Path, min_height: int = 60) -> list[np.ndarray]:
    """Bounding boxes of foreground blobs (|frame − median| > 40, opened and closed) with a person's
    aspect ratio, as uint8 crops."""
    from PIL import Image
    from scipy import ndimage

    def read(i):
        return np.asarray(Image.open(folder / f"{i:06d}.png").convert("RGB"))

    bg = np.median(np.stack([read(i).astype(np.float32) for i in FRAMES]), 0)
    crops = []
    for i in PICK:
        frame = read(i)
        fg = np.abs(frame.astype(np.float32) - bg).max(2) > 40
        fg = ndimage.binary_closing(ndimage.binary_opening(fg, iterations=2), iterations=3)
        for box in ndimage.find_objects(ndimage.label(fg)[0]):
            h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
            if h >= min_height and 0.25 < w / h < 0.8:
                crops.append(frame[box])
    return crops


@pytest.mark.realdata
def test_mirrored_query_of_real_pedestrian_crops_is_retrieved_exactly(tmp_path, tiny_kwargs):
    from PIL import Image

    from isgan import ISGAN
    from isgan.data import load_dataset
    from isgan.evaluate import evaluate

    crops = pedestrian_crops(_vtest_dir())
    assert len(crops) >= 8, len(crops)  # the video has several walkers per frame
    base = tmp_path / "Market-1501-v15.09.15"
    for d in ("bounding_box_train", "query", "bounding_box_test"):
        (base / d).mkdir(parents=True)
    for k, c in enumerate(crops):
        pid = k + 1
        Image.fromarray(c).save(base / "bounding_box_test" / f"{pid:04d}_c2s1_{k:06d}_00.jpg", quality=95)
        Image.fromarray(c[:, ::-1].copy()).save(base / "query" / f"{pid:04d}_c1s1_{k:06d}_00.jpg", quality=95)
        Image.fromarray(c).save(base / "bounding_box_train" / f"{pid:04d}_c1s1_{k:06d}_00.jpg", quality=95)
    ds = load_dataset("market1501", tmp_path)
    assert len(ds.query) == len(ds.gallery) == len(crops)

    torch.manual_seed(0)
    model = ISGAN(ds.num_train_pids, (96, 48), **tiny_kwargs).eval()
    res = evaluate(model, ds, height=96, width=48)
    dist = res["distmat"]
    diag = np.diag(dist)
    off = dist[~np.eye(len(dist), dtype=bool)]
    assert res["rank1"] == 1.0 and res["mAP"] == pytest.approx(1.0)
    # JPEG coding of the mirrored copy is not exactly mirrored, hence a small tolerance
    assert diag.max() < 0.2 * off.min(), (diag.max(), off.min())

    plain = evaluate(model, ds, height=96, width=48, flip=False)["distmat"]
    assert np.diag(plain).mean() > 5 * diag.mean()  # without the flip sum the mirror image is far
