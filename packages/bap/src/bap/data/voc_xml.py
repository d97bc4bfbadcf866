"""PASCAL VOC XML box annotations (spec §8, §3.23): every ``<object>`` becomes a box.

(Candidate for ``cvcore``: gzs3 reads the same files.)
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvcore.errors import DataError

__all__ = ["VOC_CLASSES", "VOCAnnotation", "read_voc_xml", "write_voc_xml"]

VOC_CLASSES = ("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")


@dataclass
class VOCAnnotation:
    """One XML file: image size, ``boxes (K, 5)`` float32 ``[xmin, ymin, xmax, ymax, cls]`` (VOC pixel
    coordinates as written, 1-based inclusive), names, difficult/truncated flags."""

    filename: str
    width: int
    height: int
    boxes: np.ndarray
    names: list[str]
    difficult: np.ndarray
    truncated: np.ndarray


def read_voc_xml(path: str | os.PathLike[str], classes: tuple[str, ...] = VOC_CLASSES) -> VOCAnnotation:
    """Parse a VOC annotation file; unknown class names and malformed files raise DataError naming it.

    Difficult and truncated objects are kept (the official code does not filter them).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"annotation not found: {p}")
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise DataError(f"malformed VOC XML {p}: {exc}") from exc
    index = {n: i for i, n in enumerate(classes)}

    def num(node: ET.Element | None, tag: str, default: float | None = None) -> float:
        el = node.find(tag) if node is not None else None
        if el is None or el.text is None:
            if default is not None:
                return default
            raise DataError(f"VOC XML {p}: missing <{tag}>")
        try:
            return float(el.text)
        except ValueError as exc:
            raise DataError(f"VOC XML {p}: <{tag}> is not a number ({el.text!r})") from exc

    size = root.find("size")
    boxes, names, diff, trunc = [], [], [], []
    for obj in root.findall("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in index:
            raise DataError(f"VOC XML {p}: unknown class name {name!r}")
        bb = obj.find("bndbox")
        if bb is None:
            raise DataError(f"VOC XML {p}: object {name!r} has no <bndbox>")
        boxes.append([num(bb, "xmin"), num(bb, "ymin"), num(bb, "xmax"), num(bb, "ymax"), index[name]])
        names.append(name)
        diff.append(int(num(obj, "difficult", 0)))
        trunc.append(int(num(obj, "truncated", 0)))
    return VOCAnnotation(root.findtext("filename") or p.stem, int(num(size, "width", 0)), int(num(size, "height", 0)),
                         np.asarray(boxes, dtype=np.float32).reshape(-1, 5), names,
                         np.asarray(diff, dtype=bool), np.asarray(trunc, dtype=bool))


def write_voc_xml(path: str | os.PathLike[str], filename: str, width: int, height: int, boxes: np.ndarray,
                  classes: tuple[str, ...] = VOC_CLASSES) -> Path:
    """Write boxes ``(K, 5)`` as a VOC XML file (for replicas and the synthetic data set)."""
    from cvcore.io import atomic_write_text

    objs = "".join(
        f"<object><name>{classes[int(b[4])]}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>0</difficult><bndbox><xmin>{int(b[0])}</xmin><ymin>{int(b[1])}</ymin>"
        f"<xmax>{int(b[2])}</xmax><ymax>{int(b[3])}</ymax></bndbox></object>" for b in np.asarray(boxes).reshape(-1, 5))
    xml = (f"<annotation><folder>VOC2012</folder><filename>{filename}</filename><size><width>{width}</width>"
           f"<height>{height}</height><depth>3</depth></size><segmented>0</segmented>{objs}</annotation>\n")
    return atomic_write_text(path, xml)
