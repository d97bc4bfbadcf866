"""Fixtures of the daq tests (the cvcore pytest plugin seeds, blocks the network, sets threads)."""
