"""Benchmark: EWGSConv2d vs nn.Conv2d vs a plain reference quantizer; Hessian update vs an epoch.

Not a test (no asserts). Run from the repository root:

    python packages/ewgs/benchmarks/bench_ewgs.py                 # layer timings, small Hessian run
    python packages/ewgs/benchmarks/bench_ewgs.py --hessian-batch 256 --hessian-batches 3 --max-iter 50

1. Forward+backward time at the ResNet-20 CIFAR shapes (batch 128) of ``nn.Conv2d``, a plain
   reference quantized conv written here with stock autograd ops (``where``-masked clip,
   detach-trick rounding, EWGS scaling as a hook), and ``EWGSConv2d`` (W2A2, δ = 1e-3), interleaved
   rep by rep (``EWGSConv2d`` twice: with the selected quantizer kernels, by default compiled for
   large activations, and with the eager ones); medians of the per-rep ratios to the float conv in wall time and in CPU time; bytes
   saved for backward (autograd memory of one layer).
2. One Hessian δ update of ResNet-20 (official per-quantizer estimator and the joint-probe option)
   against one training epoch (196 steps of batch 256, extrapolated from timed steps).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import ewgs
from cvcore.bench import time_call
from ewgs import EWGSConv2d, HessianScaleUpdater
from ewgs.quant import kernels

SHAPES = [(16, 16, 32, 1), (16, 32, 32, 2), (32, 32, 16, 1), (32, 64, 16, 2), (64, 64, 8, 1)]


class _EWGSHook(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_n, x_q, delta):
        ctx.save_for_backward(x_n - x_q)
        ctx.delta = delta
        return x_q.clone()

    @staticmethod
    def backward(ctx, g):
        (err,) = ctx.saved_tensors
        return g * (1 + ctx.delta * torch.sign(g) * err), None, None


class ReferenceQConv(nn.Conv2d):
    """The same computation with plain autograd ops (what a straightforward port would write)."""

    def __init__(self, *a, bits=2, delta=1e-3, **k):
        super().__init__(*a, **k)
        self.steps, self.delta = 2**bits - 1, delta
        self.uW, self.lW = nn.Parameter(torch.tensor(0.1)), nn.Parameter(torch.tensor(-0.1))
        self.uA, self.lA = nn.Parameter(torch.tensor(2.0)), nn.Parameter(torch.tensor(0.0))
        self.alpha = nn.Parameter(torch.tensor(1.0))

    def _q(self, x, lo, hi):
        t = (x - lo) / (hi - lo)
        inside = (t >= 0) & (t <= 1)
        x_n = torch.where(inside, t, t.detach().clamp(0, 1))
        x_q = (torch.round(x_n * self.steps) / self.steps).detach()
        x_q = x_n + (x_q - x_n).detach()  # straight-through
        return _EWGSHook.apply(x_n, x_q, self.delta) if self.delta else x_q

    def forward(self, x):
        w = (self._q(self.weight, self.lW, self.uW) - 0.5) * 2
        return self._conv_forward(self._q(x, self.lA, self.uA), w, None) * self.alpha.abs()


def _interleaved(fns, reps):
    """Time several functions in the same run, interleaved rep by rep (a shared machine's load hits all).

    Returns ``{name: (median wall s, median per-rep wall ratio, median per-rep CPU-time ratio)}``,
    ratios to the first function. CPU time (``time.process_time``, includes page faults) is less
    sensitive than wall time to waiting for a core on a loaded machine.
    """
    for f in fns.values():
        f()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t, c = time.perf_counter(), time.process_time()
            f()
            cpu[k].append(time.process_time() - c)
            wall[k].append(time.perf_counter() - t)
    first = next(iter(fns))

    def ratio(v, base):
        return statistics.median([a / b for a, b in zip(v, base) if b > 0])

    return {k: (statistics.median(wall[k]), ratio(wall[k], wall[first]), ratio(cpu[k], cpu[first])) for k in fns}


def _saved_bytes(layer, x):
    total, seen = 0, set()

    def pack(t):  # count each storage once (tensors saved by two nodes share memory)
        nonlocal total
        key = t.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x).sum()
    return total


def _with_kernels(mode, fn):
    def run():
        prev = kernels.get_kernels()
        kernels.set_kernels(mode)
        try:
            fn()
        finally:
            kernels.set_kernels(prev)
    return run


def bench_layers(batch, reps):
    print(f"forward+backward, batch {batch}, {torch.get_num_threads()} thread(s); median ms over {reps} interleaved reps "
          f"(median of the per-rep ratios to nn.Conv2d); EWGSConv2d with kernels={kernels.get_kernels()!r} "
          f"(compiled for activations of >= {kernels.AUTO_MIN_NUMEL} elements in 'auto') and with the eager kernels")
    print(f"{'shape':>22s} {'nn.Conv2d':>10s} {'reference':>16s} {'EWGSConv2d':>16s} {'eager kernels':>16s}"
          "   CPU-time ref / ewgs / eager   saved MB fp/ref/ewgs/eager")
    for cin, cout, hw, s in SHAPES:
        x = torch.relu(torch.randn(batch, cin, hw, hw)).requires_grad_(True)
        fp = nn.Conv2d(cin, cout, 3, s, 1, bias=False)
        ref = ReferenceQConv(cin, cout, 3, s, 1, bias=False)
        ref.load_state_dict(fp.state_dict(), strict=False)
        q = EWGSConv2d.from_float(fp, w_bits=2, a_bits=2, delta_w=1e-3, delta_a=1e-3)
        q(x)  # E9 init
        steps, mem = {}, {}
        for name, m in (("fp", fp), ("ref", ref), ("ewgs", q), ("eager", q)):
            def step(m=m, x=x):
                m.zero_grad(set_to_none=True)
                x.grad = None
                m(x).sum().backward()
            steps[name] = _with_kernels("eager", step) if name == "eager" else step
            if name == "ewgs" and kernels.use_compiled(x):
                t = time.perf_counter()
                step()  # the one-time compilation (once per process, not per shape: dynamic shapes)
                dt = time.perf_counter() - t
                if dt > 1.0:
                    print(f"  (first compiled forward+backward, including compilation: {dt:.1f} s)")
            prev = kernels.get_kernels()
            kernels.set_kernels("eager" if name == "eager" else prev)
            mem[name] = _saved_bytes(m, x) / 2**20
            kernels.set_kernels(prev)
        res = _interleaved(steps, reps)
        (t_fp, _, _), (t_ref, r_ref, c_ref) = res["fp"], res["ref"]
        (t_q, r_q, c_q), (t_e, r_e, c_e) = res["ewgs"], res["eager"]
        print(f"{f'{cin}->{cout} {hw}x{hw} s{s}':>22s} {t_fp * 1e3:10.2f} {t_ref * 1e3:9.2f} ({r_ref:.2f}x)"
              f" {t_q * 1e3:9.2f} ({r_q:.2f}x) {t_e * 1e3:9.2f} ({r_e:.2f}x)   {c_ref:.2f}x / {c_q:.2f}x / {c_e:.2f}x"
              f"   {mem['fp']:.1f}/{mem['ref']:.1f}/{mem['ewgs']:.1f}/{mem['eager']:.1f}")


def bench_hessian(batch, batches, max_iter, steps):
    torch.manual_seed(0)
    model = ewgs.models.resnet20(w_bits=1, a_bits=1)
    data = [(torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))) for _ in range(batches + 1)]
    ewgs.initialize(model, data[0][0])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = torch.randn(256, 3, 32, 32), torch.randint(0, 10, (256,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
        opt.step()

    t_step = time_call(train_step, max(3, steps // 4), stat="median")
    epoch = t_step * 196
    print(f"\nResNet-20 W1A1: training step (batch 256) {t_step * 1000:.0f} ms -> one CIFAR epoch (196 steps) ~ {epoch:.1f} s")
    for joint in (False, True):
        up = HessianScaleUpdater(model, F.cross_entropy, num_batches=batches, max_iter=max_iter, joint_probe=joint)
        t = time.perf_counter()
        est = up.estimate(data)
        dt = time.perf_counter() - t
        samples = sum(a + b for a, b in est.samples.values())
        hvps = samples if not joint else max(max(v) for v in est.samples.values()) * batches
        print(f"{'joint-probe' if joint else 'official   '} estimator: {dt:7.2f} s = {dt / epoch:6.2f} epochs "
              f"({batches} batch(es) of {batch}, max_iter {max_iter}; {samples} trace samples, ~{hvps} HVPs)")
        if not joint:
            t_off = dt
    print(f"joint-probe speed-up: {t_off / dt:.1f}x")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=21)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--hessian-batch", type=int, default=32)
    p.add_argument("--hessian-batches", type=int, default=1)
    p.add_argument("--max-iter", type=int, default=10)
    p.add_argument("--skip-hessian", action="store_true")
    p.add_argument("--kernels", choices=("auto", "compiled", "eager"), default="auto",
                   help="quantizer kernels of the EWGSConv2d column (default: auto)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    kernels.set_kernels(a.kernels)
    bench_layers(a.batch, a.reps)
    if not a.skip_hessian:
        bench_hessian(a.hessian_batch, a.hessian_batches, a.max_iter, a.reps)


if __name__ == "__main__":
    main()
