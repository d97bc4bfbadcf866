"""Fixtures of the gzs3 tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
