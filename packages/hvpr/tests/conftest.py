"""Fixtures of the hvpr tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
