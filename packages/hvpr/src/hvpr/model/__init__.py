"""Model components: voxel stream, point stream, memory, scatter, AMFM backbone, head, targets, losses, detector."""

from hvpr.model.anchors import AnchorGenerator, assign_targets
from hvpr.model.backbone import AMFMBackbone, SpatialAttention
from hvpr.model.detector import HVPR, Detections, sample_points
from hvpr.model.head import AnchorHead
from hvpr.model.losses import detection_loss, sigmoid_focal_loss, smooth_l1
from hvpr.model.memory import MemoryBank, aggregate_points, hard_shrink_relu, memory_loss, scatter_to_bev
from hvpr.model.point import PointNet2MSG
from hvpr.model.voxel import PillarFeatureNet, ScaleEncoder, decorate_points, scale_descriptor

__all__ = [
    "AMFMBackbone", "AnchorGenerator", "AnchorHead", "Detections", "HVPR", "MemoryBank", "PillarFeatureNet",
    "PointNet2MSG", "ScaleEncoder", "SpatialAttention", "aggregate_points", "assign_targets", "decorate_points",
    "detection_loss", "hard_shrink_relu", "memory_loss", "sample_points", "scale_descriptor", "scatter_to_bev",
    "sigmoid_focal_loss", "smooth_l1",
]
