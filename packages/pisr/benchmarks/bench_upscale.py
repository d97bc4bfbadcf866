"""Throughput of ``pisr.upscale`` (x2, x3, x4) on CPU against a plain reference FSRCNN, and peak memory.

Not a test: prints a table. Usage::

    python benchmarks/bench_upscale.py --size 512 --threads 1 --repeat 3
    python benchmarks/bench_upscale.py --memory --mp 2 --tile 256

The reference is FSRCNN written here as one ``nn.Sequential`` with the same weights, run on the
whole Y plane (no tiling, no colour handling). Peak memory is measured in a fresh subprocess per
setting (``ru_maxrss``), whole image vs tiled, and the tiled output is checked against the whole one.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn


def reference_fsrcnn(scale: int, src: nn.Module) -> nn.Module:
    """A plain FSRCNN(56, 12, 4) with the weights of ``src`` copied in."""
    layers: list[nn.Module] = [nn.Conv2d(1, 56, 5, padding=2), nn.PReLU(), nn.Conv2d(56, 12, 1), nn.PReLU()]
    for _ in range(4):
        layers += [nn.Conv2d(12, 12, 3, padding=1), nn.PReLU()]
    layers += [nn.Conv2d(12, 56, 1), nn.PReLU(), nn.ConvTranspose2d(56, 1, 9, scale, 4, output_padding=scale - 1)]
    ref = nn.Sequential(*layers)
    src_t = [p for p in src.state_dict().values()]
    for p, q in zip(ref.state_dict().values(), src_t):
        p.copy_(q)
    return ref.eval()


def _model(scale: int):
    from pisr.models import FSRCNN

    try:
        from pisr.weights import default_weights_path, load_fsrcnn

        return load_fsrcnn(default_weights_path(scale), scale=scale)
    except Exception:  # noqa: BLE001 - random weights time the same
        torch.manual_seed(0)
        return FSRCNN(scale).eval()


def _time(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def throughput(size: int, repeat: int) -> list[dict]:
    from pisr.inference import super_resolve_y, upscale

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    y = torch.from_numpy(img[..., 1].astype(np.float32) / 255)
    rows = []
    for s in (2, 3, 4):
        model = _model(s)
        ref = reference_fsrcnn(s, model)
        out_mp = (size * s) ** 2 / 1e6
        with torch.no_grad():
            t_ref = _time(lambda: ref(y[None, None]), repeat)
            t_y = _time(lambda: super_resolve_y(model, y), repeat)
            t_full = _time(lambda: upscale(img, model), repeat)
            diff = float((ref(y[None, None])[0, 0].double() - torch.from_numpy(super_resolve_y(model, y))).abs().max())
        rows.append({"scale": s, "input": f"{size}x{size}", "ref_net_MPps": round(out_mp / t_ref, 3),
                     "pisr_y_MPps": round(out_mp / t_y, 3), "pisr_upscale_rgb_MPps": round(out_mp / t_full, 3),
                     "ratio_y_vs_ref": round(t_ref / t_y, 3), "max_abs_diff": diff})
    return rows


def memory_child(mp: float, tile: int | None, scale: int) -> None:
    from pisr.inference import super_resolve_y

    h = int(round((mp * 1e6 * 3 / 4) ** 0.5))
    w = int(round(mp * 1e6 / h))
    y = torch.rand(h, w, generator=torch.Generator().manual_seed(0))
    model = _model(scale)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = super_resolve_y(model, y, tile=tile)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save("/tmp/pisr_bench_out_%s.npy" % (tile or "whole"), out[::97, ::89])
    print(json.dumps({"mp": mp, "hw": [h, w], "tile": tile, "peak_rss_MB": round(peak / 1024, 1),
                      "extra_MB": round((peak - base) / 1024, 1), "seconds": round(dt, 2)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="square RGB input side for throughput")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--memory", action="store_true", help="measure peak memory instead")
    ap.add_argument("--mp", type=float, default=2.0, help="input megapixels for --memory")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.child is not None:
        memory_child(a.mp, None if a.child == "whole" else int(a.child), a.scale)
        return
    if a.memory:
        res = []
        for child in ("whole", str(a.tile)):
            out = subprocess.run([sys.executable, __file__, "--child", child, "--mp", str(a.mp), "--scale", str(a.scale),
                                  "--threads", str(a.threads)], capture_output=True, text=True, check=True)
            res.append(json.loads(out.stdout.strip().splitlines()[-1]))
        diff = float(np.abs(np.load("/tmp/pisr_bench_out_whole.npy") - np.load(f"/tmp/pisr_bench_out_{a.tile}.npy")).max())
        for r in res:
            print(json.dumps(r))
        print(json.dumps({"tiled_vs_whole_max_abs_diff": diff}))
        return
    print(f"torch {torch.__version__}, {a.threads} thread(s)")
    for r in throughput(a.size, a.repeat):
        print(json.dumps(r))


if __name__ == "__main__":
    main()
