"""BANA: background-aware pooling and noise-aware loss for box-supervised semantic segmentation (CVPR 2021) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("bap")

__all__ = ["__version__"]
