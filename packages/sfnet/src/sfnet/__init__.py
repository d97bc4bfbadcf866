"""SFNet: learning object-aware semantic correspondence (CVPR 2019) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("sfnet")

__all__ = ["__version__"]
