"""Fixtures of the reid-relation tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
