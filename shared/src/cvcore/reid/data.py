"""Person re-ID image records and parsers of the real Market-1501 / DukeMTMC-reID / CUHK03 layouts.

File names follow the Market-1501 convention ``{pid}_c{camera}...`` (reid_common spec §2.1)::

    0002_c1s1_000451_03.jpg   Market-1501: pid 2, camera 1 (sequence 1, frame 451, box 3)
    0005_c2_f0046182.jpg      DukeMTMC-reID: pid 5, camera 2
    -1_c3s1_000026_00.jpg     Market-1501 "junk" (pid -1): dropped at parse time
    0000_c1s1_000151_01.jpg   Market-1501 "distractor" (pid 0): kept, an ordinary gallery negative
    0001_c7_03.jpg            CUHK03 converted to Market style (cameras 1..10, read as a whole number)
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvcore.errors import DataError

__all__ = [
    "CUHK03",
    "DukeMTMCreID",
    "ImageDataset",
    "ImageRecord",
    "Market1501",
    "ReIDDataset",
    "build_dataset",
    "last_parse_report",
    "parse_market_style_dir",
    "relabel_records",
]

#: pid and camera of a Market-style basename (the whole camera number is read, spec §2.1).
MARKET_NAME = re.compile(r"^(-?\d+)_c(\d+)")
DEFAULT_EXTS = (".jpg", ".jpeg", ".png")

_LAST_REPORT: dict[str, Any] = {}


@dataclass(frozen=True)
class ImageRecord:
    """One image: its path, identity label and 0-based camera index."""

    path: str
    pid: int
    camid: int


def last_parse_report() -> dict[str, Any]:
    """What the last :func:`parse_market_style_dir` call saw.

    Keys: ``dir``, ``files`` (files with an allowed extension), ``parsed`` (records returned),
    ``junk`` (dropped junk records), ``skipped`` (number of non-matching names) and
    ``skipped_examples`` (up to 5 of them).
    """
    return dict(_LAST_REPORT)


def relabel_records(records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """Map the sorted set of pids to ``0..N-1`` (sorted order, unlike torchreid's set order)."""
    mapping = {pid: i for i, pid in enumerate(sorted({r.pid for r in records}))}
    return [ImageRecord(r.path, mapping[r.pid], r.camid) for r in records]


def parse_market_style_dir(
    dir_path: str | os.PathLike[str],
    relabel: bool = False,
    junk_pids: Iterable[int] = (-1,),
    cam_offset: int = 1,
    exts: Sequence[str] = DEFAULT_EXTS,
    recursive: bool = False,
    strict: bool = False,
) -> list[ImageRecord]:
    """Parse a folder of Market-style file names into records (spec §2.1, steps 1-5).

    Files are sorted by basename then path; names not matching ``^(-?\\d+)_c(\\d+)`` raise
    (``strict``) or are skipped and counted in :func:`last_parse_report`. Records whose pid is
    in ``junk_pids`` are dropped; pid 0 (Market distractors) is kept. ``camid = camera -
    cam_offset``. With ``relabel`` the remaining pids become ``0..N-1`` in sorted order.

    Raises:
        DataError: the folder does not exist, or ``strict`` and a name does not parse.
    """
    root = Path(dir_path)
    if not root.is_dir():
        raise DataError(f"re-ID image folder not found: {root}")
    allowed = tuple(e.lower() for e in exts)
    it = root.rglob("*") if recursive else root.iterdir()
    files = [p for p in it if p.is_file() and p.suffix.lower() in allowed]
    files.sort(key=lambda p: (p.name, str(p)))
    junk = set(int(j) for j in junk_pids)
    records: list[ImageRecord] = []
    skipped: list[str] = []
    n_junk = 0
    for p in files:
        m = MARKET_NAME.match(p.name)
        if m is None:
            if strict:
                raise DataError(f"file name {p.name!r} in {root} is not Market-style '<pid>_c<camera>...'")
            skipped.append(p.name)
            continue
        pid, cam = int(m.group(1)), int(m.group(2))
        if pid in junk:
            n_junk += 1
            continue
        records.append(ImageRecord(str(p), pid, cam - cam_offset))
    _LAST_REPORT.clear()
    _LAST_REPORT.update(dir=str(root), files=len(files), parsed=len(records), junk=n_junk,
                        skipped=len(skipped), skipped_examples=skipped[:5])
    if relabel:
        records = relabel_records(records)
    return records


class ReIDDataset:
    """Base class: ``train``, ``query``, ``gallery`` record lists and their statistics.

    Subclasses set ``EXPECTED`` (``{split: (num_ids, num_images)}``) for the statistics check,
    which only warns so that partial copies work.
    """

    name = "reid"
    EXPECTED: dict[str, tuple[int, int]] = {}
    LAYOUT = ""

    def __init__(self, train: list[ImageRecord], query: list[ImageRecord], gallery: list[ImageRecord],
                 *, check: bool = True) -> None:
        self.train, self.query, self.gallery = train, query, gallery
        for split, recs in (("train", train), ("query", query), ("gallery", gallery)):
            if not recs:
                raise DataError(f"{self.name}: no parsable '<pid>_c<camera>...' image names in the {split} split; "
                                f"expected layout:\n{self.LAYOUT}")
        if check:
            self.check_statistics()

    @property
    def num_train_pids(self) -> int:
        return len({r.pid for r in self.train})

    @property
    def num_train_cams(self) -> int:
        return len({r.camid for r in self.train})

    def summary(self) -> dict[str, dict[str, int]]:
        """``{split: {"ids": n, "images": n, "cameras": n}}``, computed from the records."""
        return {
            split: {"ids": len({r.pid for r in recs}), "images": len(recs), "cameras": len({r.camid for r in recs})}
            for split, recs in (("train", self.train), ("query", self.query), ("gallery", self.gallery))
        }

    def query_only_pids(self) -> list[int]:
        """Query identities with no gallery image (such queries are skipped by the metric)."""
        g = {r.pid for r in self.gallery}
        return sorted({r.pid for r in self.query} - g)

    def check_statistics(self) -> bool:
        """Warn (not raise) when the counts differ from ``EXPECTED``; True when they agree."""
        s = self.summary()
        diffs = [f"{k}: {s[k]['ids']} ids / {s[k]['images']} images (expected {v[0]} / {v[1]})"
                 for k, v in self.EXPECTED.items() if (s[k]["ids"], s[k]["images"]) != tuple(v)]
        if diffs:
            warnings.warn(f"{self.name}: statistics differ from the official release (partial copy?): "
                          + "; ".join(diffs), stacklevel=3)
        return not diffs


def _find_root(root: str | os.PathLike[str], subdirs: Sequence[str], needed: Sequence[str], layout: str,
               name: str) -> Path:
    base = Path(root)
    if not base.is_dir():
        raise DataError(f"{name}: data root not found: {base}; expected layout:\n{layout}")
    for cand in [base / s for s in subdirs] + [base]:
        if all((cand / n).is_dir() for n in needed):
            return cand
    raise DataError(f"{name}: {base} does not contain the folders {', '.join(needed)}; expected layout:\n{layout}")


class _MarketStyle(ReIDDataset):
    SUBDIRS: tuple[str, ...] = ()
    FOLDERS = ("bounding_box_train", "query", "bounding_box_test")

    def __init__(self, root: str | os.PathLike[str], *, recursive: bool = False, check: bool = True) -> None:
        self.root = _find_root(root, self.SUBDIRS, self.FOLDERS, self.LAYOUT, self.name)
        tr, q, g = (self.root / f for f in self.FOLDERS)
        super().__init__(parse_market_style_dir(tr, relabel=True, recursive=recursive),
                         parse_market_style_dir(q, recursive=recursive),
                         parse_market_style_dir(g, recursive=recursive), check=check)


class Market1501(_MarketStyle):
    """Market-1501 (Zheng et al., ICCV 2015). Junk (pid -1) dropped, distractors (pid 0) kept.

    Layout (``root`` may also be the inner folder)::

        root/Market-1501-v15.09.15/
            bounding_box_train/0002_c1s1_000451_03.jpg ...   751 ids, 12,936 images
            query/0001_c1s1_001051_00.jpg ...                750 ids,  3,368 images
            bounding_box_test/0000_c1s1_000151_01.jpg ...    751 ids (incl. 0), 15,913 images
    """

    name = "market1501"
    SUBDIRS = ("Market-1501-v15.09.15", "Market-1501", "market1501")
    EXPECTED = {"train": (751, 12936), "query": (750, 3368), "gallery": (751, 15913)}
    LAYOUT = ("  <root>[/Market-1501-v15.09.15]/{bounding_box_train,query,bounding_box_test}/"
              "<pid>_c<cam>s<seq>_<frame>_<box>.jpg")


class DukeMTMCreID(_MarketStyle):
    """DukeMTMC-reID (Ristani et al. 2016; Zheng et al. 2017). Cameras 1..8, no junk.

    Layout::

        root/DukeMTMC-reID/
            bounding_box_train/0001_c2_f0046182.jpg ...   702 ids, 16,522 images
            query/...                                     702 ids,  2,228 images
            bounding_box_test/...                         1,110 ids, 17,661 images
    """

    name = "dukemtmc"
    SUBDIRS = ("DukeMTMC-reID", "dukemtmc-reid", "dukemtmc")
    EXPECTED = {"train": (702, 16522), "query": (702, 2228), "gallery": (1110, 17661)}
    LAYOUT = "  <root>[/DukeMTMC-reID]/{bounding_box_train,query,bounding_box_test}/<pid>_c<cam>_f<frame>.jpg"


class CUHK03(ReIDDataset):
    """CUHK03 (Li et al., CVPR 2014): new 767/700 protocol (Zhong et al., CVPR 2017) or the classic one.

    ``layout="market"`` reads Market-style folders (CUHK03-NP release or ISGAN's converter,
    per-pid subfolders allowed, cameras 1..10 read as whole numbers; new protocol only)::

        root[/cuhk03-np]/{labeled,detected}/{bounding_box_train,query,bounding_box_test}/0001_c1_1.png
        (or root/{bounding_box_train,query,bounding_box_test} directly)

    ``layout="mat"`` follows torchreid's procedure on the official release::

        root[/cuhk03]/cuhk03_release/cuhk-03.mat                        (MATLAB v7.3; read with h5py)
        root[/cuhk03]/cuhk03_new_protocol_config_{labeled,detected}.mat (protocol="new"; scipy-readable)
        root[/cuhk03]/images_{labeled,detected}/                        (extracted from cuhk-03.mat once)

    Images are extracted from ``cuhk-03.mat`` on first use (:func:`cvcore.reid.cuhk03_mat.extract_cuhk03_mat`;
    needs the optional ``h5py``); afterwards neither the raw file nor h5py is needed.
    ``protocol="classic"`` takes the ``split_id``-th of the 20 test splits of ``cuhk-03.mat``
    (1,367 training ids, 100 test ids; query = gallery = the test images, cameras = the two views),
    to be evaluated with ``evaluate_rank(..., protocol="cuhk03_classic")``.
    """

    name = "cuhk03"
    LAYOUT = ("  <root>[/cuhk03-np]/{labeled,detected}/{bounding_box_train,query,bounding_box_test}/"
              "<pid>_c<cam>_<n>.png   (layout='market')\n"
              "  <root>[/cuhk03]/cuhk03_release/cuhk-03.mat [+ cuhk03_new_protocol_config_{labeled,detected}.mat]"
              " [+ images_{labeled,detected}/]   (layout='mat')")

    def __init__(self, root: str | os.PathLike[str], labeled: bool = True, protocol: str = "new", split_id: int = 0,
                 layout: str = "market", *, check: bool = True) -> None:
        if protocol not in ("new", "classic"):
            raise DataError(f"CUHK03 protocol must be 'new' (767/700 split) or 'classic' (20 splits), got {protocol!r}")
        if protocol == "new" and split_id != 0:
            raise DataError("the new CUHK03 protocol has a single split (split_id=0)")
        if protocol == "classic" and not 0 <= split_id < 20:
            raise DataError(f"the classic CUHK03 protocol has splits 0..19, got split_id={split_id}")
        kind = "labeled" if labeled else "detected"
        self.labeled, self.protocol, self.split_id = labeled, protocol, split_id
        if protocol == "new":
            self.EXPECTED = {"train": (767, 7368 if labeled else 7365), "query": (700, 1400),
                             "gallery": (700, 5328 if labeled else 5332)}
        else:
            self.EXPECTED = {}  # image counts differ per split
        if layout == "market":
            if protocol != "new":
                raise DataError("the Market-style CUHK03 layout holds the new protocol only; "
                                "use layout='mat' for protocol='classic'")
            folders = _MarketStyle.FOLDERS
            self.root = _find_root(root, (f"cuhk03-np/{kind}", kind, f"cuhk03_{kind}"), folders, self.LAYOUT, self.name)
            tr, q, g = (parse_market_style_dir(self.root / f, recursive=True) for f in folders)
            super().__init__(relabel_records(tr), q, g, check=check)
        elif layout == "mat":
            self.root = self._mat_root(Path(root))
            if protocol == "new":
                records = self._read_new_protocol(self.root, kind)
            else:
                records = self._read_classic(self.root, kind, split_id)
            super().__init__(*records, check=check)
        else:
            raise DataError(f"CUHK03 layout must be 'market' or 'mat', got {layout!r}")

    def _mat_root(self, root: Path) -> Path:
        from cvcore.reid.cuhk03_mat import RAW_MAT

        if not root.is_dir():
            raise DataError(f"{self.name}: data root not found: {root}; expected layout:\n{self.LAYOUT}")
        for cand in (root, root / "cuhk03"):
            if (cand / RAW_MAT).is_file() or any(cand.glob("cuhk03_new_protocol_config_*.mat")) \
                    or any(cand.glob("images_*")):
                return cand
        raise DataError(f"{self.name}: {root} holds neither {RAW_MAT}, new-protocol config files nor "
                        f"extracted images; expected layout:\n{self.LAYOUT}")

    def _read_new_protocol(self, root: Path, kind: str) -> tuple[list[ImageRecord], list[ImageRecord],
                                                                  list[ImageRecord]]:
        from scipy.io import loadmat

        from cvcore.reid.cuhk03_mat import RAW_MAT, extract_cuhk03_mat

        cfg = root / f"cuhk03_new_protocol_config_{kind}.mat"
        img_dir = root / f"images_{kind}"
        if not cfg.is_file():
            raise DataError(f"CUHK03: {cfg} missing; expected layout:\n{self.LAYOUT}")
        if not img_dir.is_dir():
            if not (root / RAW_MAT).is_file():
                raise DataError(f"CUHK03: neither {img_dir} nor {root / RAW_MAT} exists; expected layout:\n"
                                f"{self.LAYOUT}")
            extract_cuhk03_mat(root, kinds=(kind,))
        try:
            m = loadmat(str(cfg))
            files = [str(f[0][0]) if hasattr(f[0], "__len__") and not isinstance(f[0], str) else str(f[0])
                     for f in m["filelist"]]
            labels = m["labels"].ravel().astype(int)
            cams = m["camId"].ravel().astype(int)
            idx = {k: m[f"{k}_idx"].ravel().astype(int) - 1 for k in ("train", "query", "gallery")}
        except (KeyError, ValueError, IndexError, NotImplementedError) as exc:
            raise DataError(f"CUHK03: {cfg} is not a new-protocol config file ({exc})") from exc

        def camid(i: int) -> int:
            parts = files[i].split("_")  # torchreid: the view in '{pair}_{pid}_{view}_{n}.png'
            return int(parts[2]) - 1 if len(parts) == 4 and parts[2].isdigit() else int(cams[i]) - 1

        def recs(ix: Iterable[int]) -> list[ImageRecord]:
            return [ImageRecord(str(img_dir / files[i]), int(labels[i]), camid(i)) for i in ix]

        return relabel_records(recs(idx["train"])), recs(idx["query"]), recs(idx["gallery"])

    def _read_classic(self, root: Path, kind: str, split_id: int) -> tuple[list[ImageRecord], list[ImageRecord],
                                                                           list[ImageRecord]]:
        from cvcore.reid.cuhk03_mat import load_cuhk03_meta

        meta, splits = load_cuhk03_meta(root, kind)
        if split_id >= len(splits):
            raise DataError(f"CUHK03: split {split_id} requested but the file holds {len(splits)} classic splits")
        test_ids = set(splits[split_id])
        img_dir = root / f"images_{kind}"
        train: list[ImageRecord] = []
        test: list[ImageRecord] = []
        n_train = n_test = 0
        for pair, pid, names in meta:  # torchreid labels both sets by a counter in file order
            is_test = (pair, pid) in test_ids
            label = n_test if is_test else n_train
            out = test if is_test else train
            out.extend(ImageRecord(str(img_dir / n), label, int(n.split("_")[2]) - 1) for n in names)
            if is_test:
                n_test += 1
            else:
                n_train += 1
        return train, list(test), list(test)


class ImageDataset:
    """A map-style dataset over records: item ``i`` is ``(image, pid, camid, path)``.

    ``image`` is ``transform(PIL.Image)`` (RGB), or a float ``(3, H, W)`` tensor in [0, 1] when
    ``transform`` is None. Unreadable files raise :class:`~cvcore.errors.DataError` naming them.
    """

    def __init__(self, records: Sequence[ImageRecord], transform: Callable[[Any], Any] | None = None) -> None:
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    @property
    def pids(self) -> list[int]:
        return [r.pid for r in self.records]

    def __getitem__(self, i: int) -> tuple[Any, int, int, str]:
        from PIL import Image

        from cvcore.data.images import read_image

        r = self.records[i]
        img = Image.fromarray(read_image(r.path))
        if self.transform is not None:
            out = self.transform(img)
        else:
            from torchvision.transforms.functional import to_tensor

            out = to_tensor(img)
        return out, r.pid, r.camid, r.path


_DATASETS: dict[str, Callable[..., ReIDDataset]] = {
    "market1501": Market1501,
    "market": Market1501,
    "dukemtmc": DukeMTMCreID,
    "dukemtmc-reid": DukeMTMCreID,
    "cuhk03": CUHK03,
    "cuhk03-labeled": lambda root, **kw: CUHK03(root, labeled=True, **kw),
    "cuhk03-detected": lambda root, **kw: CUHK03(root, labeled=False, **kw),
}


def build_dataset(name: str, root: str | os.PathLike[str], **kw: Any) -> ReIDDataset:
    """Dataset by name: ``market1501``, ``dukemtmc``, ``cuhk03``, ``cuhk03-labeled``, ``cuhk03-detected``."""
    key = name.lower().replace("_", "-")
    if key not in _DATASETS:
        raise DataError(f"unknown re-ID dataset {name!r}; choose from {', '.join(sorted(_DATASETS))}")
    return _DATASETS[key](root, **kw)
