"""Exceptions that mean "the user gave something wrong", as opposed to a bug.

:func:`cvcore.cli.run` prints these as one line and exits 1, without a traceback.
"""


class UserError(Exception):
    """A problem with the user's input: data, files, values or flags."""


class ConfigError(UserError, ValueError):
    """An unknown key, a value of the wrong type or a malformed override."""


class CheckpointError(UserError):
    """A checkpoint that is missing, truncated, from another package or incompatible."""


class DataError(UserError):
    """A data folder or file that is missing, malformed or not in the expected layout."""
