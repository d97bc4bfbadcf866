"""``bap demo``: the three stages end to end on the synthetic box set, CPU only, no download.

Prints pseudo-label mIoU of box filling, GAP (+CRF) and BAP (Y_crf, Y_ret) on the training images, and
segmentation mIoU on held-out images of DeepLab (tiny) trained with NAL vs cross-entropy on Y_crf.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bap.config import ClassifierConfig, SegConfig
from bap.crf import CRFParams
from bap.data.bg_mask import box_pixel_ranges, boxes_to_bg_mask
from bap.data.synthetic import SyntheticBoxDataset
from bap.engine.train import train_classifier, train_segmentation
from bap.inference import predict
from bap.metrics import SegmentationEvaluator
from bap.pseudo_labels import generate_pseudo_labels
from cvcore.progress import get_logger
from cvcore.viz import overlay_mask, save_png, side_by_side

__all__ = ["DemoSettings", "box_filling", "run_demo"]


@dataclass
class DemoSettings:
    n_train: int = 32
    n_val: int = 12
    size: int = 80
    num_classes: int = 3
    stage1_iters: int = 80
    stage3_iters: int = 100
    batch_size: int = 8
    width: int = 32
    seed: int = 0
    box_margin: int = 0  # 0: tight boxes of the masks; > 0: loose boxes (more background inside each box)
    crf: tuple[float, float, float, float, float] = (4.0, 55.0, 3.0, 3.0, 3.0)

    @classmethod
    def quick(cls) -> DemoSettings:
        return cls(n_train=8, n_val=4, size=48, stage1_iters=4, stage3_iters=4, batch_size=4, width=16)


def box_filling(boxes: np.ndarray, h: int, w: int) -> np.ndarray:
    """Baseline "Box" of Table 1: every box filled with its class (later boxes on top)."""
    y = np.zeros((h, w), np.uint8)
    for b in np.asarray(boxes).reshape(-1, 5):
        rs, cs = box_pixel_ranges(b, h, w)
        y[rs, cs] = int(b[4])
    return y


def run_demo(out_dir: Path, settings: DemoSettings | None = None, device: str = "cpu",
             quiet: bool | None = True) -> dict[str, Any]:
    st = settings or DemoSettings()
    log = get_logger("bap.demo")
    t0 = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    k = st.num_classes + 1
    train = SyntheticBoxDataset(st.n_train, (st.size, st.size), st.num_classes, seed=st.seed, box_margin=st.box_margin)
    val = SyntheticBoxDataset(st.n_val, (st.size, st.size), st.num_classes, seed=st.seed + 1000)
    samples = [train[i] for i in range(len(train))]
    items = [{"id": f"synth_{i:05d}", "image": s.image, "boxes": s.boxes,
              "bg_mask": boxes_to_bg_mask(s.boxes, st.size, st.size)} for i, s in enumerate(samples)]
    crf = CRFParams.from_list(list(st.crf))
    results: dict[str, Any] = {}
    models = {}
    for pooling in ("gap", "bap"):
        cfg = ClassifierConfig(backbone="tiny", width=st.width, num_classes=k, pooling=pooling, iters=st.stage1_iters,
                               batch_size=st.batch_size, lr=0.05, milestones=[int(st.stage1_iters * 0.7)],
                               crop=st.size, scale_range=(0.8, 1.2), seed=st.seed, save_every=10**9, log_every=10)
        log.info("stage 1 (%s): %d iterations", pooling, st.stage1_iters)
        r = train_classifier(cfg, items, out_dir / f"stage1_{pooling}", device=device, quiet=quiet)
        results[f"stage1_{pooling}_accuracy"] = r["accuracy"]
        from bap.engine.train import build_classifier
        from cvcore.checkpoint import load_checkpoint, restore

        m = build_classifier(cfg)
        restore(load_checkpoint(r["checkpoint"], package="bap", strict_version=False), model=m, rng=False)
        models[pooling] = m.eval()
    names = ("box", "gap_nocrf", "gap_crf", "bap_nocrf", "bap_crf", "bap_ret")
    evs = {name: SegmentationEvaluator(k) for name in names}
    labels, gap_labels = [], []
    for s in samples:
        evs["box"].update(box_filling(s.boxes, st.size, st.size), s.mask)
        g = generate_pseudo_labels(models["gap"], s.image, s.boxes, crf=crf, device=device)
        b = generate_pseudo_labels(models["bap"], s.image, s.boxes, crf=crf, device=device)
        bn = generate_pseudo_labels(models["bap"], s.image, s.boxes, crf=None, device=device)
        gn = generate_pseudo_labels(models["gap"], s.image, s.boxes, crf=None, device=device)
        evs["gap_nocrf"].update(gn.y_crf, s.mask)
        evs["gap_crf"].update(g.y_crf, s.mask)
        evs["bap_crf"].update(b.y_crf, s.mask)
        evs["bap_ret"].update(b.y_ret, s.mask)
        evs["bap_nocrf"].update(bn.y_crf, s.mask)
        labels.append(b)
        gap_labels.append(g.y_crf)
    pl = {name: ev.compute()["miou"] for name, ev in evs.items()}
    results["pseudo_label_miou"] = pl
    results["bap_beats_gap"] = {"without_crf": pl["bap_nocrf"] > pl["gap_nocrf"], "with_crf": pl["bap_crf"] > pl["gap_crf"]}
    seg_items = [{"image": s.image, "y_crf": lab.y_crf, "y_ret": lab.y_ret} for s, lab in zip(samples, labels)]
    seg = {}
    seg_models = {}
    for loss in ("nal", "ce-crf"):
        cfg3 = SegConfig(backbone="tiny", width=st.width, num_classes=k, loss=loss, iters=st.stage3_iters,
                         batch_size=st.batch_size, lr=0.03, crop=st.size, scale_range=(0.8, 1.2), seed=st.seed,
                         save_every=10**9, log_every=10,
                         backbone_weights=str(out_dir / "stage1_bap" / "last.pt"))  # stands in for ImageNet init
        log.info("stage 3 (%s): %d iterations", loss, st.stage3_iters)
        r = train_segmentation(cfg3, seg_items, out_dir / f"stage3_{loss}", device=device, quiet=quiet)
        from bap.engine.train import build_segmenter
        from cvcore.checkpoint import load_checkpoint, restore

        m = build_segmenter(cfg3)
        restore(load_checkpoint(r["checkpoint"], package="bap", strict_version=False), model=m, rng=False)
        m.eval()
        seg_models[loss] = m
        ev = SegmentationEvaluator(k)
        for i in range(len(val)):
            v = val[i]
            ev.update(predict(m, v.image, scales=(1.0,), flip=True, crf=None, device=device), v.mask)
        seg[loss] = ev.compute()["miou"]
    results["segmentation_miou"] = seg
    # picture: image | GT | box filling | GAP+CRF | BAP Y_crf | BAP Y_ret | NAL prediction
    rows = []
    for i in range(min(3, len(samples))):
        s, lab = samples[i], labels[i]
        pred = predict(seg_models["nal"], s.image, scales=(1.0,), crf=None, device=device)
        rows.append(side_by_side([s.image, overlay_mask(s.image, s.mask), overlay_mask(s.image, box_filling(s.boxes, *s.mask.shape)),
                                  overlay_mask(s.image, gap_labels[i]), overlay_mask(s.image, lab.y_crf),
                                  overlay_mask(s.image, lab.y_ret), overlay_mask(s.image, pred)],
                                 ["image", "GT", "box", "GAP+CRF", "BAP Ycrf", "BAP Yret", "NAL seg"]))
    from cvcore.viz import image_grid

    pic = save_png(out_dir / "demo.png", image_grid(rows, ncols=1))
    results["picture"] = str(pic)
    results["seconds"] = round(time.time() - t0, 1)
    return results


