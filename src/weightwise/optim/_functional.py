"""The update rules of the optimizers as pure functions over NumPy arrays.

Each rule updates `param` and its state arrays in place with a handful of whole-array ufuncs
(`out=`), in the order of operations of PyTorch's single-tensor CPU implementation, so the same
float32 roundings happen and trajectories agree step for step. No rule knows about Tensors,
parameter groups or autograd; the optimizers in this package only look up state and call them.
Non-finite values (inf/nan gradients, 0/0 with eps=0) follow IEEE arithmetic, as in PyTorch;
`Optimizer.step` silences NumPy's warnings about them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Record = list[tuple[float, float]]


_HALF = np.dtype(np.float16)


def _needs_widening(param: np.ndarray) -> bool:
    """Whether `param` is updated through `_widened`: 0-d, or a 16-bit type other than float16."""
    return param.ndim == 0 or (param.itemsize < 4 and param.dtype != _HALF)


def _working(a: np.ndarray) -> np.ndarray:
    """`a` as `_widened` hands it to a rule: at least 1-d; float32 if narrower, except float16."""
    if a.itemsize < 4 and a.dtype != _HALF:
        return a.astype(np.float32).reshape(a.shape or (1,))
    return a.reshape(a.shape or (1,))


def _widened(rule: Callable[..., Any], param: np.ndarray, grad: np.ndarray,
             states: tuple[np.ndarray | None, ...], kw: dict[str, Any]) -> Any:
    """Run `rule` on stand-ins for a 0-d or bfloat16 parameter and its state, then write the
    parameter and state back in place; return what `rule` returns (on the stand-ins).

    A 0-d array stands in as a 1-element view: ufuncs return NumPy scalars for 0-d operands,
    which `out=` cannot take. A bfloat16 (or float8) array stands in as a float32 copy: NumPy
    would turn it into float32 part-way through the rule (a Python float promotes it), and
    PyTorch's CPU kernels compute it in float32 anyway, rounding once per op. float16 stays
    float16: NumPy's float16 loops also compute in float32 and round each result, so that
    PyTorch's float16 behaviour (eps=1e-8 rounds to 0 in a float16 denominator) carries over.
    """
    work = [None if a is None else _working(a) for a in states]
    w = _working(param)
    out = rule(w, _working(grad), *work, **kw)
    for a, b in zip((param, *states), (w, *work)):
        if a is not None and b is not None:
            np.copyto(a, b.reshape(a.shape), casting="unsafe")
    return out


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, diff: np.ndarray) -> None:
    """start += weight * (end - start) in place, as `torch.lerp_`; `diff` holds end - start and
    is used as scratch. From weight 0.5 on, PyTorch works from `end` instead, so that weight 1
    gives `end` exactly (and an inf in `end` gives nan, not inf)."""
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        # weight - 1 as PyTorch's kernel has it: in float32 (float64 for float64 arrays), exactly
        diff *= (weight if start.dtype == np.float64 else float(np.float32(weight))) - 1.0
        np.add(end, diff, out=start)


def _record(record: Record | None, update: np.ndarray, param: np.ndarray) -> None:
    """Append (||update||^2, ||param||^2) with `param` taken just before `param -= update`: the
    training monitor's update-to-weight ratio, while both arrays are in cache (recorded steps only)."""
    if record is not None:
        record.append((_sumsq(update), _sumsq(param)))


def _sumsq(a: np.ndarray) -> float:
    f = a.reshape(-1)
    if f.dtype not in (np.float32, np.float64):
        f = f.astype(np.float64)
    return float(np.dot(f, f))


def _decayed_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """grad (negated when maximizing) plus weight_decay * param, as a fresh array if changed."""
    if maximize:
        grad = np.negative(grad)
    if weight_decay != 0:
        decay = param * weight_decay
        if maximize:
            np.add(grad, decay, out=grad)
        else:
            grad = np.add(grad, decay, out=decay)
    return grad


def sgd(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, *, lr: float,
        momentum: float, dampening: float, nesterov: bool, weight_decay: float, maximize: bool,
        record: Record | None = None) -> np.ndarray | None:
    """SGD with optional momentum and Nesterov momentum (Sutskever et al., 2013).

    buf = momentum * buf + (1 - dampening) * g (buf = g at the first step);
    g = g + momentum * buf (nesterov) or buf; param -= lr * g.
    Returns the (possibly new) momentum buffer. `record`, if given, receives
    (||lr g||^2, ||param||^2) before the update.
    """
    if _needs_widening(param):
        new = _widened(sgd, param, grad, (momentum_buffer,), dict(
            lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay,
            maximize=maximize, record=record))
        if momentum_buffer is not None or new is None:
            return momentum_buffer
        return new.astype(param.dtype).reshape(param.shape)
    g = _decayed_grad(param, grad, weight_decay, maximize)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = np.array(g, copy=True)
        else:
            momentum_buffer *= momentum
            if dampening == 0:
                momentum_buffer += g
            else:
                momentum_buffer += g * (1 - dampening)
        if nesterov:
            g = g + momentum_buffer * momentum
        else:
            g = momentum_buffer
    step = g * lr
    _record(record, step, param)
    np.subtract(param, step, out=param)
    return momentum_buffer


# Large tensors are updated in slices of this many elements, so the one temporary an update
# needs stays small (the step's peak memory is then the backward's, as in PyTorch).
_CHUNK = 1 << 17


