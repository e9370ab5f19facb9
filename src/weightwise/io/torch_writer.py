"""Write PyTorch's zip checkpoint format, readable by ``torch.load(weights_only=True)``.

For users who must hand a ``.pt`` to a PyTorch-only tool. The pickle is emitted opcode by
opcode (protocol 2, as ``torch.save`` does) naming only what PyTorch's weights-only unpickler
allows: ``_rebuild_tensor_v2``/``_v3``, ``_rebuild_parameter``, storage classes, dtypes,
``OrderedDict`` and ``_codecs.encode``. Tensors that are views of one array share one storage,
with their offsets and strides; the same tensor object twice is pickled once (memo). Records are
stored uncompressed and aligned to 64 bytes, so PyTorch can memory-map them.

Example::

    write_torch({"weight": w, "bias": b}, "model.pt")   # torch.load("model.pt") works
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from . import _bridge
from ._atomic import atomic_write
from ._dtypes import to_little_endian, torch_storage_class

_TORCH_NAME = {v: k for k, v in reversed(list({
    "float32": "<f4", "float64": "<f8", "float16": "<f2", "int64": "<i8", "int32": "<i4",
    "int16": "<i2", "int8": "|i1", "uint8": "|u1", "bool": "|b1", "uint16": "<u2",
    "uint32": "<u4", "uint64": "<u8", "complex64": "<c8", "complex128": "<c16"}.items()))}


def _torch_dtype_name(dt: np.dtype) -> str:
    name = _TORCH_NAME.get(dt.str)
    if name is None and dt.name in ("bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
                                    "float8_e5m2fnuz", "float8_e8m0fnu"):
        name = dt.name
    if name is None:
        raise TypeError(f"write_torch(): PyTorch has no dtype for {dt}")
    return name


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class _Pickler:
    def __init__(self) -> None:
        self.out: list[bytes] = [b"\x80\x02"]
        self.storages: dict[int, tuple[str, np.ndarray]] = {}   # id(root) -> (key, root)
        self.memo: dict[int, int] = {}
        self.keep: list[Any] = []  # ids in memo must stay valid while pickling

    def w(self, *parts: bytes) -> None:
        self.out.extend(parts)

    def glob(self, module: str, name: str) -> None:
        self.w(b"c", module.encode(), b"\n", name.encode(), b"\n")

    def str_(self, s: str) -> None:
        b = s.encode("utf-8", "surrogatepass")
        self.w(b"X", struct.pack("<I", len(b)), b)

    def int_(self, i: int) -> None:
        if 0 <= i < 256:
            self.w(b"K", bytes([i]))
        elif 0 <= i < 65536:
            self.w(b"M", struct.pack("<H", i))
        elif -(2 ** 31) <= i < 2 ** 31:
            self.w(b"J", struct.pack("<i", i))
        else:
            b = i.to_bytes((i.bit_length() + 8) // 8, "little", signed=True)
            self.w(b"\x8a", bytes([len(b)]), b)

    def empty_odict(self) -> None:
        self.glob("collections", "OrderedDict")
        self.w(b")R")

    def obj(self, x: Any, path: str = "") -> None:
        a = _bridge.as_array(x)
        if a is not None:
            return self.tensor(x, a)
        if x is None:
            self.w(b"N")
        elif isinstance(x, bool):
            self.w(b"\x88" if x else b"\x89")
        elif isinstance(x, int):
            self.int_(x)
        elif isinstance(x, float):
            self.w(b"G", struct.pack(">d", x))
        elif isinstance(x, str):
            self.str_(x)
        elif isinstance(x, np.generic):
            self.obj(x.item(), path)
        elif isinstance(x, (bytes, bytearray)):
            self.glob("_codecs", "encode")
            self.str_(bytes(x).decode("latin-1"))
            self.str_("latin1")
            self.w(b"\x86R")
        elif isinstance(x, list):
            self.w(b"](")
            for v in x:
                self.obj(v, path)
            self.w(b"e")
        elif isinstance(x, tuple):
            self.w(b"(")
            for v in x:
                self.obj(v, path)
            self.w(b"t")
        elif isinstance(x, dict):
            self.dict_(x, path)
        else:
            raise TypeError(f"write_torch(): cannot store {type(x).__name__} at {path or '<root>'}")

    def dict_(self, x: dict[Any, Any], path: str) -> None:
        if isinstance(x, OrderedDict):
            self.empty_odict()
        else:
            self.w(b"}")
        self.w(b"(")
        for k, v in x.items():
            self.obj(k, path)
            self.obj(v, f"{path}.{k}" if path else str(k))
        self.w(b"u")
        meta = getattr(x, "_metadata", None)
        if isinstance(x, OrderedDict) and meta is not None:
            self.w(b"}(")
            self.str_("_metadata")
            self.obj(meta, path)
            self.w(b"ub")

    def tensor(self, x: Any, a: np.ndarray) -> None:
        if id(x) in self.memo:
            self.w(b"j", struct.pack("<I", self.memo[id(x)]))
            return
        param = _bridge.is_parameter(x)
        if param:
            self.glob("torch._utils", "_rebuild_parameter")
            self.w(b"(")
        self.raw_tensor(a, _bridge.requires_grad(x) and not param)
        if param:
            self.w(b"\x88" if _bridge.requires_grad(x) else b"\x89")
            self.empty_odict()
            self.w(b"tR")
        self.memo[id(x)] = idx = len(self.memo)
        self.keep.append(x)
        self.w(b"r", struct.pack("<I", idx))

    def raw_tensor(self, a: np.ndarray, requires_grad: bool) -> None:
        a = to_little_endian(a)
        item, root = a.itemsize, _root(a)
        delta = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        shareable = (root.dtype == a.dtype and root.flags.c_contiguous and a.size > 0
                     and delta % item == 0 and all(s >= 0 and s % item == 0 for s in a.strides))
        if not shareable:
            root, delta = np.ascontiguousarray(a), 0
            strides = tuple(s // item for s in root.strides) if root.size else (1,) * a.ndim
        else:
            strides = tuple(s // item for s in a.strides)
        key, _ = self.storages.setdefault(id(root), (str(len(self.storages)), root))
        typed = True
        try:
            storage_class = torch_storage_class(a.dtype)
        except TypeError:
            typed = False  # float8 & co.: an untyped (byte) storage plus an explicit dtype
        self.glob("torch._utils", "_rebuild_tensor_v2" if typed else "_rebuild_tensor_v3")
        self.w(b"((")
        self.str_("storage")
        if typed:
            self.glob("torch", storage_class)
        else:
            self.glob("torch.storage", "UntypedStorage")
        self.str_(key)
        self.str_("cpu")
        self.int_(root.size if typed else root.nbytes)
        self.w(b"tQ")
        self.int_(delta // item)
        self.obj(tuple(a.shape))
        self.obj(strides)
        self.w(b"\x88" if requires_grad else b"\x89")
        self.empty_odict()
        if not typed:
            self.glob("torch", _torch_dtype_name(a.dtype))
        self.w(b"tR")


def _write_record(zf: zipfile.ZipFile, name: str, data: Any, align: int = 64) -> None:
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    zi.file_size = len(view)
    offset = zf.fp.tell()  # type: ignore[union-attr]
    zip64 = len(view) * 1.05 > zipfile.ZIP64_LIMIT
    base = offset + 30 + len(name.encode()) + 4 + (20 if zip64 else 0)
    pad = -base % align
    zi.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad  # the padding field torch.save uses
    with zf.open(zi, "w", force_zip64=zip64) as w:
        w.write(view)


def write(f: IO[bytes], obj: Any, archive: str = "archive") -> None:
    """Write ``obj`` as a ``torch.save`` zip archive to the binary file ``f``."""
    p = _Pickler()
    p.obj(obj)
    p.w(b".")
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_record(zf, f"{archive}/data.pkl", b"".join(p.out))
        _write_record(zf, f"{archive}/byteorder", b"little")
        for key, root in p.storages.values():
            flat = root.reshape(-1).view(np.uint8) if root.size else np.empty(0, np.uint8)
            _write_record(zf, f"{archive}/data/{key}", flat)
        _write_record(zf, f"{archive}/version", b"3\n")


def write_torch(obj: Any, path: str | os.PathLike[str] | IO[bytes], *, fsync: bool = True) -> None:
    """Atomically save ``obj`` (tensors, Parameters, state dicts, plain containers) as a ``.pt``."""
    if isinstance(path, (str, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fspath(path)))[0] or "archive"
        with atomic_write(path, fsync=fsync) as f:
            write(f, obj, "".join(c if c.isalnum() or c in "_-" else "_" for c in stem) or "archive")
    else:
        write(path, obj)


