"""Loss functions as fused differentiable ops, with PyTorch's `grad_fn` names.

`cross_entropy` is `log_softmax` followed by `nll_loss` (NllLossBackward0 over
LogSoftmaxBackward0), as in PyTorch; `mse_loss`, `smooth_l1_loss`, `huber_loss`,
`binary_cross_entropy` and `binary_cross_entropy_with_logits` are one node each.
Every forward is numerically stable (log-sum-exp, log1p(exp(-|x|))) and its backward sits
beside it, on NumPy arrays.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .._grad_mode import is_grad_enabled
from ..autograd import Function
from ..tensor import Tensor
from ._loss_util import (  # noqa: F401  (re-exported: the loss API lives here)
    _float_operands,
    _grad_scale,
    _reduce,
    check_reduction,
    legacy_reduction,
    not_differentiable,
)
from ._util import unbroadcast
from .elementwise import _DivScalar as _DivNumber
from .regression_loss import huber_loss, l1_loss, mse_loss, smooth_l1_loss  # noqa: F401

# ---------------------------------------------------------------------------------------------
# Classification losses on log-probabilities


def _rows(a: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) as (N * d1 * ..., C); (C,) as (1, C); (N, C) as is."""
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 2:
        return a
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _unrows(r: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) <= 2:
        return r.reshape(shape)
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return np.moveaxis(r.reshape(moved), -1, 1)


