"""Fixtures of the mnad tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
