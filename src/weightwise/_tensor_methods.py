"""Tensor methods and operators: one-line delegations to `weightwise.ops`, plus in-place ops.

In-place ops follow PyTorch's rules: refused on a leaf (or a view of one) that requires grad
while grad mode is on; recorded in the graph when the tensor or the operand requires grad (the
tensor's history is rebased onto the new node); and they bump the version counter, so a value
saved for backward that changes is caught at backward time.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _dtype
from .autograd import _state
from .ops import activation as A
from .ops import elementwise as E
from .ops import indexing as Ix
from .ops import linalg as L
from .ops import movement as M
from .ops import reduce as R
from .ops import scatter as _scatter
from .ops._fp import FP_ERRORS, finish_inplace
from .tensor import Tensor

_LEAF_ERR = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_ERR = "a view of a leaf Variable that requires grad is being used in an in-place operation."
_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
          "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _check_inplace(self: Tensor) -> None:
    if _state["grad"]:
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(_LEAF_ERR)
        base = self._base
        if base is not None and base.requires_grad and base.grad_fn is None:
            raise RuntimeError(_VIEW_ERR)


def _cast_check(self: Tensor, res: np.ndarray) -> None:
    if res.dtype != self._a.dtype:
        src, dst = _dtype._BY_NP.get(res.dtype), self.dtype
        if src is not None and _dtype._category(src) > _dtype._category(dst):
            raise RuntimeError(
                f"result type {_NAMES.get(src.name, src.name)} can't be cast to the desired output type "
                f"{_NAMES.get(dst.name, dst.name)}"
            )


def _inplace(self: Tensor, compute: Callable[[Tensor], Tensor], others: tuple = ()) -> Tensor:
    """Run `compute(self)` out of place, write the result into self's memory, bump the version."""
    _check_inplace(self)
    tracked = _state["grad"] and (self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others))
    if not tracked:
        from .autograd import no_grad

        with no_grad():
            res = compute(self)
        _cast_check(self, res._a)
        if res._a is not self._a:
            np.copyto(self._a, res._a, casting="unsafe")
        self._vc[0] += 1
        return self
    old = Tensor._make(self._a.copy(), self.requires_grad)
    old.grad_fn = self.grad_fn
    base = self._base
    old_base = None
    if base is not None:  # the write also changes the base: keep its old value for its new node
        old_base = Tensor._make(base._a.copy(), base.requires_grad)
        old_base.grad_fn = base.grad_fn
    res = compute(old)
    _cast_check(self, res._a)
    np.copyto(self._a, res._a, casting="unsafe")
    self._vc[0] += 1
    fn = res.grad_fn
    self.grad_fn, self.requires_grad = fn, res.requires_grad
    if fn is not None and fn.saves_output:
        fn._out, fn._out_version = self._vc, self._vc[0]
    if old_base is not None and (old_base.requires_grad or res.requires_grad):
        from .ops.view_write import rebase

        rebase(base, old_base, self, res)  # type: ignore[arg-type]
    return self


def _binary_inplace(ufunc: Any, op: Callable) -> Callable:
    """`self op= other`: one NumPy call when no graph is involved (the optimizer's path)."""

    def method(self: Tensor, other: Any, **kw: Any) -> Tensor:
        a = self._a
        grad_on = _state["grad"]
        if grad_on and (self._base is not None or self.requires_grad):
            _check_inplace(self)
        if kw:
            return _inplace(self, lambda s: op(s, other, **kw), (other,))
        if isinstance(other, Tensor):
            b = other._a
            if b.shape != a.shape:
                try:
                    bs = np.broadcast_shapes(a.shape, b.shape)
                except ValueError:
                    op(self, other)  # raises the out-of-place op's shape error
                    raise
                if bs != a.shape:
                    raise RuntimeError(
                        f"output with shape {list(a.shape)} doesn't match the broadcast shape {list(bs)}"
                    )
            other_grad = other.requires_grad
        else:
            b = other
            other_grad = False
        if a.dtype.kind in "fV" and not (grad_on and (self.requires_grad or other_grad)):
            if type(b) is float or type(b) is int or (isinstance(b, np.ndarray) and b.dtype.kind in "biufV"):
                try:
                    ufunc(a, b, out=a, casting="unsafe")
                except FP_ERRORS:  # inf or nan results, silently, as PyTorch
                    finish_inplace(ufunc, a, b)
                self._vc[0] += 1
                return self
        return _inplace(self, lambda s: op(s, other), (other,))

    return method


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    """`x[key] = value`: written into x's memory; recorded as CopySlices when grads flow."""
    nkey, advanced = Ix._convert_key(key)
    Ix._check_bounds(self._a, nkey)
    _check_inplace(self)
    v = value
    if type(v) is float or type(v) is int or type(v) is bool:
        # PyTorch's checked conversion: an integer tensor refuses nan or an overflowing value.
        v = Ix.scalar_for_dtype(v, self._a.dtype, narrow_float_to_inf=True)
    if _state["grad"] and (self.requires_grad or (isinstance(v, Tensor) and v.requires_grad)):
        vt = v if isinstance(v, Tensor) else Tensor._make(np.asarray(v, dtype=self._a.dtype))
        if vt.dtype is not self.dtype:
            vt = vt.to(self.dtype)
        node = Ix.setitem_node(nkey, advanced)
        _inplace(self, lambda s: node.apply(s, vt, key=nkey, advanced=advanced), (vt,))
        return
    va = v._a if isinstance(v, Tensor) else np.asarray(v)
    try:
        if advanced:
            Ix.write_index(self._a, nkey, va, advanced)
        else:
            self._a[nkey] = va
    except (ValueError, TypeError) as e:
        raise RuntimeError(f"__setitem__(): cannot assign a value of shape {list(va.shape)} to index {key!r} of a tensor of shape {list(self._a.shape)} ({e})") from None
    self._vc[0] += 1


