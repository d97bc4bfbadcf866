"""Geometric ops in plain PyTorch: box coder, rotated IoU, NMS, PointNet++ primitives (spec §10.4)."""

from hvpr.ops.boxes import (
    ResidualCoder,
    apply_direction,
    boxes_to_corners_3d,
    boxes_to_corners_bev,
    direction_target,
    limit_period,
)
from hvpr.ops.iou import nearest_bev_iou, rotated_iou_3d, rotated_iou_bev
from hvpr.ops.nms import nms_bev
from hvpr.ops.pointnet2 import ball_query, farthest_point_sample, three_nn_interpolate

__all__ = [
    "ResidualCoder",
    "apply_direction",
    "ball_query",
    "boxes_to_corners_3d",
    "boxes_to_corners_bev",
    "direction_target",
    "farthest_point_sample",
    "limit_period",
    "nearest_bev_iou",
    "nms_bev",
    "rotated_iou_3d",
    "rotated_iou_bev",
    "three_nn_interpolate",
]
