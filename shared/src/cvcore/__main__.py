"""``python -m cvcore selfcheck``: a quick end-to-end check of the shared toolkit."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cvcore import __version__, cli


def _selfcheck(args) -> int:
    import numpy as np
    import torch

    from cvcore.checkpoint import load_checkpoint, restore, save_checkpoint
    from cvcore.metrics import psnr, roc_auc, ssim

    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (32, 32, 3))
    noisy = np.clip(img + rng.normal(0, 5, img.shape), 0, 255)
    model = torch.nn.Linear(3, 2)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(Path(tmp) / "ck.pt", package="cvcore", version=__version__, model=model)
        other = torch.nn.Linear(3, 2)
        restore(load_checkpoint(path, package="cvcore", version=__version__), model=other)
        same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    result = {
        "cvcore": __version__,
        "psnr_db": round(psnr(img, noisy), 3),
        "ssim": round(ssim(img, noisy), 4),
        "auc": roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]),
        "checkpoint_round_trip": same,
    }
    cli.emit(result, args)
    return 0 if same else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.make_parser("cvcore", version=__version__, description="the shared toolkit of the cvpapers monorepo")
    cli.add_command(parser, "selfcheck", _selfcheck, help="check metrics and checkpoints end to end")
    return cli.run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
