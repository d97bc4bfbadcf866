"""PISR: learning with privileged information for efficient image super-resolution (ECCV 2020) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("pisr")

__all__ = ["__version__"]
