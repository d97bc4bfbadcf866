"""MS-COCO boxes (spec §8): ``train2017/`` images + ``annotations/instances_train2017.json``.

describe_layout::

    <root>/train2017/<file_name>          (or any image folder named by --split)
    <root>/annotations/instances_<split>.json   COCO boxes [x, y, w, h], categories -> 1..80
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from bap.data.bg_mask import boxes_to_bg_mask
from cvcore.data import read_image
from cvcore.errors import DataError

__all__ = ["COCOBoxes"]


class COCOBoxes:
    """Items like :class:`~bap.data.VOCBoxes`: ``{"id", "image", "boxes" (K, 5) [x1, y1, x2, y2, cls], "bg_mask"}``.

    Categories are mapped to 1..N in ascending COCO category id; images without boxes are skipped.
    """

    def __init__(self, root: str | os.PathLike[str], annotation_file: str | os.PathLike[str] | None = None,
                 split: str = "train2017") -> None:
        self.root = Path(root)
        ann = Path(annotation_file) if annotation_file else self.root / "annotations" / f"instances_{split}.json"
        if not ann.is_file():
            raise DataError(f"COCO annotation file not found: {ann}{__doc__.split('describe_layout::')[1]}")
        try:
            data = json.loads(ann.read_text())
            cats = sorted(c["id"] for c in data["categories"])
            images = {im["id"]: im for im in data["images"]}
            anns = data["annotations"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"malformed COCO annotation file {ann} ({exc})") from exc
        self.cat_to_label = {c: i + 1 for i, c in enumerate(cats)}
        per_image: dict[int, list[list[float]]] = {}
        for a in anns:
            x, y, w, h = a["bbox"]
            per_image.setdefault(a["image_id"], []).append([x, y, x + w, y + h, self.cat_to_label[a["category_id"]]])
        self.image_dir = self.root / split
        self.items = [(images[i], np.asarray(b, np.float32)) for i, b in sorted(per_image.items()) if i in images]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        info, boxes = self.items[i]
        img = read_image(self.image_dir / info["file_name"])
        return {"id": Path(info["file_name"]).stem, "image": img, "boxes": boxes,
                "bg_mask": boxes_to_bg_mask(boxes, *img.shape[:2])}
