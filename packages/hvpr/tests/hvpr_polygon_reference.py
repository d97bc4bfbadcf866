"""Independent float64 NumPy references: Sutherland–Hodgman polygon clipping of rectangles."""

from __future__ import annotations

import numpy as np


def corners(box) -> np.ndarray:
    """(4, 2) ccw corners of (x, y, z, dx, dy, dz, θ) written out by hand (rotation matrix)."""
    x, y, _, dx, dy, _, t = [float(v) for v in box]
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    local = np.array([[dx / 2, dy / 2], [-dx / 2, dy / 2], [-dx / 2, -dy / 2], [dx / 2, -dy / 2]])
    return local @ rot.T + np.array([x, y])


def clip(subject: np.ndarray, clipper: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman: polygon ``subject`` clipped by convex ccw polygon ``clipper``."""
    out = list(subject)
    for i in range(len(clipper)):
        a, b = clipper[i], clipper[(i + 1) % len(clipper)]
        inp, out = out, []
        if not inp:
            break

        def side(p):
            return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])

        for j in range(len(inp)):
            cur, prev = inp[j], inp[j - 1]
            sc, sp = side(cur), side(prev)
            if sc >= 0:
                if sp < 0:
                    out.append(prev + (cur - prev) * (sp / (sp - sc)))
                out.append(cur)
            elif sp >= 0:
                out.append(prev + (cur - prev) * (sp / (sp - sc)))
    return np.array(out)


def poly_area(p: np.ndarray) -> float:
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def iou_bev(a, b) -> float:
    inter = poly_area(clip(corners(a), corners(b)))
    return inter / max(a[3] * a[4] + b[3] * b[4] - inter, 1e-8)