def _nan_quiet(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run without NumPy's float warnings: when every target is ignored, a "mean" is 0 / 0, which
    PyTorch returns as nan (with nan gradients) without a word."""
    @functools.wraps(method)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(invalid="ignore", divide="ignore"):
            return method(*args, **kwargs)
    return quiet


class _Nll:
    """Per-row picks of the nll loss: shared by NllLossBackward0 and the label-smoothing node."""

    def setup(self, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None, ignore_index: int,
              plain: bool = True) -> np.ndarray:
        """Targets must have been checked (`_check_class_targets`). With `plain`, an unweighted loss
        whose targets are all counted skips the mask and weights (then `mask` and `w` are None)."""
        self.xshape, self.tshape = x.shape, t.shape
        rows = _rows(x)
        tf = t.reshape(-1)
        self.ar = np.arange(tf.size)
        if plain and weight is None and tf.size and not _any_ignored(tf, ignore_index, rows.shape[1]):
            self.mask = self.w = None
            self.idx = tf
            self.total_w = x.dtype.type(tf.size)
            return np.negative(rows[self.ar, tf])
        self.mask = mask = tf != ignore_index
        self.idx = np.where(mask, tf, 0)
        w = mask.astype(x.dtype) if weight is None else weight[self.idx] * mask
        self.w = w
        self.total_w = w.sum(dtype=x.dtype)
        return -(w * rows[self.ar, self.idx])  # per-row loss

    def grad(self, scale: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Gradient wrt x where `scale` (scalar or per row) multiplies each row's loss."""
        n = self.ar.size
        c = self.xshape[1] if len(self.xshape) > 1 else self.xshape[0]
        gr = np.zeros((n, c), dtype=dtype)
        if self.w is None:
            gr[self.ar, self.idx] = -scale
        else:  # ignored rows get no gradient, not 0 * scale (nan when every target is ignored)
            assert self.mask is not None  # set together with w
            gr[self.ar, self.idx] = np.where(self.mask, -self.w * scale, 0)
        return _unrows(gr, self.xshape)


def _any_ignored(tf: np.ndarray, ignore_index: int, c: int) -> bool:
    """Whether a checked target equals `ignore_index` (the only value allowed outside [0, c))."""
    if ignore_index < 0:
        return bool(tf.min() < 0)
    if ignore_index >= c:
        return bool(tf.max() >= c)
    return bool((tf == ignore_index).any())


class NllLossBackward0(Function):
    saved_inputs = (0,)

    @classmethod
    def for_input(cls, x: np.ndarray) -> type[NllLossBackward0]:
        return NllLoss2DBackward0 if x.ndim == 4 else cls

    @_nan_quiet
    def forward(self, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None, reduction: str, ignore_index: int) -> np.ndarray:
        self.nll, self.reduction = _Nll(), reduction
        per = self.nll.setup(x, t, weight, ignore_index)
        if reduction == "none":
            return per.reshape(t.shape)
        total = per.sum(dtype=x.dtype)
        return np.asarray(total / self.nll.total_w if reduction == "mean" else total)

    @_nan_quiet
    def backward(self, g: np.ndarray) -> tuple:
        nll = self.nll
        if self.reduction == "none":
            scale = g.reshape(-1)
        else:
            scale = g / nll.total_w if self.reduction == "mean" else g
        return nll.grad(scale, g.dtype), None


class NllLoss2DBackward0(NllLossBackward0):
    """The (N, C, H, W) form, named as PyTorch names it."""


def _class_weight(api: str, weight: Tensor | None, c: int) -> np.ndarray | None:
    if weight is None:
        return None
    if weight._a.shape != (c,):
        raise RuntimeError(
            f"{api}(): weight tensor should be defined either for all {c} classes or no classes but got "
            f"weight tensor of shape: {list(weight._a.shape)}"
        )
    return weight._a


def _check_class_targets(api: str, input: Tensor, target: Tensor, ignore_index: int) -> int:
    """Validate (N, C, d...) input against (N, d...) integer targets; return C."""
    x, t = input._a, target._a
    if x.ndim == 0:
        raise ValueError(f"{api}(): expected an input of 1 or more dimensions, got a 0-d input")
    if x.ndim == 1:
        if t.ndim != 0 and t.shape != (1,):
            raise RuntimeError(f"{api}(): 0D or 1D target tensor expected, multi-target not supported (input shape {list(x.shape)}, target shape {list(t.shape)})")
        c = x.shape[0]
    else:
        if t.ndim >= 1 and t.shape[0] != x.shape[0]:
            raise ValueError(
                f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({t.shape[0]}). "
                f"({api}(): input shape {list(x.shape)}, target shape {list(t.shape)})"
            )
        if x.ndim == 2 and t.ndim != 1:
            raise RuntimeError(f"{api}(): 0D or 1D target tensor expected, multi-target not supported (input shape {list(x.shape)}, target shape {list(t.shape)})")
        if x.ndim > 2 and t.shape != (x.shape[0],) + x.shape[2:]:
            raise RuntimeError(
                f"{api}(): Expected target size {[x.shape[0], *x.shape[2:]]}, got {list(t.shape)} (input shape {list(x.shape)})"
            )
        c = x.shape[1]
    if t.dtype not in (np.int64, np.uint8):
        raise RuntimeError(
            f"{api}(): expected target dtype to be Long or Byte, but got {_pretty(target)} "
            f"(input shape {list(x.shape)}, target shape {list(t.shape)})"
        )
    if t.size and (t.min() < 0 or t.max() >= c):  # out of range, unless it is ignore_index
        tl = t.astype(np.int64, copy=False)
        bad = (tl != ignore_index) & ((tl < 0) | (tl >= c))
        if bad.any():
            v = int(tl[bad].flat[0])
            raise IndexError(f"Target {v} is out of bounds. ({api}(): class indices must be in [0, {c - 1}] for input of shape {list(x.shape)})")
    return c


def _pretty(t: Tensor) -> str:
    """PyTorch's scalar type name (Long, Float, ...) of a tensor's dtype."""
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
             "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    return names.get(t.dtype.name, t.dtype.name)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices: -weight[t] * input[t], averaged over weight[t].

    Args:
        input: log-probabilities (N, C), (C,) or (N, C, d1, ...).
        target: int64 class indices (N,), () or (N, d1, ...), each in [0, C) or `ignore_index`.
        weight: optional (C,) rescaling of each class.
    """
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    c = _check_class_targets("nll_loss", input, target, ignore_index)
    w = _class_weight("nll_loss", weight, c)
    not_differentiable("nll_loss_forward", weight=weight)
    return NllLossBackward0.for_input(input._a).apply(input, target, weight=w, reduction=reduction, ignore_index=int(ignore_index))


class _SmoothedNll(Function):
    """(1 - eps) * nll + eps / C * smooth, one node (PyTorch's top node is an AddBackward0)."""

    saved_inputs = (0,)

    @classmethod
    def name(cls) -> str:
        return "AddBackward0"

    @_nan_quiet
    def forward(self, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None, reduction: str,
                ignore_index: int, eps: float) -> np.ndarray:
        self.nll, self.reduction, self.eps, self.weight = _Nll(), reduction, eps, weight
        per = self.nll.setup(x, t, weight, ignore_index, plain=False)
        rows = _rows(x)
        self.c = c = rows.shape[1]
        smooth = -(rows @ weight) if weight is not None else -rows.sum(axis=1)
        smooth *= self.nll.mask
        a, b = x.dtype.type(1 - eps), x.dtype.type(eps / c)
        if reduction == "none":
            return (a * per + b * smooth).reshape(t.shape)
        if reduction == "sum":
            return np.asarray(a * per.sum(dtype=x.dtype) + b * smooth.sum(dtype=x.dtype))
        tw = self.nll.total_w
        return np.asarray(a * (per.sum(dtype=x.dtype) / tw) + b * (smooth.sum(dtype=x.dtype) / tw))

    @_nan_quiet
    def backward(self, g: np.ndarray) -> tuple:
        nll, eps, c = self.nll, self.eps, self.c
        if self.reduction == "none":
            scale = g.reshape(-1)
        elif self.reduction == "mean":
            scale = g / nll.total_w
        else:
            scale = g
        gx = nll.grad((1 - eps) * scale, g.dtype)
        mask = nll.mask
        assert mask is not None  # set up with plain=False
        row_scale = np.where(mask, -(eps / c) * np.broadcast_to(scale, mask.shape), 0).astype(g.dtype)
        wrow = np.ones(c, dtype=g.dtype) if self.weight is None else self.weight.astype(g.dtype)
        gx = gx + _unrows(np.multiply.outer(row_scale, wrow), nll.xshape)
        return gx, None


class _SoftTargetCE(Function):
    """-(sum over classes of logp * target * weight), reduced; targets are class probabilities."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "NegBackward0"

    def forward(self, logp: np.ndarray, target: np.ndarray, weight: np.ndarray | None, reduction: str, eps: float) -> np.ndarray:
        self.logp, self.reduction, self.eps = logp, reduction, eps
        cdim = 0 if logp.ndim == 1 else 1
        c = logp.shape[cdim]
        wshape = [1] * logp.ndim
        wshape[cdim] = c
        self.w = None if weight is None else weight.reshape(wshape)
        tt = target if eps == 0 else target * (1 - eps) + eps / c
        self.t = tt
        prod = logp * tt
        if self.w is not None:
            prod *= self.w
        self.n = logp.size // c if c else 0
        self.cdim = cdim
        if reduction == "none":
            return -prod.sum(axis=cdim)
        s = -prod.sum(dtype=logp.dtype)
        if reduction == "sum":
            return np.asarray(s)
        return np.asarray(s / self.n if self.n else np.nan, dtype=logp.dtype)

    def backward(self, g: np.ndarray) -> tuple:
        if self.reduction == "none":
            scale = np.expand_dims(g, self.cdim)
        elif self.reduction == "mean":
            scale = g / self.n if self.n else g * np.nan  # an empty batch: no elements to reach
        else:
            scale = g
        base = -scale if self.w is None else -scale * self.w
        gl = (base * self.t).astype(g.dtype, copy=False) if self.needs_input_grad[0] else None
        gt = None
        if self.needs_input_grad[1]:
            gt = base * self.logp
            if self.eps:
                gt = gt * (1 - self.eps)
        return gl, gt


class _SoftTargetCEMean(_SoftTargetCE):
    @classmethod
    def name(cls) -> str:
        return "DivBackward1"


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits against class indices or class probabilities.

    `log_softmax` over the class dim (1, or 0 for a 1-D input) then `nll_loss` (indices) or
    `-(logp * target).sum()` (probabilities, same shape as input). With `label_smoothing`
    eps, the target is mixed with the uniform distribution: (1 - eps) * target + eps / C
    (Szegedy et al., Rethinking the Inception Architecture, 2016).

    Args:
        input: logits (N, C), (C,) or (N, C, d1, ...).
        target: int64 indices (N,) / () / (N, d1, ...), or float probabilities shaped like input.
        weight: optional (C,) class weights.
    """
    from .reduce import log_softmax

    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing} (cross_entropy())")
    x, t = input._a, target._a
    if x.ndim == 0:
        raise ValueError("cross_entropy(): expected an input of 1 or more dimensions (the class dim), got a 0-d input")
    if x.dtype.kind != "f":
        raise RuntimeError(f"cross_entropy(): expected floating point logits, got {input.dtype} (input shape {list(x.shape)})")
    cdim = 0 if x.ndim == 1 else 1
    c = x.shape[cdim]
    if t.shape == x.shape:  # same shape as the logits: class probabilities
        if t.dtype.kind != "f":
            raise RuntimeError(
                f"cross_entropy(): Expected floating point type for target with class probabilities, got "
                f"{_pretty(target)} (input shape {list(x.shape)}, target shape {list(t.shape)})"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target (cross_entropy())")
        w = _class_weight("cross_entropy", weight, c)
        logp = log_softmax(input, cdim)
        if weight is not None and weight.requires_grad and is_grad_enabled():
            return _soft_target_ce_composed(logp, target, weight, cdim, reduction, float(label_smoothing))
        # an empty batch: PyTorch fills nan into the negated sum (NegBackward0), it divides by nothing
        fn = _SoftTargetCEMean if reduction == "mean" and x.size else _SoftTargetCE
        return fn.apply(logp, target, weight=w, reduction=reduction, eps=float(label_smoothing))
    _check_class_targets("cross_entropy", input, target, ignore_index)
    w = _class_weight("cross_entropy", weight, c)
    not_differentiable("nll_loss_forward", weight=weight)
    logp = log_softmax(input, cdim)
    if label_smoothing > 0:
        return _SmoothedNll.apply(logp, target, weight=w, reduction=reduction, ignore_index=int(ignore_index), eps=float(label_smoothing))
    return NllLossBackward0.for_input(logp._a).apply(logp, target, weight=w, reduction=reduction, ignore_index=int(ignore_index))


def _soft_target_ce_composed(logp: Tensor, target: Tensor, weight: Tensor, cdim: int, reduction: str,
                             eps: float) -> Tensor:
    """-(logp * target * weight) summed over classes, from ops: the form whose class weights get
    a gradient (PyTorch's composite for probability targets)."""
    from .elementwise import add, mul, neg
    from .reduce import sum

    c = logp._a.shape[cdim]
    if eps > 0:
        target = add(mul(target, 1 - eps), eps / c)
    shape = [1] * logp._a.ndim
    shape[cdim] = c
    prod = mul(mul(logp, target), weight.reshape(shape))
    if reduction == "none":
        return neg(sum(prod, cdim))
    total = neg(sum(prod))
    if reduction == "sum":
        return total
    return _DivBackward1.apply(total, s=logp._a.size / c if c else 0.0)


class _DivBackward1(_DivNumber):
    """`tensor / number` as PyTorch's C++ composites divide: named DivBackward1."""

    @classmethod
    def name(cls) -> str:
        return "DivBackward1"


# ---------------------------------------------------------------------------------------------
# Binary losses


class BinaryCrossEntropyBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None, reduction: str) -> np.ndarray:
        self.x, self.t, self.weight, self.reduction = x, t, weight, reduction
        # NOTE: PyTorch clamps each log at -100 so that 0 * log(0) stays finite.
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        loss = -(t * (lx - l1x) + l1x)
        if weight is not None:
            loss = loss * weight
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    def backward(self, g: np.ndarray) -> tuple:
        x, t = self.x, self.t
        scale = _grad_scale(g, self.reduction, x.size)
        if self.weight is not None:
            scale = scale * self.weight
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = (scale * (x - t) / np.maximum((1 - x) * x, x.dtype.type(1e-12))).astype(x.dtype, copy=False)
        if self.needs_input_grad[1]:
            # unclamped logs, as PyTorch: +-inf where the input is exactly 0 or 1
            with np.errstate(divide="ignore", invalid="ignore"):
                local = -(np.log(x) - np.log1p(-x))
            gt = unbroadcast((scale * local).astype(x.dtype, copy=False), t.shape)
        return gx, gt


class BinaryCrossEntropyWithLogitsBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None, pos_weight: np.ndarray | None,
                reduction: str) -> np.ndarray:
        self.x, self.t, self.weight, self.pw, self.reduction = x, t, weight, pos_weight, reduction
        sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # softplus(-x), stable
        self.sp = sp
        if pos_weight is None:
            loss = (1 - t) * x + sp
        else:
            loss = (1 - t) * x + (1 + (pos_weight - 1) * t) * sp
        if weight is not None:
            loss = loss * weight
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    def backward(self, g: np.ndarray) -> tuple:
        x, t, pw = self.x, self.t, self.pw
        scale = _grad_scale(g, self.reduction, x.size)
        if self.weight is not None:
            scale = scale * self.weight
        gx = gt = None
        if self.needs_input_grad[0]:
            e = np.exp(-np.abs(x))
            sig = np.where(x >= 0, 1, e) / (1 + e)  # stable sigmoid
            local = sig - t if pw is None else (1 + (pw - 1) * t) * sig - pw * t
            gx = (scale * local).astype(x.dtype, copy=False)
        if self.needs_input_grad[1]:
            local = -x if pw is None else -x + (pw - 1) * self.sp
            gt = unbroadcast((scale * local).astype(x.dtype, copy=False), t.shape)
        return gx, gt


