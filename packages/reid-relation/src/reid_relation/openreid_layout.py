"""The official code's open-reid JSON layout (``reid/utils/data/dataset.py``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from cvcore.errors import DataError
from cvcore.reid.data import ImageRecord, ReIDDataset, relabel_records

__all__ = ["OpenReIDLayout"]

OPENREID_NAME = re.compile(r"^(\d+)_(\d+)_(\d+)")


class OpenReIDLayout(ReIDDataset):
    """Reads the authors' preprocessed archive (the ``poses/`` folder is not required)::

        root/images/{pid:08d}_{cam:02d}_{idx:04d}.jpg     cameras 0-based
        root/meta.json     {"name", "shot", "num_cameras", "identities": [[[fname, ...] per cam] per pid]}
        root/splits.json   [{"trainval": [pids], "query": [pids], "gallery": [pids]}, ...]
        root/test.json     {"query": [[fname, pid, cam], ...], "gallery": [[fname, pid, cam], ...]}

    ``train`` = every image of the ``trainval`` identities of split ``split_id`` (relabelled,
    i.e. ``--combine_trainval``); with ``holdout_val > 0`` the last identities are removed as the
    official default does (see :func:`reid_relation.train.holdout_last_ids`).
    """

    name = "openreid"
    LAYOUT = "  <root>/images/<pid:08d>_<cam:02d>_<idx:04d>.jpg, <root>/splits.json, <root>/test.json [, meta.json]"

    def __init__(self, root: str | os.PathLike[str], split_id: int = 0, *, check: bool = False) -> None:
        self.root = Path(root)
        images = self.root / "images"
        for need in (images, self.root / "splits.json", self.root / "test.json"):
            if not need.exists():
                raise DataError(f"open-reid layout: {need} missing; expected layout:\n{self.LAYOUT}")
        try:
            splits = json.loads((self.root / "splits.json").read_text())
            test = json.loads((self.root / "test.json").read_text())
            split = splits[split_id]
            trainval = set(int(p) for p in split["trainval"])
            q = [ImageRecord(str(images / f), int(p), int(c)) for f, p, c in test["query"]]
            g = [ImageRecord(str(images / f), int(p), int(c)) for f, p, c in test["gallery"]]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise DataError(f"open-reid layout in {self.root}: malformed splits.json/test.json ({exc})") from exc
        train = []
        for p in sorted(images.iterdir()):
            m = OPENREID_NAME.match(p.name)
            if m and int(m.group(1)) in trainval:
                train.append(ImageRecord(str(p), int(m.group(1)), int(m.group(2))))
        super().__init__(relabel_records(train), q, g, check=check)
