"""``ewgs demo``: full precision vs STE vs EWGS at W2A2 and W1A1 on 28×28 images, no download.

Uses real Fashion-MNIST when the offline data is present (``--data-root`` or
``$CVCORE_TEST_DATA/fashion-mnist``), otherwise the embedded synthetic 10-class images. Writes
``demo.png`` (accuracies, δ trajectories, latent-weight histogram against the quantization grid)
and ``demo.json`` to ``--output-dir`` (default ``runs/ewgs-demo``).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["run_demo"]


def _data(args: argparse.Namespace, n_train: int, n_test: int) -> tuple[str, tuple[torch.Tensor, ...]]:
    from cvcore.data.classification import FashionMNIST, SyntheticClassification
    from cvcore.errors import DataError

    roots = [] if args.synthetic else [args.data_root] if args.data_root else []
    env = os.environ.get("CVCORE_TEST_DATA")
    if not args.synthetic and not roots and env:
        roots.append(Path(env) / "fashion-mnist")
    for root in roots:
        try:
            tr, te = FashionMNIST(root, train=True), FashionMNIST(root, train=False)
        except DataError:
            if args.data_root:
                raise
            continue
        (xtr, ytr), (xte, yte) = tr.tensors(), te.tensors()
        return "fashion-mnist", (xtr[:n_train], ytr[:n_train], xte[:n_test], yte[:n_test])
    tr = SyntheticClassification(n_train, shape=(28, 28), noise=70.0, seed=0, train=True)
    te = SyntheticClassification(n_test, shape=(28, 28), noise=70.0, seed=0, train=False)
    (xtr, ytr), (xte, yte) = tr.tensors(), te.tensors()
    return "synthetic", (xtr, ytr, xte, yte)


def _batches(x: torch.Tensor, y: torch.Tensor, bs: int, gen: torch.Generator):
    perm = torch.randperm(len(y), generator=gen)
    for i in range(0, len(y), bs):
        idx = perm[i:i + bs]
        yield x[idx], y[idx]


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum()) for i in range(0, len(y), 500))
    return 100.0 * correct / len(y)


def _fit(model: nn.Module, data: tuple[torch.Tensor, ...], epochs: int, lr: float, seed: int,
         updater: Any = None) -> list[dict[str, list[float | None]]]:
    import ewgs

    xtr, ytr = data[0], data[1]
    gen = torch.Generator().manual_seed(seed)
    opt_m = torch.optim.Adam(ewgs.param_groups(model, lr)[0]["params"], lr=lr, weight_decay=1e-4)
    qp = ewgs.param_groups(model, lr)[1]["params"]
    opt_q = torch.optim.Adam(qp, lr=1e-3) if qp else None
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt_m, T_max=epochs)
    trajectory = []
    for epoch in range(epochs):
        if updater is not None and epoch > 0:
            hgen = torch.Generator().manual_seed(seed + 1000 + epoch)
            updater.on_epoch_start(epoch, _batches(xtr, ytr, 128, hgen))
            trajectory.append({n: [float(m.delta_w), float(m.delta_a)] for n, m in ewgs.ewgs_layers(model)})
        model.train()
        for xb, yb in _batches(xtr, ytr, 64, gen):
            loss = F.cross_entropy(model(xb), yb)
            opt_m.zero_grad(set_to_none=True)
            if opt_q:
                opt_q.zero_grad(set_to_none=True)
            loss.backward()
            opt_m.step()
            if opt_q:
                opt_q.step()
        sched.step()
    return trajectory


def _plot(path: Path, table: list[dict[str, Any]], trajectories: dict[str, list], model: nn.Module, dataset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cvcore.io import atomic_write_with

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    names = [r["setting"] for r in table]
    axes[0].bar(range(len(names)), [r["top1"] for r in table],
                color=["gray" if "FP" in n else ("tab:orange" if "STE" in n else "tab:blue") for n in names])
    axes[0].set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes[0].set_ylabel("test top-1 (%)")
    axes[0].set_ylim(max(0, min(r["top1"] for r in table) - 10), 100)
    axes[0].set_title(f"accuracy on {dataset}")
    for label, traj in trajectories.items():
        for layer in (traj[0] if traj else {}):
            axes[1].plot(range(1, len(traj) + 1), [t[layer][0] for t in traj], "-o", label=f"{label} {layer} δ_W")
            axes[1].plot(range(1, len(traj) + 1), [t[layer][1] for t in traj], "--s", label=f"{label} {layer} δ_A")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("δ (Hessian estimate)")
    axes[1].set_title("scaling factors")
    if any(trajectories.values()):
        axes[1].legend(fontsize=6)
    else:
        axes[1].text(0.5, 0.5, "no δ update (1 epoch)", ha="center", transform=axes[1].transAxes)
    layer = model.conv3  # type: ignore[attr-defined]
    with torch.no_grad():
        xn = ((layer.weight - layer.w_lower) / (layer.w_upper - layer.w_lower)).flatten()
    axes[2].hist(xn.numpy(), bins=80, color="tab:blue", alpha=0.8)
    B = 2**layer.w_bits - 1
    for k in range(B + 1):
        axes[2].axvline(k / B, color="k", lw=1)
    for k in range(B):
        axes[2].axvline((k + 0.5) / B, color="r", lw=0.6, ls=":")
    axes[2].axvspan(-1, 0, color="0.9"), axes[2].axvspan(1, 2, color="0.9")
    axes[2].set_xlim(float(xn.min()) - 0.05, float(xn.max()) + 0.05)
    axes[2].set_title(f"conv3 latent weights (x−l)/(u−l), W{layer.w_bits}: grid (black), thresholds (red)")
    axes[2].title.set_fontsize(8)
    fig.tight_layout()
    atomic_write_with(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    import ewgs
    from cvcore.io import atomic_write_json
    from cvcore.seed import seed_everything

    t0 = time.time()
    seed = args.seed if args.seed is not None else 0
    seed_everything(seed)
    n_train = args.train_size or 6000
    dataset, data = _data(args, n_train, 2000)
    mean, std = float(data[0].mean()), float(data[0].std())
    data = ((data[0] - mean) / std, data[1], (data[2] - mean) / std, data[3])
    q_epochs = args.epochs or 3
    fp = ewgs.models.small_net(None, None, width=8)
    _fit(fp, data, q_epochs + 1, 2e-3, seed)
    table = [{"setting": "FP32", "top1": _accuracy(fp, data[2], data[3])}]
    trajectories: dict[str, list] = {}
    shown = None
    for bits in (2, 1):
        for backward in ("ste", "ewgs"):
            torch.manual_seed(seed + 1)
            q = ewgs.quantize_model(copy.deepcopy(fp), bits, bits, backward=backward)
            ewgs.initialize(q, data[0][:256])
            updater = None
            if backward == "ewgs":
                updater = ewgs.HessianScaleUpdater(q, F.cross_entropy, num_batches=2, max_iter=10, every_epochs=1)
            traj = _fit(q, data, q_epochs, 1e-3, seed + 2, updater)
            label = f"W{bits}A{bits} {'EWGS' if backward == 'ewgs' else 'STE'}"
            row: dict[str, Any] = {"setting": label, "top1": _accuracy(q, data[2], data[3])}
            if backward == "ewgs":
                trajectories[f"W{bits}A{bits}"] = traj
                row["delta"] = {n: [float(m.delta_w), float(m.delta_a)] for n, m in ewgs.ewgs_layers(q)}
                if bits == 2:
                    shown = q
            table.append(row)
            print(f"{label:12s} top-1 {row['top1']:6.2f} %", file=sys.stderr)
    out = Path(args.output_dir or "runs/ewgs-demo")
    out.mkdir(parents=True, exist_ok=True)
    _plot(out / "demo.png", table, trajectories, shown, dataset)
    lines = [f"{'setting':14s} top-1 (%)"] + [f"{r['setting']:14s} {r['top1']:6.2f}" for r in table]
    print("\n".join(lines), file=sys.stderr)
    result = {"dataset": dataset, "train_images": len(data[1]), "test_images": len(data[3]),
              "epochs": q_epochs, "results": table, "png": str(out / "demo.png"), "seconds": round(time.time() - t0, 1)}
    atomic_write_json(out / "demo.json", result)
    return result
