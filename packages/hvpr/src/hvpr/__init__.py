"""HVPR: hybrid voxel-point representation for single-stage 3D object detection (CVPR 2021) in PyTorch.

``HVPR``, ``Detections``, ``HVPRConfig``, ``load_config`` and ``load_official_checkpoint`` are imported lazily
(importing torch is slow). Sub-packages: ``hvpr.model``, ``hvpr.ops``, ``hvpr.data``, ``hvpr.eval``,
``hvpr.engine`` (train/evaluate), ``hvpr.export``, ``hvpr.convert``, ``hvpr.vis``.
"""

from __future__ import annotations

from importlib.metadata import version as _version

from cvcore.lazy import lazy_exports

__version__ = _version("hvpr")

__all__ = ["HVPR", "Detections", "HVPRConfig", "__version__", "load_config", "load_official_checkpoint"]

_LAZY = {"HVPR": "hvpr.model.detector", "Detections": "hvpr.model.detector", "HVPRConfig": "hvpr.config",
         "load_config": "hvpr.config", "load_official_checkpoint": "hvpr.convert"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
