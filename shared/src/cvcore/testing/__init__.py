"""Test support: the pytest plugin (registered as ``cvcore`` through the ``pytest11`` entry point)
and helpers for locating the offline test data."""

from cvcore.testing.data import official_data_dir, test_data_path

__all__ = ["official_data_dir", "test_data_path"]
