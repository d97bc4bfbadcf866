"""JoEm: exploiting a joint embedding space for generalized zero-shot semantic segmentation (ICCV 2021) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("gzs3")

__all__ = ["__version__"]
