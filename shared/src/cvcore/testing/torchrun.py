"""Run a command under ``torchrun`` from a test (slow tier): the real multi-process launch, CPU + gloo."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_torchrun"]


def run_torchrun(args: Sequence[str], *, nproc: int = 2, cwd: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None, timeout: float = 900.0) -> subprocess.CompletedProcess[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node N <args>`` with captured text output.

    ``args`` is what follows the launcher options, e.g. ``["-m", "mypkg", "train", ...]`` or a script
    path. One thread per rank (two ranks on two cores), offline, plus ``env`` on top of the current
    environment. torchrun exits 0 only when every rank did.
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), *args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CVCORE_OFFLINE": "1", **(env or {})}
    return subprocess.run(cmd, cwd=None if cwd is None else Path(cwd), env=full_env, capture_output=True,
                          text=True, timeout=timeout)
