"""DAQ: distance-aware quantization (ICCV 2021) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("daq")

__all__ = ["__version__"]