def _fill_(self: Tensor, value: Any, _zero: bool = False) -> Tensor:
    if isinstance(value, Tensor):
        if value._a.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value._a.ndim} dimensions.")
        value = value.item()
    _check_inplace(self)
    if self.requires_grad and _state["grad"]:
        node = M.ZeroBackward0 if _zero else M.FillBackward2
        return _inplace(self, lambda s: node.apply(s, value=value))
    self._a.fill(value)
    self._vc[0] += 1
    return self


def _zero_(self: Tensor) -> Tensor:
    return _fill_(self, 0, _zero=True)


def _copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    s = src if isinstance(src, Tensor) else Tensor._make(np.asarray(src))
    try:
        np.broadcast_to(s._a, self._a.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({self._a.shape[-1] if self._a.ndim else 1}) must match the size of tensor b "
            f"({s._a.shape[-1] if s._a.ndim else 1}) at non-singleton dimension {max(self._a.ndim - 1, 0)} "
            f"(copy_(): self {list(self._a.shape)}, src {list(s._a.shape)})"
        ) from None
    _check_inplace(self)
    if _state["grad"] and (self.requires_grad or s.requires_grad):
        return _inplace(self, lambda t: _copy_node(t, s), (s,))
    np.copyto(self._a, s._a, casting="unsafe")
    self._vc[0] += 1
    return self


def _masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    shape = Ix.masked_fill_shape(self, mask)
    if shape != self._a.shape:
        raise RuntimeError(f"masked_fill_(): output with shape {list(self._a.shape)} doesn't match the broadcast shape {list(shape)}")
    return _inplace(self, lambda s: M.masked_fill(s, mask, value), (value,))


def _scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None) -> Tensor:
    return _inplace(self, lambda s: _scatter.scatter(s, dim, index, src, value=value), (src,))


def _scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return _inplace(self, lambda s: _scatter.scatter_add(s, dim, index, src), (src,))


def _copy_node(t: Tensor, s: Tensor) -> Tensor:
    return M.CopyBackwards.apply(t, s.to(t.dtype), key=(Ellipsis,), advanced=False)


def _clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    if not (self.requires_grad and _state["grad"]) and not isinstance(min, Tensor) and not isinstance(max, Tensor):
        _check_inplace(self)
        np.clip(self._a, min, max, out=self._a)
        self._vc[0] += 1
        return self
    return _inplace(self, lambda s: E.clamp(s, min, max), (min, max))


def _uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    from . import random as _random

    _check_inplace(self)
    gen = generator or _random.default_generator
    self._a[...] = gen._uniform(self._a.shape, self._a.dtype, a, b)
    self._vc[0] += 1
    return self


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    from . import random as _random

    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    _check_inplace(self)
    gen = generator or _random.default_generator
    self._a[...] = gen._normal(self._a.shape, self._a.dtype, mean, std)
    self._vc[0] += 1
    return self


def _bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    from . import random as _random

    _check_inplace(self)
    gen = generator or _random.default_generator
    if isinstance(p, Tensor):
        self._a[...] = gen._bernoulli(np.broadcast_to(p._a, self._a.shape), self._a.dtype)
    else:
        self._a[...] = gen._bernoulli_scalar(self._a.shape, float(p), self._a.dtype)
    self._vc[0] += 1
    return self


def _T(self: Tensor) -> Tensor:
    # NOTE: for ndim other than 0 and 2 PyTorch warns (deprecated) and reverses all dims; so do we, quietly.
    return M.T(self)


def _mT(self: Tensor) -> Tensor:
    return M.mT(self)


