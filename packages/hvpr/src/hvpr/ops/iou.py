"""Rotated BEV IoU (E38), 3D IoU (E39) and the axis-snapped "nearest" BEV IoU of anchor matching (E40).

The rotated intersection is exact convex-polygon clipping done with tensors: the intersection polygon of two
rectangles has as vertices the corners of each rectangle inside the other plus the edge–edge crossings; they
are ordered by angle around their mean and the shoelace formula gives the area. Computed in float64.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hvpr.ops.boxes import boxes_to_corners_bev, limit_period

#: Denominator clamp of the rotated BEV IoU used by NMS (E38, ``iou3d_nms`` kernel).
BEV_EPS = 1e-8
#: Denominator clamp of the 3D IoU and of the nearest BEV IoU (E39, E40).
IOU3D_EPS = 1e-6
#: Row chunk for the pairwise computations (bounds memory: chunk·M·24·2 doubles).
_CHUNK = 256
_INSIDE_TOL = 1e-9


def _inside(points: Tensor, rect: Tensor) -> Tensor:
    """points (N, M, P, 2) inside counter-clockwise rect (N, M, 4, 2), boundary included -> (N, M, P)."""
    a = rect
    b = torch.roll(rect, -1, dims=-2)
    edge = (b - a)[:, :, None]  # N M 1 4 2
    rel = points[:, :, :, None] - a[:, :, None]  # N M P 4 2
    cross = edge[..., 0] * rel[..., 1] - edge[..., 1] * rel[..., 0]
    return (cross >= -_INSIDE_TOL).all(dim=-1)


def _intersection_area(ca: Tensor, cb: Tensor) -> Tensor:
    """Intersection areas of ccw rectangles ca (N, 4, 2) and cb (M, 4, 2) -> (N, M)."""
    n, m = ca.shape[0], cb.shape[0]
    return _intersection_area_grid(ca[:, None].expand(n, m, 4, 2), cb[None].expand(n, m, 4, 2))


def _intersection_area_grid(A: Tensor, B: Tensor) -> Tensor:
    """Intersection areas of paired ccw rectangles A, B (N, M, 4, 2) -> (N, M)."""
    n, m = A.shape[0], A.shape[1]
    a_in_b = _inside(A, B)
    b_in_a = _inside(B, A)
    # edge-edge crossings: p + t r = q + u s
    p = A[:, :, :, None]
    r = (torch.roll(A, -1, dims=-2) - A)[:, :, :, None]
    q = B[:, :, None]
    s = (torch.roll(B, -1, dims=-2) - B)[:, :, None]
    denom = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    qp = q - p
    safe = torch.where(denom.abs() > 1e-12, denom, torch.ones_like(denom))
    t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / safe
    u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / safe
    cross_ok = (denom.abs() > 1e-12) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    cross_pts = (p + t[..., None] * r).reshape(n, m, 16, 2)
    pts = torch.cat([A, B, cross_pts], dim=2)  # N M 24 2
    valid = torch.cat([a_in_b, b_in_a, cross_ok.reshape(n, m, 16)], dim=2)
    cnt = valid.sum(-1, keepdim=True).clamp(min=1)
    centre = (pts * valid[..., None]).sum(2) / cnt
    rel = pts - centre[:, :, None]
    ang = torch.atan2(rel[..., 1], rel[..., 0])
    ang = torch.where(valid, ang, torch.full_like(ang, 10.0))
    order = ang.argsort(dim=-1)
    rel = torch.gather(rel, 2, order[..., None].expand(-1, -1, -1, 2))
    valid = torch.gather(valid, 2, order)
    # invalid tail points collapse onto the first vertex -> zero-area contributions
    rel = torch.where(valid[..., None], rel, rel[:, :, :1].expand_as(rel))
    nxt = torch.roll(rel, -1, dims=2)
    area = 0.5 * (rel[..., 0] * nxt[..., 1] - rel[..., 1] * nxt[..., 0]).sum(-1)
    area = torch.where(valid.sum(-1) >= 3, area.abs(), torch.zeros_like(area))
    return area


def rotated_intersection_bev(boxes_a: Tensor, boxes_b: Tensor) -> Tensor:
    """Ground-plane intersection areas (N, M) of boxes (N, 7) and (M, 7), float64 internally."""
    ca = boxes_to_corners_bev(boxes_a.double())
    cb = boxes_to_corners_bev(boxes_b.double())
    out = torch.zeros(ca.shape[0], cb.shape[0], dtype=torch.float64, device=boxes_a.device)
    if ca.shape[0] == 0 or cb.shape[0] == 0:
        return out
    # only pairs whose circumscribed circles overlap can intersect; the others are exactly 0
    ra = 0.5 * torch.hypot(boxes_a[:, 3].double(), boxes_a[:, 4].double())
    rb = 0.5 * torch.hypot(boxes_b[:, 3].double(), boxes_b[:, 4].double())
    dist = torch.cdist(boxes_a[:, :2].double(), boxes_b[:, :2].double())
    ia, ib = torch.nonzero(dist <= (ra[:, None] + rb[None]) * (1 + 1e-9) + 1e-9, as_tuple=True)
    step = _CHUNK * 64
    for s in range(0, ia.numel(), step):
        a, b = ia[s : s + step], ib[s : s + step]
        out[a, b] = _intersection_area_grid(ca[a][:, None], cb[b][:, None])[:, 0]
    return out


def rotated_iou_bev(boxes_a: Tensor, boxes_b: Tensor, eps: float = BEV_EPS) -> Tensor:
    """Rotated BEV IoU (E38) of boxes (N, 7) and (M, 7) -> (N, M) in the dtype of ``boxes_a``."""
    inter = rotated_intersection_bev(boxes_a, boxes_b)
    area_a = (boxes_a[:, 3] * boxes_a[:, 4]).double()
    area_b = (boxes_b[:, 3] * boxes_b[:, 4]).double()
    union = (area_a[:, None] + area_b[None] - inter).clamp(min=eps)
    return (inter / union).to(boxes_a.dtype)


def rotated_iou_3d(boxes_a: Tensor, boxes_b: Tensor, eps: float = IOU3D_EPS) -> Tensor:
    """3D IoU (E39): BEV intersection × vertical overlap / (V_a + V_b − overlap volume) -> (N, M)."""
    inter = rotated_intersection_bev(boxes_a, boxes_b)
    a, b = boxes_a.double(), boxes_b.double()
    top = torch.minimum((a[:, 2] + a[:, 5] / 2)[:, None], (b[:, 2] + b[:, 5] / 2)[None])
    bot = torch.maximum((a[:, 2] - a[:, 5] / 2)[:, None], (b[:, 2] - b[:, 5] / 2)[None])
    vol_inter = inter * (top - bot).clamp(min=0)
    va = a[:, 3] * a[:, 4] * a[:, 5]
    vb = b[:, 3] * b[:, 4] * b[:, 5]
    union = (va[:, None] + vb[None] - vol_inter).clamp(min=eps)
    return (vol_inter / union).to(boxes_a.dtype)


def boxes_to_nearest_bev(boxes: Tensor) -> Tensor:
    """Axis-aligned snap of boxes (N, 7) -> (N, 4) = (x1, y1, x2, y2) (E40).

    If |wrap_[−π/2, π/2)(θ)| < π/4 the extents stay (dx, dy), otherwise they swap.
    """
    rot = limit_period(boxes[:, 6], 0.5, math.pi).abs()
    swap = rot >= math.pi / 4
    dx = torch.where(swap, boxes[:, 4], boxes[:, 3])
    dy = torch.where(swap, boxes[:, 3], boxes[:, 4])
    return torch.stack([boxes[:, 0] - dx / 2, boxes[:, 1] - dy / 2, boxes[:, 0] + dx / 2, boxes[:, 1] + dy / 2], 1)


def nearest_bev_iou(boxes_a: Tensor, boxes_b: Tensor, eps: float = IOU3D_EPS) -> Tensor:
    """Axis-aligned IoU (N, M) of the snapped boxes (E40), used by the anchor target assigner."""
    a, b = boxes_to_nearest_bev(boxes_a), boxes_to_nearest_bev(boxes_b)
    w = (torch.minimum(a[:, None, 2], b[None, :, 2]) - torch.maximum(a[:, None, 0], b[None, :, 0])).clamp(min=0)
    h = (torch.minimum(a[:, None, 3], b[None, :, 3]) - torch.maximum(a[:, None, 1], b[None, :, 1])).clamp(min=0)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None] - inter).clamp(min=eps)
