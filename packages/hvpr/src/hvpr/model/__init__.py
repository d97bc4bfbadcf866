"""Model components (so far: anchors and target assignment)."""

from hvpr.model.anchors import AnchorGenerator, assign_targets

__all__ = ["AnchorGenerator", "assign_targets"]
