"""RMSprop and Adagrad."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import _functional as F
from .optimizer import Optimizer, _scalar_step, _step_of, _step_tensor, _zeros_state, check_arg

__all__ = ["RMSprop", "Adagrad"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), centered (Graves, 2013), with momentum. See `_functional.rmsprop`."""

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_arg(lr >= 0.0, f"Invalid learning rate: {lr}", "RMSprop")
        check_arg(eps >= 0.0, f"Invalid epsilon value: {eps}", "RMSprop")
        check_arg(momentum >= 0.0, f"Invalid momentum value: {momentum}", "RMSprop")
        check_arg(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}", "RMSprop")
        check_arg(alpha >= 0.0, f"Invalid alpha value: {alpha}", "RMSprop")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _reports_updates(self, group: dict[str, Any]) -> bool:
        return True

    def _update_group(self, group: dict[str, Any]) -> None:
        momentum, centered = group["momentum"], group["centered"]
        kw = dict(lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                  momentum=momentum, centered=centered, maximize=group["maximize"])
        params, states = self._with_grads(group)
        for p, st in zip(params, states):
            if not st:
                st["step"] = _step_tensor()
                st["square_avg"] = _zeros_state(p)
                if momentum > 0:
                    st["momentum_buffer"] = _zeros_state(p)
                if centered:
                    st["grad_avg"] = _zeros_state(p)
        single, batches = self._split_small(params, states, key=_step_of)
        for p, st in single:
            _scalar_step(st)
            F.rmsprop(p._a, p._grad._a, st["square_avg"]._a, st["grad_avg"]._a if centered else None,  # type: ignore[union-attr]
                      st["momentum_buffer"]._a if momentum > 0 else None,
                      record=self._record_for(p), **kw)
            p._vc[0] += 1
        for batch in batches:
            self._flat_step(batch)
            w, g = self._flat_params(batch)
            F.rmsprop(w, g, self._flat_state(batch, "square_avg"),
                      self._flat_state(batch, "grad_avg") if centered else None,
                      self._flat_state(batch, "momentum_buffer") if momentum > 0 else None, **kw)
            self._write_back(batch, w)


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer, 2011). State (`step`, `sum`) is created at construction, as PyTorch."""

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        check_arg(lr >= 0.0, f"Invalid learning rate: {lr}", "Adagrad")
        check_arg(lr_decay >= 0.0, f"Invalid lr_decay value: {lr_decay}", "Adagrad")
        check_arg(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}", "Adagrad")
        check_arg(initial_accumulator_value >= 0.0,
                  f"Invalid initial_accumulator_value value: {initial_accumulator_value}", "Adagrad")
        check_arg(eps >= 0.0, f"Invalid epsilon value: {eps}", "Adagrad")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                _init_adagrad_state(self.state[p], p, group)

    def _reports_updates(self, group: dict[str, Any]) -> bool:
        return True

    def _update_group(self, group: dict[str, Any]) -> None:
        kw = dict(lr=group["lr"], lr_decay=group["lr_decay"], eps=group["eps"], weight_decay=group["weight_decay"],
                  maximize=group["maximize"])
        params, states = self._with_grads(group)
        for p, st in zip(params, states):
            if not st:  # a group added after construction
                _init_adagrad_state(st, p, group)
        single, batches = self._split_small(params, states, key=_step_of)
        for p, st in single:
            step = _scalar_step(st)
            F.adagrad(p._a, p._grad._a, st["sum"]._a, step=step,  # type: ignore[union-attr]
                      record=self._record_for(p), **kw)
            p._vc[0] += 1
        for batch in batches:
            step = self._flat_step(batch)
            w, g = self._flat_params(batch)
            F.adagrad(w, g, self._flat_state(batch, "sum"), step=step, **kw)
            self._write_back(batch, w)


def _init_adagrad_state(st: dict[str, Any], p: Tensor, group: dict[str, Any]) -> None:
    """`step` 0 and `sum` filled with the group's `initial_accumulator_value`."""
    st["step"] = _step_tensor()
    st["sum"] = Tensor._make(np.full_like(p._a, group["initial_accumulator_value"]))
