"""cvcore.bench: the timing statistics and the peak-RSS unit."""

import numpy as np
import pytest

from cvcore import bench


def test_statistics_of_known_call_durations(monkeypatch):
    durations = [3.0, 1.0, 2.0, 10.0]
    calls = iter(durations)
    clock = {"t": 0.0}
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock["t"])

    def fn():
        clock["t"] += next(calls)

    for stat, expected in (("mean", np.mean(durations[1:])), ("median", 2.0), ("min", 1.0)):
        calls = iter(durations)
        clock["t"] = 0.0
        assert bench.time_call(fn, 3, stat=stat) == pytest.approx(expected)  # first call is the warm-up


def test_warmup_calls_are_not_timed_and_counted():
    n = {"calls": 0}

    def fn():
        n["calls"] += 1

    bench.time_call(fn, 4, warmup=2, stat="median")
    assert n["calls"] == 6


def test_interleaved_alternates_and_keeps_the_best_round(monkeypatch):
    order = []
    clock = {"t": 0.0}
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock["t"])
    cost = {"a": iter([0, 5, 1, 9]), "b": iter([0, 2, 7, 3])}  # warm-up, then one call per round

    def make(name):
        def fn():
            order.append(name)
            clock["t"] += next(cost[name])
        return fn

    got = bench.interleaved({"a": make("a"), "b": make("b")}, 1, rounds=3)
    assert order == ["a", "a", "b", "b", "a", "b", "a", "b"]
    assert got == {"a": 1.0, "b": 2.0}


def test_real_clock_measures_a_sleep():
    import time

    assert 0.004 < bench.time_call(lambda: time.sleep(0.005), 2, stat="min") < 0.5


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="repeat"):
        bench.time_call(lambda: None, 0)
    with pytest.raises(ValueError, match="stat"):
        bench.time_call(lambda: None, 1, stat="max")
    with pytest.raises(ValueError, match="rounds"):
        bench.interleaved({"a": lambda: None}, 1, rounds=0)


def test_peak_rss_grows_with_a_large_allocation():
    """In a fresh process, touching 64 MiB raises the peak by about 64 (fails for a KiB or byte
    unit, and for ``ru_maxrss``, which a child inherits from this torch-sized parent)."""
    import subprocess
    import sys

    code = ("import numpy as np; from cvcore.bench import peak_rss_mib; a = peak_rss_mib(); "
            "x = np.ones(64 * 2**20 // 8); x.sum(); print(a, peak_rss_mib())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after = map(float, out.split())
    assert 0 < before < 200
    assert 50 < after - before < 200


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/clear_refs"), reason="Linux /proc only")
def test_reset_peak_brings_the_peak_back_to_the_current_rss():
    block = np.ones(96 * 2**20 // 8)
    block.sum()
    del block
    assert bench.reset_peak_rss()
    peak, now = bench.peak_rss_mib(), bench.rss_mib()
    assert now is not None and abs(peak - now) < 16
