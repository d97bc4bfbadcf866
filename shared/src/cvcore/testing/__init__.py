"""Test support: the pytest plugin (registered as ``cvcore`` through the ``pytest11`` entry point)
and helpers for locating the offline test data."""

from cvcore.testing.data import official_data_dir, test_data_path
from cvcore.testing.torchrun import run_torchrun

__all__ = ["official_data_dir", "run_torchrun", "test_data_path"]