def _slices(*arrays: np.ndarray | None) -> list[tuple[np.ndarray | None, ...]]:
    """The arrays as matching flat slices of at most `_CHUNK` elements (one slice if small)."""
    first = arrays[0]
    assert first is not None
    if first.size <= _CHUNK or not all(a is None or a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    return [tuple(None if f is None else f[i:i + _CHUNK] for f in flat) for i in range(0, first.size, _CHUNK)]


def adam(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
         max_exp_avg_sq: np.ndarray | None, *, step: float, lr: float, beta1: float, beta2: float,
         eps: float, weight_decay: float, amsgrad: bool, maximize: bool, decoupled_weight_decay: bool,
         record: Record | None = None) -> None:
    """Adam (Kingma & Ba, 2015); AdamW when `decoupled_weight_decay` (Loshchilov & Hutter, 2019).

    m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g^2;
    param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    `record`, if given, receives (||update||^2, ||param||^2) of each slice before its update (the
    decoupled weight decay, applied first, is not part of that update).
    """
    for p, gr, m, v, vmax in _slices(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
        assert p is not None and gr is not None and m is not None and v is not None
        _adam_slice(p, gr, m, v, vmax, step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                    weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                    decoupled_weight_decay=decoupled_weight_decay, record=record)


def _adam_slice(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                max_exp_avg_sq: np.ndarray | None, *, step: float, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
                decoupled_weight_decay: bool, record: Record | None) -> None:
    if _needs_widening(param):
        _widened(_adam_slice, param, grad, (exp_avg, exp_avg_sq, max_exp_avg_sq), dict(
            step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, decoupled_weight_decay=decoupled_weight_decay, record=record))
        return
    if decoupled_weight_decay:
        if weight_decay != 0:
            param *= 1 - lr * weight_decay
        g = np.negative(grad) if maximize else grad
    else:
        g = _decayed_grad(param, grad, weight_decay, maximize)
    tmp = np.subtract(g, exp_avg)
    _lerp_(exp_avg, g, 1 - beta1, tmp)
    np.multiply(g, 1 - beta2, out=tmp)  # (1 - beta2) g g, in PyTorch's order: g g overflows float16 at 256
    tmp *= g
    exp_avg_sq *= beta2
    exp_avg_sq += tmp
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    step_size = lr / bias_correction1
    if amsgrad:
        assert max_exp_avg_sq is not None
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        np.sqrt(max_exp_avg_sq, out=tmp)
    else:
        np.sqrt(exp_avg_sq, out=tmp)
    # m / (sqrt(v) / c + eps) == m / (sqrt(v) + eps c) * c with c = sqrt(1 - beta2^t): one pass fewer.
    tmp += eps * bias_correction2_sqrt
    np.divide(exp_avg, tmp, out=tmp)
    tmp *= step_size * bias_correction2_sqrt
    _record(record, tmp, param)
    np.subtract(param, tmp, out=param)


def rmsprop(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
            momentum_buffer: np.ndarray | None, *, lr: float, alpha: float, eps: float, weight_decay: float,
            momentum: float, centered: bool, maximize: bool, record: Record | None = None) -> None:
    """RMSprop (Hinton, Coursera lecture 6e, 2012); centered form from Graves (2013).

    v = alpha v + (1 - alpha) g^2; avg = sqrt(v - mean_g^2 if centered else v) + eps;
    buf = momentum buf + g / avg, param -= lr buf (or param -= lr g / avg without momentum).
    """
    if _needs_widening(param):
        _widened(rmsprop, param, grad, (square_avg, grad_avg, momentum_buffer), dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
            maximize=maximize, record=record))
        return
    g = _decayed_grad(param, grad, weight_decay, maximize)
    tmp = np.multiply(g, 1 - alpha)
    tmp *= g
    square_avg *= alpha
    square_avg += tmp
    if centered:
        assert grad_avg is not None
        np.subtract(g, grad_avg, out=tmp)
        _lerp_(grad_avg, g, 1 - alpha, tmp)
        np.multiply(grad_avg, grad_avg, out=tmp)
        np.subtract(square_avg, tmp, out=tmp)
        np.sqrt(tmp, out=tmp)
    else:
        np.sqrt(square_avg, out=tmp)
    tmp += eps
    if momentum > 0:
        assert momentum_buffer is not None
        momentum_buffer *= momentum
        np.divide(g, tmp, out=tmp)
        momentum_buffer += tmp
        np.multiply(momentum_buffer, lr, out=tmp)
    else:
        np.divide(g, tmp, out=tmp)
        tmp *= lr
    _record(record, tmp, param)
    np.subtract(param, tmp, out=param)


def adagrad(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, *, step: float, lr: float,
            lr_decay: float, eps: float, weight_decay: float, maximize: bool, record: Record | None = None) -> None:
    """Adagrad (Duchi et al., 2011): s += g^2; param -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)."""
    if _needs_widening(param):
        _widened(adagrad, param, grad, (state_sum,), dict(
            step=step, lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay, maximize=maximize,
            record=record))
        return
    g = _decayed_grad(param, grad, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    tmp = np.multiply(g, g)
    state_sum += tmp
    np.sqrt(state_sum, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= clr
    _record(record, tmp, param)
    np.subtract(param, tmp, out=param)
