"""Relation network for person re-identification (AAAI 2020) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("reid-relation")

__all__ = ["__version__"]
