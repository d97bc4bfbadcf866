"""Model surgery for quantization-aware training: find, plan and swap Conv2d/Linear layers.

Method-agnostic: the quantized layer classes (EWGS, DAQ, ...) live in their packages and are
plugged in through a *factory* ``factory(module, plan) -> nn.Module``.

Rules (shared by ``ewgs.quantize_model`` and ``daq.quantize_model``):

- Candidates are the ``nn.Conv2d`` and ``nn.Linear`` modules (subclasses included) of the model,
  except the ``out_proj`` of ``nn.MultiheadAttention`` (its weight is read directly by the
  functional attention, so swapping it would have no effect).
- Order: ``model.modules()`` order by default; with ``example_input`` the order in which the
  candidates are first *called* in one forward pass (candidates never called are dropped).
- "first"/"last" are the first/last candidate in that order, counted over Conv2d *and* Linear
  even when ``quantize_linear=False``.
- ``skip_first``/``skip_last`` keep those two full precision; ``quantize_linear=False`` keeps every
  Linear full precision; ``layer_bits`` then overrides any layer (it wins over all the rules).
- Bits are bits (1..8) or ``None`` (= that input stays full precision), never levels.

Example::

    model = torchvision.models.resnet18(weights=None)
    plans = plan_layers(model, w_bits=2, a_bits=2)          # 19 of 21 layers quantized
    qmodel = swap_layers(model, lambda m, p: MyQConv.from_float(m, w_bits=p.w_bits, a_bits=p.a_bits),
                         w_bits=2, a_bits=2)
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from cvcore.errors import ConfigError

__all__ = [
    "MAX_BITS",
    "MIN_BITS",
    "LayerPlan",
    "check_bits",
    "get_submodule",
    "nonnegative_inputs",
    "plan_layers",
    "quantizable_layers",
    "set_submodule",
    "split_parameters",
    "swap_layers",
]

MIN_BITS = 1
MAX_BITS = 8

Bits = int | None
Factory = Callable[[nn.Module, "LayerPlan"], nn.Module]


def check_bits(bits: Any, name: str = "bits") -> int | None:
    """Validate a bit-width: an integer in ``MIN_BITS..MAX_BITS`` (1..8) or ``None`` (full precision).

    Raises:
        ConfigError: (a ``ValueError``) for anything else, e.g. ``0``, ``9``, ``2.5``, ``"2"``, ``True``.
    """
    if bits is None:
        return None
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise ConfigError(f"{name} must be an integer in {MIN_BITS}..{MAX_BITS} or None, got {bits!r}")
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ConfigError(
            f"{name} must be in {MIN_BITS}..{MAX_BITS} bits (or None for full precision), got {bits}"
            + (" (this looks like a number of levels, not bits)" if bits in (16, 32, 64, 128, 256) else "")
        )
    return int(bits)


@dataclass
class LayerPlan:
    """What the walk decided for one Conv2d/Linear layer.

    Attributes:
        name: dotted module name (``"layer1.0.conv1"``).
        module: the (original) module.
        index: position in the walk order (0 = first).
        kind: ``"conv"`` or ``"linear"``.
        first / last: whether it is the first / last candidate of the model.
        w_bits / a_bits: the decided bit-widths (``None`` = full precision for that input).
    """

    name: str
    module: nn.Module
    index: int
    kind: Literal["conv", "linear"]
    first: bool
    last: bool
    w_bits: int | None
    a_bits: int | None

    @property
    def quantize(self) -> bool:
        """True when at least one of the weight/activation quantizers is enabled."""
        return self.w_bits is not None or self.a_bits is not None


def _excluded_names(model: nn.Module) -> set[str]:
    out = set()
    for name, mod in model.named_modules():
        if isinstance(mod, nn.MultiheadAttention):
            out.add(f"{name}.out_proj" if name else "out_proj")
    return out


def quantizable_layers(
    model: nn.Module,
    *,
    example_input: Any = None,
    types: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear),
) -> list[tuple[str, nn.Module]]:
    """List the Conv2d/Linear layers of ``model`` in walk order.

    Args:
        model: any ``nn.Module`` (torchvision, timm, own nets).
        example_input: optional tensor (or tuple of positional arguments); when given, one forward
            pass under ``torch.no_grad()`` in eval mode (the train/eval state is restored afterwards)
            records the order in which layers are first called, and layers never called are left out.
        types: module types that count as candidates (``isinstance``).

    Returns:
        ``[(dotted_name, module), ...]``; each module appears once (shared modules at first name).
    """
    excluded = _excluded_names(model)
    seen: set[int] = set()
    found: list[tuple[str, nn.Module]] = []
    for name, mod in model.named_modules():
        if name and isinstance(mod, types) and name not in excluded and id(mod) not in seen:
            seen.add(id(mod))
            found.append((name, mod))
    if example_input is None:
        return found
    order: dict[int, int] = {}
    handles = []

    def make_hook(key: int) -> Callable[..., None]:
        def hook(_m: nn.Module, _inp: Any) -> None:
            order.setdefault(key, len(order))

        return hook

    for _name, mod in found:
        handles.append(mod.register_forward_pre_hook(make_hook(id(mod))))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            args = example_input if isinstance(example_input, tuple) else (example_input,)
            model(*args)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    called = [(n, m) for n, m in found if id(m) in order]
    return sorted(called, key=lambda nm: order[id(nm[1])])


def _normalize_override(key: str, value: Any) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return check_bits(value[0], f"layer_bits[{key!r}] w_bits"), check_bits(value[1], f"layer_bits[{key!r}] a_bits")
    raise ConfigError(f"layer_bits[{key!r}] must be a pair (w_bits, a_bits) or None, got {value!r}")


def plan_layers(
    model: nn.Module,
    w_bits: Bits = 1,
    a_bits: Bits = 1,
    *,
    skip_first: bool = True,
    skip_last: bool = True,
    quantize_linear: bool = True,
    layer_bits: Mapping[str, tuple[Bits, Bits] | None] | None = None,
    example_input: Any = None,
) -> list[LayerPlan]:
    """Decide the bit-widths of every Conv2d/Linear layer (see the module docstring for the rules).

    Args:
        model: the model to plan for (not modified).
        w_bits, a_bits: default bit-widths (1..8) or ``None`` for full precision.
        skip_first, skip_last: keep the first / last layer full precision.
        quantize_linear: also quantize ``nn.Linear`` layers.
        layer_bits: ``{name_or_glob: (w_bits, a_bits)}`` overrides (``None`` value = full precision);
            keys are dotted module names or ``fnmatch`` patterns (``"layer4.*"``); a key that matches
            no candidate is an error. When several keys match, the last one in the mapping wins.
        example_input: see :func:`quantizable_layers` (forward order instead of module order).

    Returns:
        One :class:`LayerPlan` per candidate, in walk order (quantized or not).

    Raises:
        ConfigError: bad bits, bad override values, or an override key that matches nothing.
    """
    w_bits = check_bits(w_bits, "w_bits")
    a_bits = check_bits(a_bits, "a_bits")
    layers = quantizable_layers(model, example_input=example_input)
    names = [n for n, _ in layers]
    overrides: dict[str, tuple[int | None, int | None]] = {}
    for key, value in (layer_bits or {}).items():
        bits = _normalize_override(key, value)
        matched = [n for n in names if n == key or fnmatch.fnmatchcase(n, key)]
        if not matched:
            sample = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            raise ConfigError(f"layer_bits key {key!r} matches no Conv2d/Linear layer (layers: {sample})")
        for n in matched:
            overrides[n] = bits
    plans = []
    last_index = len(layers) - 1
    for i, (name, mod) in enumerate(layers):
        kind: Literal["conv", "linear"] = "linear" if isinstance(mod, nn.Linear) else "conv"
        first, last = i == 0, i == last_index
        wb, ab = w_bits, a_bits
        if (skip_first and first) or (skip_last and last) or (kind == "linear" and not quantize_linear):
            wb = ab = None
        if name in overrides:
            wb, ab = overrides[name]
        plans.append(LayerPlan(name, mod, i, kind, first, last, wb, ab))
    return plans


def get_submodule(model: nn.Module, name: str) -> nn.Module:
    """``model.get_submodule(name)`` with a clear ``KeyError`` naming the missing part."""
    try:
        return model.get_submodule(name)
    except AttributeError as exc:
        raise KeyError(f"no submodule {name!r} in {type(model).__name__}: {exc}") from None


def set_submodule(model: nn.Module, name: str, new: nn.Module) -> None:
    """Replace the submodule at dotted ``name`` (works for ``nn.Sequential`` indices too)."""
    parent_name, _, child = name.rpartition(".")
    parent = get_submodule(model, parent_name) if parent_name else model
    if not hasattr(parent, child) and child not in parent._modules:
        raise KeyError(f"no submodule {name!r} in {type(model).__name__}")
    parent._modules[child] = new


def swap_layers(
    model: nn.Module,
    factory: Factory,
    w_bits: Bits = 1,
    a_bits: Bits = 1,
    *,
    skip_first: bool = True,
    skip_last: bool = True,
    quantize_linear: bool = True,
    layer_bits: Mapping[str, tuple[Bits, Bits] | None] | None = None,
    example_input: Any = None,
    inplace: bool = False,
) -> nn.Module:
    """Replace every layer that :func:`plan_layers` quantizes by ``factory(module, plan)``.

    Args:
        model: the model; deep-copied first unless ``inplace=True``.
        factory: ``factory(module, plan) -> nn.Module``; called only for plans with
            ``plan.quantize``; ``module`` is the layer of the (copied) model, ``plan`` its
            :class:`LayerPlan` (with ``plan.module`` the same layer).
        others: as in :func:`plan_layers`.

    Returns:
        The model with the layers replaced (the copy, or ``model`` itself when ``inplace``).
    """
    target = model if inplace else copy.deepcopy(model)
    plans = plan_layers(
        target, w_bits, a_bits, skip_first=skip_first, skip_last=skip_last,
        quantize_linear=quantize_linear, layer_bits=layer_bits, example_input=example_input,
    )
    replaced: dict[int, nn.Module] = {}
    for plan in plans:
        if not plan.quantize:
            continue
        new = replaced.get(id(plan.module))
        if new is None:
            new = factory(plan.module, plan)
            if not isinstance(new, nn.Module):
                raise TypeError(f"factory returned {type(new).__name__} for {plan.name}, expected an nn.Module")
            replaced[id(plan.module)] = new
        set_submodule(target, plan.name, new)
    # modules registered under a second name (shared) point to the same replacement
    for name, mod in list(target.named_modules(remove_duplicate=False)):
        if name and id(mod) in replaced and mod is not replaced[id(mod)]:
            set_submodule(target, name, replaced[id(mod)])
    return target


# ---------------------------------------------------------------------------------------------
# which layers see non-negative inputs (ReLU-fed): for quantizers with a fixed lower bound 0

_RELU_MODULES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6)
_KEEPS_SIGN_MODULES: tuple[type[nn.Module], ...] = (
    nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten,
    nn.Dropout, nn.Dropout2d, nn.Identity,
)


def _relu_functions() -> set[Any]:
    import torch.nn.functional as F

    return {F.relu, F.relu6, torch.relu, torch.relu_, F.relu_}


def _keeps_sign_functions() -> set[Any]:
    import operator

    import torch.nn.functional as F

    return {
        F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d, F.dropout,
        torch.flatten, operator.getitem, F.pad, torch.cat, operator.add, torch.add, operator.iadd,
    }


def _fx_nonnegative(model: nn.Module, names: Sequence[str]) -> dict[str, bool]:
    import torch.fx

    gm = torch.fx.symbolic_trace(model)
    modules = dict(gm.named_modules())
    relu_fns, keep_fns = _relu_functions(), _keeps_sign_functions()
    keep_methods = {"view", "reshape", "flatten", "mean", "contiguous", "relu", "relu_", "clamp_min"}
    nonneg: dict[Any, bool] = {}
    result: dict[str, bool] = {}
    wanted = set(names)

    def arg_nonneg(a: Any) -> bool:
        if isinstance(a, torch.fx.Node):
            return nonneg.get(a, False)
        if isinstance(a, (list, tuple)):
            return all(arg_nonneg(x) for x in a)
        if isinstance(a, (int, float)):
            return a >= 0
        return True  # None, slices, dtypes: no sign information to lose

    for node in gm.graph.nodes:
        value = False
        tensor_args = [a for a in node.args if isinstance(a, (torch.fx.Node, list, tuple))]
        if node.op == "call_module":
            mod = modules[node.target]
            if node.target in wanted:
                result[node.target] = arg_nonneg(node.args[0]) if node.args else False
            if isinstance(mod, _RELU_MODULES):
                value = True
            elif isinstance(mod, _KEEPS_SIGN_MODULES):
                value = arg_nonneg(node.args[0]) if node.args else False
        elif node.op == "call_function":
            if node.target in relu_fns:
                value = True
            elif node.target in keep_fns:
                value = bool(tensor_args) and all(arg_nonneg(a) for a in tensor_args)
        elif node.op == "call_method":
            if node.target in ("relu", "relu_"):
                value = True
            elif node.target in keep_methods:
                value = arg_nonneg(node.args[0]) if node.args else False
        nonneg[node] = value
    return {n: result.get(n, False) for n in names}


def _order_nonnegative(model: nn.Module, names: Sequence[str]) -> dict[str, bool]:
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    prev: nn.Module | None = None
    out: dict[str, bool] = {}
    wanted = set(names)
    for n, m in leaves:
        if isinstance(m, _KEEPS_SIGN_MODULES) and n not in wanted:
            continue  # look through pooling/flatten/dropout
        if n in wanted:
            out[n] = isinstance(prev, _RELU_MODULES)
        prev = m
    return {n: out.get(n, False) for n in names}


def nonnegative_inputs(
    model: nn.Module, *, method: Literal["auto", "fx", "order"] = "auto"
) -> dict[str, bool]:
    """For each Conv2d/Linear layer, whether its input is provably non-negative (ReLU/ReLU6-fed).

    ``"fx"`` traces the model with ``torch.fx`` and propagates non-negativity from ReLU/ReLU6
    (modules, ``F.relu``, ``Tensor.relu``) through sign-preserving ops (pooling, flatten, dropout,
    padding, concatenation, reshapes, and sums of non-negative tensors). ``"order"`` looks at the
    previous leaf module in ``model.modules()`` order (skipping pooling/flatten/dropout): a heuristic
    for models that cannot be traced, wrong for residual sums of signed tensors. ``"auto"`` tries
    ``"fx"`` and falls back to ``"order"``.

    Returns:
        ``{layer name: bool}`` for the layers of :func:`quantizable_layers` (module order).
        The model's own input (e.g. the image fed to the stem) counts as signed.
    """
    names = [n for n, _ in quantizable_layers(model)]
    if method in ("auto", "fx"):
        try:
            return _fx_nonnegative(model, names)
        except Exception:
            if method == "fx":
                raise
    return _order_nonnegative(model, names)


def split_parameters(
    model: nn.Module,
    module_types: type[nn.Module] | tuple[type[nn.Module], ...],
    quantizer_names: Iterable[str],
) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """Split parameters into (model group, quantizer group) for two optimizers.

    A parameter goes to the quantizer group when it is registered *directly* on a module of
    ``module_types`` under a local name in ``quantizer_names`` (e.g. ``{"w_lower", "w_upper",
    "a_lower", "a_upper", "scale"}``); everything else (weights, biases, BatchNorm affine pairs,
    full-precision layers) goes to the model group. Shared parameters are listed once.

    Raises:
        RuntimeError: if the two groups do not cover every parameter exactly once (sanity check of
            the official training scripts).
    """
    qnames = set(quantizer_names)
    quant_ids: set[int] = set()
    quant: list[nn.Parameter] = []
    for mod in model.modules():
        if isinstance(mod, module_types):
            for local, p in mod.named_parameters(recurse=False):
                if local in qnames and id(p) not in quant_ids:
                    quant_ids.add(id(p))
                    quant.append(p)
    rest = [p for p in model.parameters() if id(p) not in quant_ids]
    total = {id(p) for p in model.parameters()}
    if len(rest) + len(quant) != len(total) or ({id(p) for p in rest} | quant_ids) != total:
        raise RuntimeError("parameter groups do not cover the model's parameters exactly once")
    return rest, quant
