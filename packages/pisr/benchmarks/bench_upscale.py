"""Throughput of ``pisr.upscale`` (x2, x3, x4) on CPU against a plain reference FSRCNN, and peak memory.

Not a test: prints a table. Usage::

    python benchmarks/bench_upscale.py --size 512 --threads 1 --repeat 3
    python benchmarks/bench_upscale.py --memory --mp 2 --tile 256 --scales 2,3,4 --record

The reference is FSRCNN written here as one ``nn.Sequential`` with the same weights, run on the
whole Y plane (no tiling, no colour handling). Peak memory is that of the full ``pisr.upscale``
pipeline (RGB -> YCbCr, network on Y, bicubic Cb/Cr, back to uint8 RGB) on an RGB image of
``--mp`` megapixels, measured in a fresh subprocess per setting (``VmHWM``, ``cvcore.bench.peak_rss_mib``), whole image vs
tiled; the tiled output is compared with the whole one. ``--record`` merges the results into
``benchmarks/benchmarks.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

from cvcore.bench import peak_rss_mib, reset_peak_rss, rss_mib, time_call


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
            t_ref = time_call(lambda: ref(y[None, None]), repeat, stat="min")
            t_y = time_call(lambda: super_resolve_y(model, y), repeat, stat="min")
            t_full = time_call(lambda: upscale(img, model), repeat, stat="min")
            diff = float((ref(y[None, None])[0, 0].double() - torch.from_numpy(super_resolve_y(model, y))).abs().max())
        rows.append({"scale": s, "input": f"{size}x{size}", "ref_net_MPps": round(out_mp / t_ref, 3),
                     "pisr_y_MPps": round(out_mp / t_y, 3), "pisr_upscale_rgb_MPps": round(out_mp / t_full, 3),
                     "ratio_y_vs_ref": round(t_ref / t_y, 3), "max_abs_diff": diff})
    return rows


def _photo(mp: float) -> np.ndarray:
    """A smooth, textured uint8 RGB test image of ``mp`` megapixels (4:3)."""
    h = int(round((mp * 1e6 * 3 / 4) ** 0.5))
    w = int(round(mp * 1e6 / h))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 128 + 60 * np.sin(xx / 17) * np.cos(yy / 23) + rng.normal(0, 12, (h, w)).astype(np.float32)
    return np.clip(np.stack([base, 0.8 * base + 20, 255 - base], axis=-1), 0, 255).astype(np.uint8)


def memory_child(image_file: str, tile: int | None, scale: int, out_file: str) -> None:
    from pisr.inference import upscale

    img = np.load(image_file)  # one allocation: no temporaries that would raise the baseline high-water mark
    model = _model(scale)
    upscale(img[:32, :32], model, tile=tile)  # warm-up (first-call allocations are not the image's)
    base = rss_mib() or peak_rss_mib()  # current RSS (Linux); elsewhere the peak so far
    reset_peak_rss()
    t0 = time.perf_counter()
    out = upscale(img, model, tile=tile)
    dt = time.perf_counter() - t0
    peak = peak_rss_mib()
    np.save(out_file, out)
    print(json.dumps({"scale": scale, "mp": round(img.shape[0] * img.shape[1] / 1e6, 3), "hw": list(img.shape[:2]),
                      "tile": tile, "output_MB": round(out.nbytes / 2**20, 1), "base_rss_MB": round(base, 1),
                      "peak_rss_MB": round(peak, 1),
                      "extra_MB": round(peak - base, 1), "seconds": round(dt, 2)}))


def memory(mp: float, tile: int, scales: list[int], threads: int) -> list[dict]:
    import os
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        image_file = os.path.join(tmp, "image.npy")
        np.save(image_file, _photo(mp))
        for s in scales:
            res, files = [], []
            for child in ("whole", str(tile)):
                f = os.path.join(tmp, f"x{s}_{child}.npy")
                out = subprocess.run([sys.executable, __file__, "--child", child, "--image-file", image_file, "--scale", str(s),
                                      "--threads", str(threads), "--out-file", f],
                                     capture_output=True, text=True, check=True)
                res.append(json.loads(out.stdout.strip().splitlines()[-1]))
                files.append(f)
            a, b = (np.load(f).astype(np.int16) for f in files)
            whole, tiled = res
            rows.append({"scale": s, "mp": whole["mp"], "hw": whole["hw"], "tile": tile, "output_MB": whole["output_MB"],
                         "base_rss_MB": whole["base_rss_MB"], "whole_peak_rss_MB": whole["peak_rss_MB"],
                         "whole_extra_MB": whole["extra_MB"], "whole_seconds": whole["seconds"],
                         "tiled_peak_rss_MB": tiled["peak_rss_MB"], "tiled_extra_MB": tiled["extra_MB"],
                         "tiled_seconds": tiled["seconds"],
                         "tiled_vs_whole_max_abs_diff_uint8": int(np.abs(a - b).max()),
                         "tiled_vs_whole_frac_pixels_differing": float((a != b).mean())})
    return rows


def _record(section: str, rows: list[dict], args: dict) -> None:
    import datetime
    import os
    import platform
    from pathlib import Path

    path = Path(__file__).with_name("benchmarks.json")
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[section] = {"date": datetime.date.today().isoformat(), "torch": torch.__version__,
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), {args['threads']} thread(s)",
                     "command": "python benchmarks/bench_upscale.py " + " ".join(sys.argv[1:]), "rows": rows}
    path.write_text(json.dumps(data, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="square RGB input side for throughput")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--memory", action="store_true", help="measure peak memory instead")
    ap.add_argument("--mp", type=float, default=2.0, help="input megapixels for --memory")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--scale", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--scales", default="2", help="comma-separated scales for --memory")
    ap.add_argument("--record", action="store_true", help="merge the results into benchmarks/benchmarks.json")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out-file", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--image-file", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.child is not None:
        memory_child(a.image_file, None if a.child == "whole" else int(a.child), a.scale, a.out_file)
        return
    if a.memory:
        rows = memory(a.mp, a.tile, [int(v) for v in a.scales.split(",")], a.threads)
        section = "memory"
    else:
        print(f"torch {torch.__version__}, {a.threads} thread(s)")
        rows = throughput(a.size, a.repeat)
        section = "throughput"
    for r in rows:
        print(json.dumps(r))
    if a.record:
        _record(section, rows, vars(a))


if __name__ == "__main__":
    main()
