"""Fixtures of the isgan tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
