"""KITTI evaluation (spec §7)."""

from hvpr.eval.kitti import kitti_ap, precision_curve

__all__ = ["kitti_ap", "precision_curve"]
