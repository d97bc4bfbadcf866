"""Errors of the ewgs package (all are :class:`cvcore.errors.UserError`: one line in the CLI)."""

from cvcore.errors import CheckpointError, ConfigError, UserError

__all__ = ["CheckpointError", "ConfigError", "QuantizationError"]


class QuantizationError(UserError, ValueError):
    """Bad quantizer input: bits outside 1..8, non-finite weights/activations, empty batches."""
