"""Fixtures of the pisr tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
