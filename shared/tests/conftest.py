"""Fixtures of the cvcore tests (the cvcore plugin itself seeds, blocks the network, sets threads)."""
