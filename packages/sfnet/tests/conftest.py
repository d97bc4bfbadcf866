"""Fixtures of the sfnet tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
