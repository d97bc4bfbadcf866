"""``train-classifier`` and ``train-seg`` under ``torchrun --nproc_per_node 2`` (gloo on CPU): both ranks
finish with identical weights and the checkpoint is written once. Slow: two fresh interpreters import torch."""


import numpy as np
import pytest
import torch

from cvcore.testing import run_torchrun


def _weights_dump_wrapper(tmp_path):
    """A tiny entry point that runs the bap CLI and then saves this rank's model weights."""
    script = tmp_path / "run_rank.py"
    script.write_text(
        "import os, sys, torch\n"
        "import bap.engine.train as T\n"
        "orig = {'c': T.build_classifier, 's': T.build_segmenter}\n"
        "models = []\n"
        "def wrap(f):\n"
        "    def g(cfg):\n"
        "        m = f(cfg); models.append(m); return m\n"
        "    return g\n"
        "T.build_classifier, T.build_segmenter = wrap(orig['c']), wrap(orig['s'])\n"
        "from bap.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "out = os.environ['BAP_DUMP']\n"
        "torch.save({k: v.detach().clone() for k, v in models[-1].state_dict().items()},\n"
        "           os.path.join(out, f\"rank{os.environ.get('RANK', '0')}.pt\"))\n"
        "sys.exit(rc)\n")
    return script


@pytest.mark.slow
def test_torchrun_two_ranks_identical_weights_one_checkpoint(tmp_path):
    from bap.data import SyntheticBoxDataset, write_voc_layout
    from bap.engine.generate import write_label_png

    root = tmp_path / "VOC2012"
    ds = SyntheticBoxDataset(4, (40, 40), num_classes=3, seed=5)
    write_voc_layout(root, ds, {"train_aug": range(4)})
    for i in range(4):
        m = ds[i].mask
        write_label_png(root / "Generation" / "Ycrf" / f"synth_{i:05d}.png", m)
        write_label_png(root / "Generation" / "Yret" / f"synth_{i:05d}.png", np.where(m == 2, 0, m).astype(np.uint8))
    script = _weights_dump_wrapper(tmp_path)
    common = ["--data-root", str(root), "--device", "cpu", "-q", "--backbone", "tiny", "--iters", "2",
              "--batch-size", "4", "--set", "crop=40", "--set", "width=8", "--set", "num_classes=4"]
    for cmd in ("train-classifier", "train-seg"):
        out, dump = tmp_path / cmd, tmp_path / f"dump_{cmd}"
        dump.mkdir()
        p = run_torchrun([str(script), cmd, *common, "--output-dir", str(out)], env={"BAP_DUMP": str(dump)},
                         timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        a, b = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (cmd, k)
        ck = torch.load(out / "last.pt", weights_only=False)
        assert ck["step"] == 2
        for k in a:  # the rank-0 checkpoint holds the final state of both ranks
            assert torch.equal(ck["model"][k], a[k]), (cmd, k)
        assert sorted(x.name for x in out.iterdir() if x.suffix == ".pt") == ["last.pt"]
