"""HVPR: hybrid voxel-point representation for single-stage 3D object detection (CVPR 2021) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("hvpr")

__all__ = ["__version__"]
