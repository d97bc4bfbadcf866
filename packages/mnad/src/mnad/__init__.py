"""MNAD: learning memory-guided normality for anomaly detection (CVPR 2020) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("mnad")

__all__ = ["__version__"]
