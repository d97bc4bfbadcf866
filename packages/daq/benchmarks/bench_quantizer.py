"""Speed and autograd memory of the DAQ activation quantizer and of a ResNet-20 training step.

Compares, in the same run:

- ``ste``: a plain straight-through round quantizer (clamp, round, ``x + (round(x) - x).detach()``),
  the reference cost of any QAT rounding;
- ``daq``: ``daq.quantize_act`` (fused autograd function with the closed-form E12 backward);
- ``daq-soft``: the direct soft assignment differentiated by autograd (stacked distances to both
  levels, per-element stabilisation), i.e. what the official code computes;
- the whole ResNet-20 training step (forward, backward, SGD + Adam) in full precision vs W1A1.

Saved memory = bytes of the tensors autograd keeps for backward (``saved_tensors_hooks``), per byte
of quantizer input. Not a test: no asserts on timings.

    python packages/daq/benchmarks/bench_quantizer.py [--numel 2097152] [--reps 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import platform

import torch
import torch.nn.functional as F

import daq
import daq.models
from cvcore.bench import peak_rss_mib, time_call
from daq.functional import quantize_act


def ste_round(x: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, bits: int) -> torch.Tensor:
    steps = 2**bits - 1
    t = torch.clamp((x - lower) / (upper - lower) * steps, 0, steps)
    return (t + (torch.round(t) - t).detach()) / steps


def saved_bytes(fn) -> int:
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values())


def bench_quantizer(numel: int, reps: int, bits: int) -> list[tuple[str, float, float]]:
    torch.manual_seed(0)
    base = torch.relu(torch.randn(numel))
    lo = torch.tensor(0.0)
    up = torch.tensor(2.5, requires_grad=True)
    grad = torch.randn(numel)
    impls = {
        "ste": lambda x: ste_round(x, lo, up, bits),
        "daq": lambda x: quantize_act(x, lo, up, bits),
        "daq-soft": lambda x: quantize_act(x, lo, up, bits, impl="soft"),
    }
    rows = []
    for name, q in impls.items():
        x = base.clone().requires_grad_()

        def step(q=q, x=x):
            y = q(x)
            y.backward(grad)
            return y

        t = time_call(step, reps, stat="median")
        mem = saved_bytes(lambda q=q, x=x: q(x)) / (x.numel() * x.element_size())
        rows.append((name, t, mem))
    return rows


def bench_resnet(batch: int, reps: int) -> list[tuple[str, float]]:
    rows = []
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    for name, bits in (("fp", (None, None)), ("W1A1", (1, 1)), ("W1A1-soft", (1, 1))):
        torch.manual_seed(0)
        model = daq.models.resnet20(*bits)
        if name.endswith("soft"):
            for _, m in daq.daq_layers(model):
                m.dasr_impl = "soft"
        mg, qg = daq.param_groups(model, 0.1)
        opts = [torch.optim.SGD(mg["params"], lr=0.1, momentum=0.9)]
        if qg["params"]:
            opts.append(torch.optim.Adam(qg["params"], lr=1e-4))
        model.train()

        def step(model=model, opts=opts):
            loss = F.cross_entropy(model(x), y)
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()

        rows.append((name, time_call(step, reps, stat="median")))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numel", type=int, default=2**21)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--bits", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, {args.threads} thread(s)")
    rows = bench_quantizer(args.numel, args.reps, args.bits)
    ref = rows[0][1]
    print(f"\nactivation quantizer, {args.numel} elements, {args.bits} bits, forward+backward")
    print(f"{'impl':<10} {'ms':>8} {'x ste':>7} {'saved B/B':>10}")
    for name, t, mem in rows:
        print(f"{name:<10} {t * 1e3:8.2f} {t / ref:7.2f} {mem:10.2f}")
    rrows = bench_resnet(args.batch, max(3, args.reps // 4))
    ref = rrows[0][1]
    print(f"\nResNet-20 training step, batch {args.batch}, 32x32")
    print(f"{'model':<10} {'ms':>8} {'x fp':>7}")
    for name, t in rrows:
        print(f"{name:<10} {t * 1e3:8.1f} {t / ref:7.2f}")
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
