"""Model components (so far: anchors, target assignment and the detection losses)."""

from hvpr.model.anchors import AnchorGenerator, assign_targets
from hvpr.model.losses import detection_loss, sigmoid_focal_loss, smooth_l1

__all__ = ["AnchorGenerator", "assign_targets", "detection_loss", "sigmoid_focal_loss", "smooth_l1"]
