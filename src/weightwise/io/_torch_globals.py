"""What a PyTorch pickle may name, mapped to our own code (never to an import).

A state dict needs only: ``OrderedDict``, the ``torch._utils._rebuild_*`` functions, storage
classes and dtypes as *names*, ``Parameter`` as a marker, and a few builtins; training
checkpoints add NumPy scalars (``best_acc`` as ``np.float64``) and numeric arrays (a saved
``np.random.get_state()``), which we build from their bytes with our own NumPy (the ``numpy``
names in the file are only looked up in this table; object, string and record dtypes are refused). Each entry below
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


# NumPy element types a pickled ``numpy.dtype(code, align, copy)`` may name: plain numbers only
# (no objects, strings, records or subarrays, whose pickles carry more than bytes).
NUMPY_CODES = frozenset({"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8",
                         "c8", "c16", "?", "bool"})


class NumpyDType:
    """``numpy.dtype(code, False, True)`` from a pickle, rebuilt by us from the code (+ BUILD state)."""

    __slots__ = ("np", "source")

    def __init__(self, code: Any, align: Any = False, copy: Any = True, *, source: Any = None) -> None:
        if not isinstance(code, str) or code not in NUMPY_CODES or not isinstance(align, bool):
            raise SerializationError(source, f"numpy.dtype{(code, align, copy)!r} is not a plain numeric "
                                     "dtype; only bool, int, uint, float and complex dtypes can be read")
        self.np, self.source = np.dtype(code), source

    def __wwsetstate__(self, state: Any) -> None:
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags) for numeric types
        if (not isinstance(state, tuple) or len(state) != 8 or state[0] not in (3, 4)
                or state[1] not in ("<", ">", "|", "=") or state[2:5] != (None, None, None)
                or state[5:7] != (-1, -1) or state[7] != 0):
            raise SerializationError(self.source, f"unexpected numpy.dtype state {str(state)[:80]}")
        if state[1] in ("<", ">") and self.np.itemsize > 1:
            self.np = self.np.newbyteorder(state[1])


class NumpyArray:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")`` until BUILD gives it its data.

    The state is ``(1, shape, dtype, is_fortran, raw bytes)``; only numeric dtypes (see
    :class:`NumpyDType`) are accepted, and the bytes must be exactly what the shape needs.
    ``array`` holds the result; the unpickled tree keeps this placeholder until materialised.
    """

    __slots__ = ("array", "source")

    def __init__(self, source: Any) -> None:
        self.array: np.ndarray | None = None
        self.source = source

    def __wwsetstate__(self, state: Any) -> None:
        if (self.array is not None or not isinstance(state, tuple) or len(state) != 5 or state[0] != 1
                or not isinstance(state[2], NumpyDType) or not isinstance(state[3], bool)
                or not isinstance(state[4], bytes)):
            raise SerializationError(self.source, "numpy array with an unexpected state (only numeric "
                                     "arrays stored as raw bytes can be read)")
        shape = _ints(state[1], "size", self.source)
        dt = state[2].np
        n = 1
        for d in shape:
            n *= d
        if n * dt.itemsize != len(state[4]):
            raise SerializationError(self.source, f"numpy array of shape {shape} and dtype {dt} needs "
                                     f"{n * dt.itemsize} bytes, the file gives {len(state[4])}")
        a = np.frombuffer(state[4], dt).reshape(shape, order="F" if state[3] else "C")
        self.array = a.astype(dt.newbyteorder("="), copy=True)


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

    def np_dtype(*args: Any) -> NumpyDType:
        return NumpyDType(*args, source=source)

    def np_scalar(dtype: Any, data: Any = None) -> Any:
        """``numpy.core.multiarray.scalar(dtype, bytes)``: e.g. a ``best_acc`` saved as np.float64."""
        if not isinstance(dtype, NumpyDType) or not isinstance(data, bytes):
            raise SerializationError(source, "numpy scalar built from something other than a numeric "
                                     "dtype and its bytes")
        if len(data) != dtype.np.itemsize:
            raise SerializationError(source, f"numpy scalar of dtype {dtype.np} needs {dtype.np.itemsize} "
                                     f"bytes, the file gives {len(data)}")
        return np.frombuffer(data, dtype.np)[0]

    def np_reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> NumpyArray:
        if not (isinstance(cls, Allowed) and cls.name == "ndarray"):
            raise SerializationError(source, f"numpy _reconstruct of {cls!r} (only numpy.ndarray)")
        return NumpyArray(source)

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
        ("numpy", "dtype"): np_dtype, ("numpy", "ndarray"): None,
        ("numpy.core.multiarray", "_reconstruct"): np_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np_reconstruct,
        ("numpy.core.multiarray", "scalar"): np_scalar, ("numpy._core.multiarray", "scalar"): np_scalar,
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
