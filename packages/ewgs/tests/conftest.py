"""Fixtures of the ewgs tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
