"""What a PyTorch pickle may name, mapped to our own code (never to an import).

A state dict needs only: ``OrderedDict``, the ``torch._utils._rebuild_*`` functions, storage
classes and dtypes as *names*, ``Parameter`` as a marker, and a few builtins. Each entry below
checks its arguments and builds a :class:`TensorRecord` (shape, strides, storage reference);
bytes are read later, only for the tensors asked for.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from ._dtypes import STORAGE_CLASSES, TORCH_DTYPES
from ._pickle_vm import Allowed
from .errors import SerializationError


class StorageType:
    """``torch.FloatStorage`` & co. as a name: the element type of a storage."""

    def __init__(self, name: str, dtype: np.dtype) -> None:
        self.name, self.dtype = name, dtype


class DType:
    """``torch.float32`` & co. as a name."""

    def __init__(self, name: str) -> None:
        self.name, self.np = name, TORCH_DTYPES[name]


class StorageRef:
    """A storage named by a persistent id: ``numel`` elements of ``dtype`` under ``key``."""

    __slots__ = ("key", "dtype", "numel", "base", "offset")

    def __init__(self, key: str, dtype: np.dtype, numel: int, base: StorageRef | None = None,
                 offset: int = 0) -> None:
        self.key, self.dtype, self.numel, self.base, self.offset = key, dtype, numel, base, offset

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


class TensorRecord:
    """A tensor as the pickle describes it; its data stays on disk until materialised."""

    __slots__ = ("storage", "offset", "shape", "stride", "dtype", "requires_grad", "kind")

    def __init__(self, storage: StorageRef, offset: int, shape: tuple[int, ...],
                 stride: tuple[int, ...], dtype: np.dtype) -> None:
        self.storage, self.offset, self.shape, self.stride, self.dtype = storage, offset, shape, stride, dtype
        self.requires_grad, self.kind = False, "tensor"

    def __wwsetstate__(self, state: Any) -> None:
        pass  # Parameter state (attributes set on it): nothing a state dict needs


def _ints(x: Any, what: str, source: Any) -> tuple[int, ...]:
    if (not isinstance(x, (tuple, list)) or len(x) > 64
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in x)):
        raise SerializationError(source, f"tensor {what} {str(x)[:60]} is not a tuple of non-negative ints")
    return tuple(x)


def _record(source: Any, storage: Any, offset: Any, size: Any, stride: Any, dtype: np.dtype) -> TensorRecord:
    if not isinstance(storage, StorageRef):
        raise SerializationError(source, "tensor rebuilt from something that is not a storage")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise SerializationError(source, f"bad storage offset {offset!r}")
    shape, strides = _ints(size, "size", source), _ints(stride, "stride", source)
    if len(shape) != len(strides):
        raise SerializationError(source, f"size {shape} and stride {strides} differ in length")
    n_elem = storage.nbytes // dtype.itemsize
    if all(shape):
        last = offset + sum((s - 1) * st for s, st in zip(shape, strides))
        if last >= n_elem:
            raise SerializationError(
                source, f"tensor of size {shape}, stride {strides}, offset {offset} reaches element "
                f"{last} of a storage with {n_elem}")
    return TensorRecord(storage, offset, shape, strides, dtype)


def _allowed(source: Any) -> dict[tuple[str, str], Callable[..., Any] | None]:
    def v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
           hooks: Any = None, metadata: Any = None) -> TensorRecord:
        dt = storage.dtype if isinstance(storage, StorageRef) else np.dtype(np.uint8)
        rec = _record(source, storage, offset, size, stride, dt)
        rec.requires_grad = bool(requires_grad)
        return rec

    def v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any,
           dtype: Any, metadata: Any = None) -> TensorRecord:
        if not isinstance(dtype, DType):
            raise SerializationError(source, f"_rebuild_tensor_v3 with dtype {dtype!r}")
        rec = _record(source, storage, offset, size, stride, dtype.np)
        rec.requires_grad = bool(requires_grad)
        return rec

    def parameter(data: Any, requires_grad: Any = True, hooks: Any = None, state: Any = None) -> TensorRecord:
        if not isinstance(data, TensorRecord):
            raise SerializationError(source, "Parameter rebuilt around something that is not a tensor")
        data.kind, data.requires_grad = "parameter", bool(requires_grad)
        return data

    def from_type(func: Any, new_type: Any, args: Any, state: Any) -> Any:
        if not isinstance(func, Allowed) or func.call is None or not isinstance(args, tuple):
            raise SerializationError(source, f"_rebuild_from_type_v2 with {func!r}")
        rec = func.call(*args)
        if isinstance(rec, TensorRecord) and getattr(new_type, "name", "") == "Parameter":
            rec.kind = "parameter"
        return rec

    def ordered_dict(items: Any = ()) -> OrderedDict[Any, Any]:
        if not isinstance(items, (list, tuple)):
            raise SerializationError(source, "OrderedDict built from something that is not a list")
        return OrderedDict(items)

    def encode(text: Any, encoding: Any = "latin1") -> bytes:  # protocol 2's spelling of bytes
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise SerializationError(source, "_codecs.encode with unexpected arguments")
        return text.encode("latin-1")

    def device(*args: Any) -> str:
        return ":".join(str(a) for a in args if isinstance(a, (str, int)))

    def plain(t: type) -> Callable[..., Any]:
        def make(items: Any = ()) -> Any:
            if not isinstance(items, (list, tuple, set, frozenset)):
                raise SerializationError(source, f"{t.__name__} built from {type(items).__name__}")
            return t(items)
        return make

    table: dict[tuple[str, str], Callable[..., Any] | None] = {
        ("collections", "OrderedDict"): ordered_dict,
        ("torch._utils", "_rebuild_tensor_v2"): v2,
        ("torch._utils", "_rebuild_tensor"): v2,
        ("torch._utils", "_rebuild_tensor_v3"): v3,
        ("torch._utils", "_rebuild_parameter"): parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): from_type,
        ("torch.nn.parameter", "Parameter"): None,
        ("torch", "Tensor"): None, ("torch._tensor", "Tensor"): None,
        ("torch", "Size"): plain(tuple), ("torch", "device"): device,
        ("builtins", "set"): plain(set), ("builtins", "frozenset"): plain(frozenset),
        ("builtins", "list"): plain(list), ("builtins", "tuple"): plain(tuple),
        ("__builtin__", "set"): plain(set), ("_codecs", "encode"): encode,
    }
    return table


def make_find_class(source: Any) -> Callable[[str, str], Any]:
    """``find_class`` for PyTorch pickles: our allowlist, or a SerializationError that teaches."""
    table = _allowed(source)

    def find_class(module: str, name: str) -> Any:
        if (module, name) in table:
            return Allowed(module, name, table[(module, name)])
        if module in ("torch", "torch.storage"):
            if name in STORAGE_CLASSES:
                return StorageType(name, STORAGE_CLASSES[name])  # a name, never callable
            if name == "UntypedStorage":
                return StorageType(name, np.dtype(np.uint8))
            if name in TORCH_DTYPES:
                return DType(name)
        if module.startswith("torch.nn.modules") or module.startswith("torch.optim"):
            raise SerializationError(
                source, f"the file pickles a whole object ({module}.{name}); only tensors, state "
                "dicts and plain containers can be read without running code. In PyTorch, save "
                "model.state_dict() instead")
        if module.startswith("torch._utils") and name.startswith("_rebuild_"):
            raise SerializationError(source, f"unsupported tensor kind {name} (sparse, quantized or "
                                     "wrapper-subclass tensors are not supported)")
        raise SerializationError(
            source, f"global '{module}.{name}' is not on the allowlist; weightwise never imports or "
            "calls what a file names")
    return find_class