_METHODS: dict[str, Any] = {
    # arithmetic
    "__add__": E.add, "__radd__": E.add, "add": E.add,
    "__sub__": E.sub, "__rsub__": E.rsub, "sub": E.sub, "subtract": E.sub,
    "__mul__": E.mul, "__rmul__": E.mul, "mul": E.mul, "multiply": E.mul,
    "__truediv__": E.div, "__rtruediv__": E.rdiv, "div": E.div, "divide": E.div, "true_divide": E.div,
    "__floordiv__": E.floor_divide, "floor_divide": E.floor_divide,
    "__rfloordiv__": E.rfloor_divide,
    "__mod__": E.remainder, "remainder": E.remainder,
    "__pow__": E.pow, "__rpow__": E.rpow, "pow": E.pow,
    "__neg__": E.neg, "neg": E.neg, "negative": E.neg, "__pos__": lambda self: self,
    "__abs__": E.abs, "abs": E.abs, "absolute": E.abs,
    "__matmul__": L.matmul, "__rmatmul__": lambda self, o: L.matmul(o, self), "matmul": L.matmul,
    "mm": L.mm, "bmm": L.bmm, "dot": L.dot, "addmm": L.addmm,
    # unary math
    "exp": E.exp, "log": E.log, "log1p": E.log1p, "log2": E.log2, "sqrt": E.sqrt, "rsqrt": E.rsqrt,
    "sin": E.sin, "cos": E.cos, "tanh": E.tanh, "sigmoid": E.sigmoid, "reciprocal": E.reciprocal,
    "sign": E.sign, "floor": E.floor, "ceil": E.ceil, "round": E.round, "trunc": E.trunc, "square": E.square,
    "relu": A.relu, "clamp": E.clamp, "clip": E.clamp, "maximum": E.maximum, "minimum": E.minimum,
    "where": lambda self, cond, other: E.where(cond, self, other),
    # comparisons and logic
    "__eq__": E.eq, "eq": E.eq, "__ne__": E.ne, "ne": E.ne, "__lt__": E.lt, "lt": E.lt,
    "__le__": E.le, "le": E.le, "__gt__": E.gt, "gt": E.gt, "__ge__": E.ge, "ge": E.ge,
    "__and__": E.bitwise_and, "__rand__": E.bitwise_and, "__or__": E.bitwise_or, "__ror__": E.bitwise_or,
    "__xor__": E.bitwise_xor, "__rxor__": E.bitwise_xor, "__invert__": E.bitwise_not,
    "logical_and": E.logical_and, "logical_or": E.logical_or, "logical_xor": E.logical_xor,
    "logical_not": E.logical_not, "isnan": E.isnan, "isinf": E.isinf, "isfinite": E.isfinite,
    "allclose": E.allclose, "isclose": E.isclose, "equal": E.equal,
    # reductions
    "sum": R.sum, "mean": R.mean, "max": R.max, "min": R.min, "amax": R.amax, "amin": R.amin,
    "argmax": R.argmax, "argmin": R.argmin, "var": R.var, "std": R.std, "prod": R.prod,
    "norm": R.norm, "logsumexp": R.logsumexp, "softmax": R.softmax, "log_softmax": R.log_softmax,
    "all": R.all, "any": R.any, "count_nonzero": R.count_nonzero, "cumsum": R.cumsum,
    # movement
    "view": M.view, "reshape": M.reshape, "flatten": M.flatten, "unflatten": M.unflatten,
    "transpose": M.transpose, "swapaxes": M.transpose, "t": M.t, "permute": M.permute,
    "squeeze": M.squeeze, "unsqueeze": M.unsqueeze, "expand": M.expand, "repeat": M.repeat,
    "expand_as": lambda self, other: M.expand(self, other._a.shape),
    "view_as": lambda self, other: M.view(self, other._a.shape),
    "reshape_as": lambda self, other: M.reshape(self, other._a.shape),
    "__getitem__": M.getitem, "__setitem__": _setitem, "split": M.split, "chunk": M.chunk,
    "unbind": M.unbind, "nonzero": M.nonzero, "gather": M.gather, "index_select": M.index_select,
    "scatter": _scatter.scatter, "scatter_add": _scatter.scatter_add,
    "tile": lambda self, *dims: _scatter.tile(self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims),
    "masked_fill": M.masked_fill, "flip": M.flip, "narrow": M.narrow,
    # in place
    "__iadd__": _binary_inplace(np.add, E.add), "add_": _binary_inplace(np.add, E.add),
    "__isub__": _binary_inplace(np.subtract, E.sub), "sub_": _binary_inplace(np.subtract, E.sub),
    "__imul__": _binary_inplace(np.multiply, E.mul), "mul_": _binary_inplace(np.multiply, E.mul),
    "__itruediv__": _binary_inplace(np.true_divide, E.div), "div_": _binary_inplace(np.true_divide, E.div),
    "pow_": lambda self, e: _inplace(self, lambda s: E.pow(s, e), (e,)),
    "zero_": _zero_, "fill_": _fill_, "copy_": _copy_, "clamp_": _clamp_, "clip_": _clamp_,
    "relu_": lambda self: _inplace(self, A.relu),
    "exp_": lambda self: _inplace(self, E.exp), "sqrt_": lambda self: _inplace(self, E.sqrt),
    "neg_": lambda self: _inplace(self, E.neg), "abs_": lambda self: _inplace(self, E.abs),
    "sigmoid_": lambda self: _inplace(self, E.sigmoid), "tanh_": lambda self: _inplace(self, E.tanh),
    "masked_fill_": _masked_fill_, "scatter_": _scatter_, "scatter_add_": _scatter_add_,
    "uniform_": _uniform_, "normal_": _normal_, "bernoulli_": _bernoulli_,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(_T)  # type: ignore[attr-defined]
Tensor.mT = property(_mT)  # type: ignore[attr-defined]
