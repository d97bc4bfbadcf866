import os
import random
import socket

import numpy as np
import pytest
import torch

from cvcore.testing.plugin import DEFAULT_THREADS, NetworkBlockedError


def test_outgoing_connections_are_blocked():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkBlockedError, match="blocked"):
            s.connect(("93.184.216.34", 80))
        with pytest.raises(NetworkBlockedError):
            s.connect_ex(("8.8.8.8", 53))
    finally:
        s.close()


def test_loopback_stays_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket()
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()


def test_every_test_starts_from_seed_zero_a():
    torch.manual_seed(0)
    expected = torch.rand(1).item()
    pytest.seeded_value = expected  # compared in the next test


def test_every_test_starts_from_seed_zero_b():
    # the plugin reseeded with 0 before this test, whatever the previous one drew
    value = torch.rand(1).item()
    assert value == pytest.seeded_value
    random.seed(0)
    np.random.seed(0)


def test_threads_and_offline_env():
    assert torch.get_num_threads() == int(os.environ.get("CVCORE_TEST_THREADS", DEFAULT_THREADS))
    assert os.environ["CVCORE_OFFLINE"] == "1"


def test_official_data_dir_finds_the_folder_beside_the_checkout(tmp_path, monkeypatch):
    from cvcore.testing import official_data_dir

    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "noxfile.py").write_text("")
    (tmp_path / "shared" / "official-data" / "daq").mkdir(parents=True)
    monkeypatch.delenv("CVCORE_OFFICIAL_DATA", raising=False)
    assert official_data_dir("daq", start=tmp_path / "repo") == tmp_path / "shared" / "official-data" / "daq"
    assert official_data_dir("mnad", start=tmp_path / "repo") is None
