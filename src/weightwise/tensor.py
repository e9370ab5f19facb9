"""Tensor: a NumPy array with PyTorch's API and a place in the autograd graph.

A Tensor holds its values in `_a` (an `ndarray`, never copied on wrap), `requires_grad`, `grad`
and `grad_fn`. `_vc` is a one-element list, the version counter, shared between a tensor and its
views so that in-place changes to values saved for backward are caught. Methods are one-line
delegations to `weightwise.ops`; the op math lives there.
"""

from __future__ import annotations

import builtins
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from . import _dtype
from . import autograd as _autograd
from ._grad_attr import NON_LEAF_GRAD as _NON_LEAF_GRAD
from ._grad_attr import SCALAR_OF_GRAPH as _SCALAR_OF_GRAPH
from ._grad_attr import check_grad as _check_grad


class Size(tuple):
    """The shape of a tensor: a tuple printed as `torch.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        r = tuple.__getitem__(self, key)
        return Size(r) if isinstance(key, slice) else r


class device:
    """A device; only the CPU exists in weightwise."""

    __slots__ = ("type", "index")

    type: str
    index: int | None

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        if isinstance(type, int):
            type, index = "cuda", type
        name = str(type)
        if ":" in name:
            name, idx = name.split(":", 1)
            index = int(idx)
        if name not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, "
                f"xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type at start of device string: {type}"
            )
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(dev: Any, api: str = "tensor") -> None:
    """Accept the CPU; refuse CUDA (and others) with PyTorch's messages."""
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return
    if d.type == "cuda":
        raise AssertionError("Torch not compiled with CUDA enabled")
    raise RuntimeError(f"{api}(): the {d.type} device is not available in weightwise (CPU only)")


