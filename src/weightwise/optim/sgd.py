"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

from . import _functional as F
from .optimizer import Optimizer, check_arg

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD: param -= lr * g, with optional (Nesterov) momentum; see `_functional.sgd`.

    Example:
        >>> opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        check_arg(lr >= 0.0, f"Invalid learning rate: {lr}", "SGD")
        check_arg(momentum >= 0.0, f"Invalid momentum value: {momentum}", "SGD")
        check_arg(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}", "SGD")
        check_arg(not nesterov or (momentum > 0 and dampening == 0),
                  "Nesterov momentum requires a momentum and zero dampening", "SGD")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def _reports_updates(self, group: dict[str, Any]) -> bool:
        return True

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov, wd, maximize = group["nesterov"], group["weight_decay"], group["maximize"]
        state = self.state
        params = [p for p in group["params"] if p._grad is not None]
        if momentum != 0:  # with momentum buffers there is state to batch; plain SGD is 2 calls a parameter
            ready = [p for p in params if "momentum_buffer" in state[p]]
            single, batches = self._split_small(ready, [state[p] for p in ready])
            params = [p for p in params if "momentum_buffer" not in state[p]] + [p for p, _ in single]
            for batch in batches:
                w, g = self._flat_params(batch)
                F.sgd(w, g, self._flat_state(batch, "momentum_buffer"), lr=lr, momentum=momentum,
                      dampening=dampening, nesterov=nesterov, weight_decay=wd, maximize=maximize)
                self._write_back(batch, w)
        for p in params:
            st = state[p] if momentum != 0 else None
            buf = st.get("momentum_buffer") if st is not None else None
            new = F.sgd(p._a, p._grad._a, None if buf is None else buf._a, lr=lr, momentum=momentum,
                        dampening=dampening, nesterov=nesterov, weight_decay=wd, maximize=maximize,
                        record=self._record_for(p))
            p._vc[0] += 1
            if st is not None and buf is None and new is not None:
                st["momentum_buffer"] = _wrap(new)


def _wrap(a: Any) -> Any:
    from ..tensor import Tensor

    return Tensor._make(a)
