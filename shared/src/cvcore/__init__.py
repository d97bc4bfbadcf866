"""cvcore: the small shared toolkit of the cvpapers monorepo.

Submodules are imported on demand (``from cvcore import checkpoint``) so that importing
``cvcore`` itself stays cheap and does not import torch.
"""

from importlib.metadata import version as _version

from cvcore.errors import CheckpointError, ConfigError, DataError, UserError

__version__ = _version("cvcore")

__all__ = ["CheckpointError", "ConfigError", "DataError", "UserError", "__version__"]
