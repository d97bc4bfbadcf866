"""SGD with momentum and coupled weight decay, the update of ``torch.optim.SGD`` (dampening 0, no Nesterov).

Written out because constructing any ``torch.optim`` optimizer imports ``torch._dynamo`` (20-30 s on the
2-core CI machines without cached bytecode), which dominated short CLI runs and their tests. Update
(per parameter, as torch): ``d = g + wd * p``; ``b = d`` at the first step, else ``b = mu * b + d``;
``p -= lr * b``. ``state_dict`` / ``load_state_dict`` make resuming exact.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["SGD"]


class SGD:
    """Minimal SGD over parameter groups ``[{"params": [...], "lr", "weight_decay", ...}]``."""

    def __init__(self, groups: list[dict[str, Any]], lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        self.param_groups = []
        for g in groups:
            g = dict(g)
            g["params"] = list(g["params"])
            g.setdefault("lr", lr)
            g.setdefault("weight_decay", weight_decay)
            g.setdefault("momentum", momentum)
            self.param_groups.append(g)
        self.state: dict[int, torch.Tensor] = {}  # flat parameter index -> momentum buffer

    def _params(self) -> list[torch.Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self._params():
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        i = 0
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    d = p.grad if g["weight_decay"] == 0 else p.grad.add(p, alpha=g["weight_decay"])
                    if g["momentum"] != 0:
                        buf = self.state.get(i)
                        if buf is None:
                            buf = self.state[i] = d.detach().clone()
                        else:
                            buf.mul_(g["momentum"]).add_(d)
                        d = buf
                    p.add_(d, alpha=-g["lr"])
                i += 1

    def state_dict(self) -> dict[str, Any]:
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return {"groups": groups, "buffers": {str(k): v for k, v in self.state.items()}}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        if len(sd["groups"]) != len(self.param_groups):
            raise ValueError("optimizer state has a different number of parameter groups")
        for g, s in zip(self.param_groups, sd["groups"]):
            g.update(s)
        self.state = {int(k): v.clone() for k, v in sd["buffers"].items()}
