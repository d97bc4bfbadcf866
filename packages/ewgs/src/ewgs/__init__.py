"""EWGS: network quantization with element-wise gradient scaling (CVPR 2021) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("ewgs")

__all__ = ["__version__"]