class Tensor:
    """An n-dimensional array of one dtype, optionally recording operations for autograd."""

    __slots__ = ("_a", "requires_grad", "_grad", "grad_fn", "_vc", "_base", "_hooks", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000  # so that `ndarray * Tensor` defers to Tensor.__rmul__

    def __init__(self, *args: Any, dtype: Any = None, device: Any = None) -> None:
        # The legacy constructor: Tensor(data) or Tensor(*sizes) for an uninitialised float tensor.
        check_device(device, "Tensor")
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            a = np.array(args[0], dtype=dt.np)
        else:
            a = np.zeros(tuple(int(s) for s in args), dtype=dt.np)
        self._a = a
        self.requires_grad = False
        self._grad: Tensor | None = None
        self.grad_fn = None
        self._vc = [0]
        self._base = None
        self._hooks = None
        self._retains_grad = False

    if TYPE_CHECKING:
        # The op methods (sum, relu_, ...) are attached by `_tensor_methods`; tell the checker.
        def __getattr__(self, name: str) -> Any: ...

    if TYPE_CHECKING:  # operators and methods are attached by weightwise._tensor_methods
        def __add__(self, other: Any) -> Tensor: ...
        def __radd__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __rsub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __rmul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __rtruediv__(self, other: Any) -> Tensor: ...
        def __floordiv__(self, other: Any) -> Tensor: ...
        def __rfloordiv__(self, other: Any) -> Tensor: ...
        def __mod__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __rpow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...
        def __rmatmul__(self, other: Any) -> Tensor: ...
        def __iadd__(self, other: Any) -> Tensor: ...
        def __isub__(self, other: Any) -> Tensor: ...
        def __imul__(self, other: Any) -> Tensor: ...
        def __itruediv__(self, other: Any) -> Tensor: ...
        def __lt__(self, other: Any) -> Tensor: ...
        def __le__(self, other: Any) -> Tensor: ...
        def __gt__(self, other: Any) -> Tensor: ...
        def __ge__(self, other: Any) -> Tensor: ...
        def __and__(self, other: Any) -> Tensor: ...
        def __or__(self, other: Any) -> Tensor: ...
        def __xor__(self, other: Any) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __getitem__(self, key: Any) -> Tensor: ...
        def __setitem__(self, key: Any, value: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...

    @classmethod
    def _make(cls, a: np.ndarray, requires_grad: bool = False) -> Tensor:
        """Wrap an ndarray without copying (the one way the library builds tensors)."""
        t = object.__new__(cls)
        t._a = a if type(a) is np.ndarray else np.asarray(a)
        t.requires_grad = requires_grad
        t._grad = None
        t.grad_fn = None
        t._vc = [0]
        t._base = None
        t._hooks = None
        t._retains_grad = False
        return t

    # ------------------------------------------------------------------ metadata
    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype._BY_NP[self._a.dtype]

    @property
    def shape(self) -> Size:
        return Size(self._a.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._a.shape)
        from .ops._util import norm_dim

        return self._a.shape[norm_dim("size", dim, self._a.ndim)]

    def dim(self) -> int:
        return self._a.ndim

    ndim = property(dim)

    def ndimension(self) -> int:
        return self._a.ndim

    def numel(self) -> int:
        return int(self._a.size)

    nelement = numel

    def element_size(self) -> int:
        return self._a.itemsize

    def stride(self, dim: int | None = None) -> Any:
        st = tuple(s // self._a.itemsize for s in self._a.strides)
        return st if dim is None else st[dim]

    def is_contiguous(self) -> bool:
        return bool(self._a.flags.c_contiguous)

    def data_ptr(self) -> int:
        return int(self._a.__array_interface__["data"][0])

    def untyped_storage(self) -> Any:
        base = self._a
        while base.base is not None and isinstance(base.base, np.ndarray):
            base = base.base
        return base

    @property
    def device(self) -> device:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_floating_point(self) -> Callable[[], bool]:
        return lambda: self._a.dtype.kind in "fV" or self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside the graph (its own version counter)."""
        return Tensor._make(self._a)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._a = value._a

    def type(self, dtype: Any = None) -> Any:
        if dtype is not None:
            return self.to(dtype)
        names = {
            "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
        }
        return f"torch.{names.get(self.dtype.name, self.dtype.name)}Tensor"

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._a

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._a if dtype is None else self._a.astype(dtype)

    def item(self) -> Any:
        if self._a.size != 1:
            raise RuntimeError(f"a Tensor with {self._a.size} elements cannot be converted to Scalar")
        return self._a.reshape(()).item()

    def tolist(self) -> Any:
        return self._a.tolist()

    def __len__(self) -> int:
        if self._a.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._a.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._a.shape[0]))  # type: ignore[index]

    def _scalar(self, kind: str) -> Any:
        if self._a.size != 1:
            if kind in ("float", "int"):  # float(t), int(t): Python's conversion protocol, as PyTorch
                raise ValueError("only one element tensors can be converted to Python scalars")
            raise RuntimeError(f"a Tensor with {self._a.size} elements cannot be converted to Scalar")
        return self._a.reshape(()).item()

    def __float__(self) -> float:
        if self.grad_fn is not None:  # PyTorch warns for a result in the graph (not for a leaf)
            warnings.warn(_SCALAR_OF_GRAPH, UserWarning, stacklevel=2)
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __index__(self) -> int:
        if self._a.dtype.kind not in "iu" or self._a.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._a.reshape(()).item())

    def __bool__(self) -> bool:
        if self._a.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._a.reshape(()).item())

    def __hash__(self) -> int:
        return id(self)

    def detach(self) -> Tensor:
        t = Tensor._make(self._a)
        t._vc = self._vc  # detach shares the version counter; .data does not
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self, *, memory_format: Any = None) -> Tensor:
        return _CloneBackward0.apply(self)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        if self._a.flags.c_contiguous:
            return self
        return _CloneBackward0.apply(self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other)`; returns self when nothing changes."""
        dt = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        for a in args:
            if isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            elif a is not None:
                dt = a
        check_device(dev, "to")
        if dt is None:
            return self.clone() if copy else self
        d = _dtype.as_dtype(dt)
        if d is self.dtype and not copy:
            return self
        return _ToCopyBackward0.apply(self, np_dtype=d.np)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        check_device("cuda")
        return self

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def bfloat16(self) -> Tensor:
        return self.to(_dtype.bfloat16)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def short(self) -> Tensor:
        return self.to(_dtype.int16)

    def char(self) -> Tensor:
        return self.to(_dtype.int8)

    def byte(self) -> Tensor:
        return self.to(_dtype.uint8)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool_)

    # ------------------------------------------------------------------ autograd
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by `backward()` (leaves, and non-leaves after `retain_grad()`)."""
        g = self._grad
        if g is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            _check_grad(self, value)
        self._grad = value

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient: Any = None, retain_graph: builtins.bool | None = None, create_graph: builtins.bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see `weightwise.autograd.backward`)."""
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self._retains_grad:
            self.grad_fn._retain = weakref.ref(self)
        self._retains_grad = True

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a replacement."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks: list[Any]
        if self.grad_fn is not None:
            self.grad_fn.register_hook(hook)
            hooks = self.grad_fn._hooks  # type: ignore[assignment]
        else:
            if self._hooks is None:
                self._hooks = []  # type: ignore[assignment]
            hooks = self._hooks  # type: ignore[assignment]
            hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    # ------------------------------------------------------------------ printing
    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._a.ndim == 0 and spec:
            return self.item().__format__(spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild, (self._a, self.requires_grad))

    def __deepcopy__(self, memo: dict) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment."
            )
        if id(self) in memo:
            return memo[id(self)]
        new = type(self).__new__(type(self))
        Tensor.__init__(new)
        new._a = _copy_sharing(self._a, memo)
        new.requires_grad = self.requires_grad
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        import copy as _copy

        for k, v in getattr(self, "__dict__", {}).items():
            new.__dict__[k] = _copy.deepcopy(v, memo)
        return new


_autograd._Tensor = Tensor


def _copy_sharing(a: np.ndarray, memo: dict) -> np.ndarray:
    """Copy `a` for deepcopy so that arrays sharing memory keep sharing it in the copy: the
    array that owns the memory is copied once per `memo` (keyed by its id, as PyTorch keys its
    storages) and `a` becomes the same view of that copy."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    if not (base.flags.c_contiguous or base.flags.f_contiguous) or a.size == 0:
        return a.copy()
    key = ("weightwise.storage", id(base))
    if key not in memo:
        memo[key] = base.copy(order="K")
        memo.setdefault(id(memo), []).append(base)
    new_base = memo[key]
    if new_base.shape == a.shape and new_base.strides == a.strides and new_base.dtype == a.dtype \
            and a.__array_interface__["data"][0] == base.__array_interface__["data"][0]:
        return new_base
    raw = new_base.ravel(order="K").view(np.uint8)  # a view: the copy is contiguous
    offset = a.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return np.ndarray(a.shape, a.dtype, buffer=raw, offset=offset, strides=a.strides)


def _rebuild(a: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor._make(a, requires_grad)


class _RemovableHandle:
    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class _CloneBackward0(_autograd.Function):
    @classmethod
    def name(cls) -> str:
        return "CloneBackward0"

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True, order="C")

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


class _ToCopyBackward0(_autograd.Function):
    @classmethod
    def name(cls) -> str:
        return "ToCopyBackward0"

    def forward(self, a: np.ndarray, np_dtype: Any) -> np.ndarray:
        self.src = a.dtype
        return _cast(a, np_dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return _cast(g, self.src)


def _cast(a: np.ndarray, dt: Any) -> np.ndarray:
    """`a.astype(dt)`; values out of dt's range (to float16: inf; to an int: undefined) quietly, as PyTorch."""
    try:
        return a.astype(dt)
    except (RuntimeWarning, FloatingPointError):  # only under -W error
        with np.errstate(all="ignore"):
            return a.astype(dt)

