"""Adam and AdamW (decoupled weight decay), with AMSGrad."""

from __future__ import annotations

from typing import Any

from . import _functional as F
from .optimizer import Optimizer, _scalar_step, _step_of, _step_tensor, _zeros_state, check_arg

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015); `decoupled_weight_decay=True` is AdamW. See `_functional.adam`.

    State per parameter, as PyTorch: `step` (float32 0-d tensor), `exp_avg`, `exp_avg_sq`, and
    `max_exp_avg_sq` with `amsgrad`.
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        name = type(self).__name__
        check_arg(lr >= 0.0, f"Invalid learning rate: {lr}", name)
        check_arg(eps >= 0.0, f"Invalid epsilon value: {eps}", name)
        check_arg(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}", name)
        check_arg(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}", name)
        check_arg(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}", name)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _reports_updates(self, group: dict[str, Any]) -> bool:
        # AdamW's decay (applied before the reported update) would be missing from the record
        return not (group["decoupled_weight_decay"] and group["weight_decay"] != 0)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        amsgrad = group["amsgrad"]
        kw = dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                  amsgrad=amsgrad, maximize=group["maximize"], decoupled_weight_decay=group["decoupled_weight_decay"])
        params, states = self._with_grads(group)
        for p, st in zip(params, states):
            if not st:
                st["step"] = _step_tensor()
                st["exp_avg"] = _zeros_state(p)
                st["exp_avg_sq"] = _zeros_state(p)
                if amsgrad:
                    st["max_exp_avg_sq"] = _zeros_state(p)
        single, batches = self._split_small(params, states, key=_step_of)
        for p, st in single:
            step = _scalar_step(st)
            mx = st["max_exp_avg_sq"]._a if amsgrad else None
            F.adam(p._a, p._grad._a, st["exp_avg"]._a, st["exp_avg_sq"]._a, mx, step=step,  # type: ignore[union-attr]
                   record=self._record_for(p), **kw)
            p._vc[0] += 1
        for batch in batches:
            step = self._flat_step(batch)
            w, g = self._flat_params(batch)
            mx = self._flat_state(batch, "max_exp_avg_sq") if amsgrad else None
            F.adam(w, g, self._flat_state(batch, "exp_avg"), self._flat_state(batch, "exp_avg_sq"), mx,
                   step=step, **kw)
            self._write_back(batch, w)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): param *= 1 - lr * weight_decay."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
