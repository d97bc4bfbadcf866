"""Ranked-result pictures: a query followed by its top-k gallery images (reid_common spec §2.10)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cvcore.viz import image_grid, save_png

__all__ = ["visualize_ranked_results", "GREEN", "NEUTRAL", "RED", "QUERY_GREY"]

GREEN, RED, QUERY_GREY, NEUTRAL = (0, 200, 0), (220, 0, 0), (90, 90, 90), (70, 110, 200)


def _rec(r: Any) -> tuple[str, int, int]:
    if hasattr(r, "path"):
        return str(r.path), int(r.pid), int(r.camid)
    p, pid, cam = r[:3]
    return str(p), int(pid), int(cam)


def _tile(path: str, size: tuple[int, int], color: tuple[int, int, int], border: int) -> np.ndarray:
    from cvcore.data.images import read_image

    h, w = size
    img = np.asarray(Image.fromarray(read_image(path)).resize((w - 2 * border, h - 2 * border), Image.BILINEAR))
    tile = np.empty((h, w, 3), np.uint8)
    tile[:] = color
    tile[border:h - border, border:w - border] = img
    return tile


def visualize_ranked_results(distmat: Any, query: Sequence[Any], gallery: Sequence[Any],
                             out_dir: str | os.PathLike[str], topk: int = 10, size: tuple[int, int] = (256, 128),
                             skip_same_cam: bool = True, max_queries: int | None = None,
                             border: int = 4, show_correct: bool = True) -> list[Path]:
    """Write one PNG per query: the query (grey border), then its ``topk`` nearest gallery
    images in distance order with a green (same pid) or red (other pid) border.

    Args:
        distmat: ``(Q, G)`` distances. query, gallery: records with ``path, pid, camid`` (or
            ``(path, pid, camid)`` tuples). size: tile ``(height, width)``.
        skip_same_cam: skip gallery images the protocol ignores (same pid *and* camera).
        max_queries: only the first queries.
        show_correct: False when the identities are unknown (search): blue borders for all.

    Returns:
        The written paths, ``<out_dir>/<index>_<query basename>.png``.
    """
    d = distmat.detach().cpu().numpy() if hasattr(distmat, "detach") else np.asarray(distmat)
    if d.shape != (len(query), len(gallery)):
        raise ValueError(f"distmat {d.shape} does not fit {len(query)} queries x {len(gallery)} gallery images")
    g = [_rec(r) for r in gallery]
    g_pids = np.array([x[1] for x in g])
    g_cams = np.array([x[2] for x in g])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    n = len(query) if max_queries is None else min(len(query), max_queries)
    for i in range(n):
        qpath, qpid, qcam = _rec(query[i])
        order = np.argsort(d[i], kind="stable")
        if skip_same_cam:
            order = order[~((g_pids[order] == qpid) & (g_cams[order] == qcam))]
        tiles = [_tile(qpath, size, QUERY_GREY, border)]
        for j in order[:topk]:
            colour = (GREEN if g_pids[j] == qpid else RED) if show_correct else NEUTRAL
            tiles.append(_tile(g[j][0], size, colour, border))
        grid = image_grid(tiles, ncols=len(tiles), pad=border)
        written.append(save_png(out / f"{i:05d}_{Path(qpath).stem}.png", grid))
    return written