def _optional(w: Tensor | None) -> np.ndarray | None:
    return None if w is None else w._a


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-weight * (t log x + (1 - t) log(1 - x)) for probabilities x in [0, 1]; logs clamped at -100."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    x, t = input._a, target._a
    if t.shape != x.shape:
        raise ValueError(
            f"Using a target size (torch.Size({list(t.shape)})) that is different to the input size "
            f"(torch.Size({list(x.shape)})) is deprecated. Please ensure they have the same size. (binary_cross_entropy())"
        )
    _float_operands("binary_cross_entropy", input, target)
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise RuntimeError(
            f"all elements of input should be between 0 and 1 (binary_cross_entropy(): input of shape {list(x.shape)} "
            f"has values in [{np.nanmin(x)}, {np.nanmax(x)}]; apply sigmoid first or use binary_cross_entropy_with_logits)"
        )
    not_differentiable("binary_cross_entropy", weight=weight)
    w = _optional(weight)
    if w is not None:
        w = np.broadcast_to(w, x.shape)
    return BinaryCrossEntropyBackward0.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid and binary cross entropy in one stable node; `pos_weight` (C,) weighs positives."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    x, t = input._a, target._a
    if t.shape != x.shape:
        raise ValueError(
            f"Target size (torch.Size({list(t.shape)})) must be the same as input size (torch.Size({list(x.shape)})) "
            "(binary_cross_entropy_with_logits())"
        )
    _float_operands("binary_cross_entropy_with_logits", input, target)
    not_differentiable("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    w, pw = _optional(weight), _optional(pos_weight)
    for name, arr in (("weight", w), ("pos_weight", pw)):
        if arr is not None:
            try:
                np.broadcast_shapes(arr.shape, x.shape)
            except ValueError:
                raise RuntimeError(
                    f"binary_cross_entropy_with_logits(): {name} of shape {list(arr.shape)} cannot be broadcast "
                    f"to input of shape {list(x.shape)}"
                ) from None
    return BinaryCrossEntropyWithLogitsBackward0.apply(input, target, weight=w, pos_weight=pw, reduction=reduction)
