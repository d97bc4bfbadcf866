"""KITTI evaluation (spec §7): vectorised AP/AOS, the official report layout, detections -> KITTI annos."""

from hvpr.eval.annos import predictions_to_kitti_annos, read_kitti_annos, write_kitti_annos
from hvpr.eval.kitti import kitti_ap, precision_curve
from hvpr.eval.report import kitti_report

__all__ = ["kitti_ap", "kitti_report", "precision_curve", "predictions_to_kitti_annos", "read_kitti_annos",
           "write_kitti_annos"]
