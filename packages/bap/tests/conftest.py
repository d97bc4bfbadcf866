"""Fixtures of the bap tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
