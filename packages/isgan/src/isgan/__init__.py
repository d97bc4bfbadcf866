"""IS-GAN: learning disentangled representation for robust person re-identification (NeurIPS 2019) in PyTorch."""

from importlib.metadata import version as _version

__version__ = _version("isgan")

__all__ = ["__version__"]
