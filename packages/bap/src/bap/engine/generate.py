"""Stage 2 over a data set: writes ``Generation/Ycrf`` and ``Generation/Yret`` (palette PNGs of class ids) and
overlays, resumable; and label-map evaluation against ground truth."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from bap.config import PseudoLabelConfig
from bap.crf import CRFParams
from bap.metrics import SegmentationEvaluator
from bap.pseudo_labels import generate_pseudo_labels
from cvcore.io import atomic_write_bytes
from cvcore.progress import progress
from cvcore.viz import overlay_mask, save_png, side_by_side, voc_palette

__all__ = ["evaluate_label_dir", "pseudo_label_dataset", "write_label_png"]


def write_label_png(path: Path, labels: np.ndarray) -> Path:
    """Class ids ``(H, W)`` uint8 as a palette PNG (indices = ids, VOC colours), atomically."""
    im = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
    im.putpalette(voc_palette().ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


@torch.no_grad()
def pseudo_label_dataset(model: torch.nn.Module, dataset: Sequence[dict[str, Any]], out_dir: Path,
                         cfg: PseudoLabelConfig | None = None, *, resume: bool = True, overlays: int = 8,
                         device: str | torch.device = "cpu", quiet: bool | None = None,
                         evaluate_with: Any = None) -> dict[str, Any]:
    """Generate Y_crf / Y_ret for every item ``{"id", "image", "boxes"}``.

    Writes ``out_dir/Ycrf/<id>.png``, ``out_dir/Yret/<id>.png`` (the names stage 3 reads, §3.21) and the
    first ``overlays`` overlays under ``out_dir/overlays/``. Existing label files are skipped when
    ``resume``. ``evaluate_with(i) -> gt mask`` adds mIoU of both label sets.
    """
    cfg = cfg or PseudoLabelConfig()
    crf = CRFParams.from_list(list(cfg.crf)) if cfg.crf_iters >= 0 else None
    dc, dr, do = out_dir / "Ycrf", out_dir / "Yret", out_dir / "overlays"
    for d in (dc, dr):
        d.mkdir(parents=True, exist_ok=True)
    ev_c, ev_r = SegmentationEvaluator(), SegmentationEvaluator()
    written = skipped = 0
    for i in progress(range(len(dataset)), total=len(dataset), desc="pseudo labels", quiet=quiet):
        item = dataset[i]
        sid = item["id"]
        pc, pr = dc / f"{sid}.png", dr / f"{sid}.png"
        if resume and pc.is_file() and pr.is_file() and evaluate_with is None:
            skipped += 1
            continue
        pl = generate_pseudo_labels(model, item["image"], item["boxes"], bg_threshold=cfg.bg_threshold, crf=crf,
                                    crf_iterations=cfg.crf_iters, crf_backend=cfg.crf_backend, device=device,
                                    compat=cfg.compat)  # type: ignore[arg-type]
        write_label_png(pc, pl.y_crf)
        write_label_png(pr, pl.y_ret)
        written += 1
        if i < overlays:
            save_png(do / f"{sid}.png", side_by_side(
                [item["image"], overlay_mask(item["image"], pl.y_crf), overlay_mask(item["image"], pl.y_ret)],
                ["image", "Y_crf", "Y_ret"]))
        if evaluate_with is not None:
            gt = evaluate_with(i)
            ev_c.update(pl.y_crf, gt)
            ev_r.update(pl.y_ret, gt)
    out: dict[str, Any] = {"written": written, "skipped": skipped, "out_dir": str(out_dir)}
    if evaluate_with is not None:
        out["y_crf"] = ev_c.compute()
        out["y_ret"] = ev_r.compute()
    return out


def evaluate_label_dir(pred_dir: Path, gt_dataset: Any, miou_mode: str = "official") -> dict[str, Any]:
    """mIoU of ``pred_dir/<id>.png`` against a :class:`~bap.data.VOCSegmentation`."""
    from bap.data.voc import read_label_png

    ev = SegmentationEvaluator(miou_mode=miou_mode)  # type: ignore[arg-type]
    for i, sid in enumerate(gt_dataset.ids):
        ev.update(read_label_png(pred_dir / f"{sid}.png"), gt_dataset.mask(i))
    return ev.compute()
