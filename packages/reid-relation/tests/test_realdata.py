"""Real images (OpenCV's vtest.avi frames: a fixed camera over a pedestrian street).

Eight tall crops of frame 1 are the queries (camera 0); the gallery holds the *mirrored* crops of
the same places 30 frames later (camera 1, people have moved) plus crops of other places. The
R10 descriptor averages every part over the image and its flip, so it is mirror invariant: with
flip TTA the untrained network must retrieve every place first; without it, rank-1 drops.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cvcore.reid import ImageRecord, evaluate_rank, pairwise_distance
from reid_relation import RelationNet
from reid_relation.evaluate import extract

pytestmark = pytest.mark.realdata


def _frames():
    root = os.environ.get("CVCORE_TEST_DATA")
    d = Path(root or "/nonexistent") / "opencv" / "vtest"
    if not (d / "000001.png").is_file() or not (d / "000031.png").is_file():
        pytest.skip("opencv/vtest frames not in CVCORE_TEST_DATA")
    return np.asarray(Image.open(d / "000001.png").convert("RGB")), np.asarray(Image.open(d / "000031.png").convert("RGB"))


def test_mirror_invariant_retrieval_on_real_frames(tmp_path):
    f1, f31 = _frames()
    xs = np.linspace(10, f1.shape[1] - 110, 12).astype(int)
    q, g = [], []
    for k, x in enumerate(xs):
        crop = lambda f: f[150:450, x:x + 100]  # noqa: E731
        if k < 8:
            p = tmp_path / f"{k:04d}_c1_q.png"
            Image.fromarray(crop(f1)).save(p)
            q.append(ImageRecord(str(p), k, 0))
        p = tmp_path / f"{k:04d}_c2_g.png"
        Image.fromarray(np.ascontiguousarray(crop(f31)[:, ::-1])).save(p)
        g.append(ImageRecord(str(p), k, 1))
    torch.manual_seed(0)
    model = RelationNet(0, backbone="resnet18", width=16, feat_dim=32).eval()
    res = {}
    for flip in (True, False):
        qf, qp, qc, _ = extract(model, q, 192, 64, flip=flip)
        gf, gp, gc, _ = extract(model, g, 192, 64, flip=flip)
        res[flip] = evaluate_rank(pairwise_distance(qf, gf), qp, gp, qc, gc)
    assert res[True].rank(1) == 1.0 and res[True].mAP == 1.0
    assert res[False].rank(1) < res[True].rank(1)
