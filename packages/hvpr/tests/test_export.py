"""Export of the inference network: the exportable module equals the model's eval path, and the saved
``torch.export`` program equals eager execution on a scan with a different number of pillars."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hvpr.config import load_config
from hvpr.export import InferenceNetwork, example_batch, run_exported
from hvpr.model import HVPR


def _scan(seed: int, n: int = 3000) -> np.ndarray:
    g = np.random.default_rng(seed)
    lo, hi = np.array([0.0, -10.0, -2.5, 0.0]), np.array([20.0, 10.0, 0.5, 1.0])
    return (g.random((n, 4)) * (hi - lo) + lo).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    m = HVPR(load_config("tiny_synthetic", ["data.voxel_backend='torch'"]))
    with torch.no_grad():
        m.memory.weight.uniform_(-1, 1)
        m.head.conv_cls.bias.fill_(0.0)  # scores around 0.5, so NMS has boxes to work on
    return m.eval()


def _head_outputs(model, batch):
    outs = []
    hook = model.head.register_forward_hook(lambda m, i, o: outs.append(o))
    try:
        with torch.no_grad():
            model(batch)
    finally:
        hook.remove()
    return outs[0]


def test_inference_network_equals_model_eval_path(model):
    batch = example_batch(model, _scan(0), seed=0)
    net = InferenceNetwork(model).eval()
    with torch.no_grad():
        got = net(batch["voxels"], batch["voxel_num_points"], batch["voxel_coords"])
    for a, b in zip(got, _head_outputs(model, batch)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    # the network depends on the memory (it is on the inference path)
    with torch.no_grad():
        saved = model.memory.weight.clone()
        model.memory.weight.mul_(-1)
        changed = net(batch["voxels"], batch["voxel_num_points"], batch["voxel_coords"])
        model.memory.weight.copy_(saved)
    assert (changed[0] - got[0]).abs().max() > 1e-6


@pytest.mark.slow
def test_exported_program_equals_eager(model, tmp_path):
    from hvpr.cli import main

    ckpt = model.save_checkpoint(str(tmp_path / "m.pt"))
    assert main(["export", "--weights", str(ckpt), "--output-dir", str(tmp_path / "exp"), "--set",
                 "data.voxel_backend='torch'"]) == 0
    info = json.loads((tmp_path / "exp" / "export.json").read_text())
    assert info["max_abs_diff"] < 1e-4
    program = torch.export.load(str(tmp_path / "exp" / "hvpr_inference.pt2"))
    for seed, n in ((5, 2000), (6, 5000)):  # other scans: other pillar counts (dynamic dimension)
        batch = example_batch(model, _scan(seed, n), seed=0)
        with torch.no_grad():
            got = program.module()(batch["voxels"], batch["voxel_num_points"], batch["voxel_coords"])
        for a, b in zip(got, _head_outputs(model, batch)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
        det = run_exported(program, model, _scan(seed, n), seed=0)
        ref = model.predict(_scan(seed, n), seed=0)
        assert det.boxes.shape == ref.boxes.shape and det.boxes.shape[0] > 0
        torch.testing.assert_close(det.boxes, ref.boxes, rtol=1e-4, atol=1e-3)
