"""`Parameter`, `Buffer` and the uninitialised placeholders of lazy modules.

A `Parameter` is a marker subclass of `Tensor`: assigned as a `Module` attribute it is
registered in the module's `_parameters`. It shares memory with the tensor it wraps (no copy)
and requires grad by default. It has a `__dict__`, so extra information (for instance where its
values came from) can be attached as attributes.

Difference from PyTorch: `type(p)` prints `<class 'weightwise.nn.parameter.Parameter'>` where
PyTorch prints `<class 'torch.nn.parameter.Parameter'>` (the class name and the
`nn.parameter` module are the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtype
from ..tensor import Tensor, _copy_sharing

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]


def _init_from(self: Tensor, data: Any, requires_grad: bool) -> None:
    if data is None:
        a = np.empty((0,), dtype=_dtype.get_default_dtype().np)
    elif isinstance(data, Tensor):
        a = data._a
    else:
        raise TypeError(
            f"{type(self).__name__}(): data must be a Tensor, got {type(data).__name__}"
        )
    Tensor.__init__(self)
    self._a = a
    if isinstance(data, Tensor):
        self._vc = data._vc  # the same memory, so the same version counter
    if requires_grad and a.dtype.kind != "f":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    self.requires_grad = bool(requires_grad)


class Parameter(Tensor):
    """A tensor that is a module parameter: registered on assignment to a `Module` attribute.

    Args:
        data: the tensor to wrap (its memory is shared, not copied); `None` gives an empty one.
        requires_grad: whether autograd records operations on it (default True).

    Example:
        >>> p = Parameter(weightwise.zeros(2))
        >>> p
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        _init_from(self, data, requires_grad)

    def __repr__(self, *, tensor_contents: Any = None) -> str:  # type: ignore[override]
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild_parameter, (self._a, self.requires_grad))

    def __deepcopy__(self, memo: dict) -> Tensor:
        # As PyTorch: a copy of the values, the same requires_grad, no .grad. Extra attributes
        # (the __dict__) are deep-copied too, so information attached to a parameter travels.
        if id(self) in memo:
            return memo[id(self)]
        import copy

        # Parameters sharing one array keep sharing it in the copy, as PyTorch's storages do.
        result = type(self)(Tensor._make(_copy_sharing(self._a, memo)), self.requires_grad)
        memo[id(self)] = result
        for k, v in self.__dict__.items():
            result.__dict__[k] = copy.deepcopy(v, memo)
        return result


def _rebuild_parameter(a: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(a), requires_grad)


class Buffer(Tensor):
    """A marker for a buffer: assigned to a `Module` attribute it is registered as a buffer.

    Args:
        data: the tensor (shared, not copied).
        persistent: whether the buffer is part of the module's `state_dict`.
    """

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        _init_from(self, data, False)
        self.persistent = persistent


_UNINIT_MSG = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
    "in `load_state_dict` when trying to load an uninitialized parameter into an initialized one. "
    "Call `forward` to initialize the parameters before accessing their attributes."
)


class UninitializedTensorMixin:
    """Shared behaviour of uninitialised parameters and buffers: no shape until `materialize`."""

    cls_to_become: type = Tensor
    _a: np.ndarray
    requires_grad: bool

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give the tensor its shape (uninitialised values) and turn it into `cls_to_become`."""
        dt = _dtype.as_dtype(dtype) if dtype is not None else self._a.dtype  # type: ignore[attr-defined]
        np_dt = dt.np if isinstance(dt, _dtype.dtype) else dt
        if isinstance(shape, int):
            shape = (shape,)
        self._a = np.empty(tuple(shape), dtype=np_dt)  # type: ignore[attr-defined]
        self.__class__ = self.cls_to_become

    @property
    def shape(self) -> Any:
        raise RuntimeError(_UNINIT_MSG)

    def size(self, dim: int | None = None) -> Any:
        raise RuntimeError(_UNINIT_MSG)

    def numel(self) -> int:
        raise RuntimeError(_UNINIT_MSG)

    def dim(self) -> int:
        raise RuntimeError(_UNINIT_MSG)

    def __repr__(self, *, tensor_contents: Any = None) -> str:  # type: ignore[override]
        return f"<{self.__class__.__name__}>"

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Any:
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)(requires_grad=self.requires_grad)  # type: ignore[call-arg, attr-defined]
        memo[id(self)] = new
        return new


class UninitializedParameter(UninitializedTensorMixin, Parameter):  # type: ignore[misc]
    """A parameter whose shape is not known yet (lazy modules); becomes a `Parameter`.

    Every use of its shape or values before the owning module's first call raises.
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        Parameter.__init__(self, Tensor._make(np.empty((0,), dtype=dt.np)), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):  # type: ignore[misc]
    """A buffer whose shape is not known yet (lazy modules); becomes a plain `Tensor`."""

    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                 persistent: bool = True) -> None:
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        _init_from(self, Tensor._make(np.empty((0,), dtype=dt.np)), requires_grad)
        self.persistent = persistent


def is_lazy(param: Any) -> bool:
    """Whether `param` is an uninitialised parameter or buffer of a lazy module."""
    return isinstance(param, UninitializedTensorMixin)
