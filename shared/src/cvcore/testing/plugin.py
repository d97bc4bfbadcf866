"""pytest plugin shared by every package (entry point ``pytest11: cvcore``).

For every test it
- blocks outgoing network connections (Unix sockets and loopback stay allowed, so that
  ``torch.distributed`` with gloo on 127.0.0.1 works),
- seeds ``random``, NumPy and torch with 0 and restores their previous state afterwards,
- sets torch's intra-op thread count (``CVCORE_TEST_THREADS``, default 1: on the 2-core CI
  machines the small tensors of unit tests run faster on one thread, see shared/README.md),
- skips ``gpu`` tests without CUDA and ``realdata`` tests without ``CVCORE_TEST_DATA``.
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
from typing import Any

import numpy as np
import pytest

DEFAULT_THREADS = 1

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlockedError(RuntimeError):
    """Raised when a test tries to reach the network."""


def _allowed(sock: socket.socket, address: Any) -> bool:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _allowed(self, address):
        raise NetworkBlockedError(f"network access blocked in tests: connect to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _allowed(self, address):
        raise NetworkBlockedError(f"network access blocked in tests: connect to {address!r}")
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "slow: longer than ~5 s or trains for real; excluded from the default tier",
        "gpu: needs CUDA; skipped when no GPU is present",
        "realdata: needs the offline test-data root; skipped when it is absent",
    ):
        config.addinivalue_line("markers", line)
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    os.environ.setdefault("CVCORE_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("CVCORE_QUIET", "1")
    try:
        import torch
    except ImportError:  # the repo-level checks run without torch
        return
    torch.set_num_threads(int(os.environ.get("CVCORE_TEST_THREADS", DEFAULT_THREADS)))


def pytest_unconfigure(config: pytest.Config) -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    has_data = bool(os.environ.get("CVCORE_TEST_DATA"))
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
        if "realdata" in item.keywords and not has_data:
            item.add_marker(pytest.mark.skip(reason="CVCORE_TEST_DATA is not set (tools/fetch_test_data.sh)"))


@pytest.fixture(autouse=True)
def _cvcore_seed_and_restore() -> Any:
    py_state = random.getstate()
    np_state = np.random.get_state()
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:
        torch = None  # type: ignore[assignment]
    if torch is not None:
        torch_state = torch.random.get_rng_state()
        threads = torch.get_num_threads()
        torch.manual_seed(0)
    yield
    random.setstate(py_state)
    np.random.set_state(np_state)
    if torch is not None:
        torch.random.set_rng_state(torch_state)
        torch.set_num_threads(threads)


@pytest.fixture
def test_data() -> Any:
    """The offline test-data root as a Path (the test is skipped when it is not prepared)."""
    from pathlib import Path

    root = os.environ.get("CVCORE_TEST_DATA")
    if not root or not Path(root).is_dir():
        pytest.skip("CVCORE_TEST_DATA is not set (tools/fetch_test_data.sh)")
    return Path(root)
