"""Read PyTorch checkpoints (``torch.save``: zip since 1.6, and the legacy stream) without PyTorch.

The pickle runs on our own interpreter (:mod:`._pickle_vm`) with the allowlist of
:mod:`._torch_globals`, so nothing a file names is imported or called. Storages are read only
when a tensor needs them, each once, so tensors that shared a storage in PyTorch share memory
here too; views keep their offsets and strides. Big-endian files are converted on read.

Example::

    sd = read_torch("model.pt")            # {"0.weight": Tensor, ...}
    with TorchFile("model.pt") as f:       # lazy: names, shapes, dtypes; no data read
        print([(name, r.shape) for name, r in f.records()])
"""

from __future__ import annotations

import mmap as _mmap
import os
import struct
import zipfile
import zlib
from collections import OrderedDict
from typing import IO, Any, Iterator

import numpy as np

from . import _bridge
from ._pickle_vm import MAX_DEPTH, Unpickler
from ._torch_globals import NumpyArray, StorageRef, StorageType, TensorRecord, make_find_class
from .errors import SerializationError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_PICKLE = 1 << 30
MAX_NODES = 10_000_000
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
               EOFError, ValueError, zlib.error, struct.error, OSError, KeyError)


class TorchFile:
    """An open PyTorch checkpoint: ``obj`` holds :class:`TensorRecord` leaves until materialised."""

    def __init__(self, f: str | os.PathLike[str] | IO[bytes], *, mmap: bool = False, verify: bool = True) -> None:
        self.source, self.mmap, self.verify = f, mmap, verify
        self._owned = isinstance(f, (str, os.PathLike))
        self._f: IO[bytes] = open(f, "rb") if self._owned else f  # type: ignore[arg-type,assignment]
        self._storages: dict[str, StorageRef] = {}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self._map: Any = None
        self.big_endian = False
        try:
            self._f.seek(0, os.SEEK_END)
            self.size = self._f.tell()
            self._f.seek(0)
            head = self._f.read(4)
            if head == b"PK\x03\x04":
                self.format = "torch-zip"
                self.obj = self._open_zip()
            else:
                self.format = "torch-legacy"
                self.obj = self._open_legacy()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> TorchFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._f.close()

    def fail(self, why: str) -> SerializationError:
        return SerializationError(self.source, why)

    def _mapping(self, access: int) -> Any:
        if self._map is None and self._owned and self.size:
            self._map = _mmap.mmap(self._f.fileno(), 0, access=access)
        return self._map

    # -- persistent ids: ('storage', StorageType, key, location, numel[, view_metadata]) ----------
    def _persistent_load(self, pid: Any) -> StorageRef:
        if (not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage"
                or not isinstance(pid[1], StorageType) or not isinstance(pid[2], str)
                or not isinstance(pid[4], int) or isinstance(pid[4], bool) or pid[4] < 0):
            raise self.fail(f"malformed storage reference {str(pid)[:80]}")
        _, stype, key, _location, numel = pid[:5]
        ref = self._storages.get(key)
        if ref is None:
            ref = self._storages[key] = StorageRef(key, stype.dtype, numel)
        elif ref.dtype != stype.dtype or ref.numel != numel:
            raise self.fail(f"storage {key!r} is declared twice with different types or sizes")
        view = pid[5] if len(pid) == 6 else None
        if view is not None:  # legacy storage views: (view_key, offset, size) in elements
            if (not isinstance(view, tuple) or len(view) != 3 or not isinstance(view[0], str)
                    or not all(isinstance(v, int) and v >= 0 for v in view[1:])
                    or view[1] + view[2] > numel):
                raise self.fail(f"malformed storage view {str(view)[:80]}")
            return StorageRef(view[0], stype.dtype, view[2], ref, view[1])
        return ref

    def _unpickle(self, data: Any, pos: int = 0, persistent: bool = True) -> tuple[Any, int]:
        u = Unpickler(data, self.source, make_find_class(self.source),
                      self._persistent_load if persistent else None, pos)
        obj = u.load()
        return obj, u.pos

    # -- zip ---------------------------------------------------------------------------------------
    def _open_zip(self) -> Any:
        try:
            self._zip = zipfile.ZipFile(self._f)
            names = self._zip.namelist()
        except _ZIP_ERRORS as e:
            raise self.fail(f"not a readable zip archive: {e}") from None
        pkls = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            if any(n.endswith("/constants.pkl") or n.endswith(".npy") for n in names):
                pass
            raise self.fail(f"zip archive has {len(pkls)} top-level data.pkl records (expected 1)")
        self._prefix = pkls[0][: -len("data.pkl")]
        if any(n.startswith(self._prefix + "code/") or n == self._prefix + "constants.pkl" for n in names):
            raise self.fail("this is a TorchScript archive (torch.jit.save); it holds code, which "
                            "weightwise never runs. In PyTorch, save model.state_dict() with torch.save")
        order = self._entry(self._prefix + "byteorder", 16, optional=True)
        if order not in (None, b"little", b"big"):
            raise self.fail(f"unknown byteorder record {order[:16]!r}")
        self.big_endian = order == b"big"
        data = self._entry(self._prefix + "data.pkl", MAX_PICKLE)
        return self._unpickle(data)[0]

    def _entry(self, name: str, cap: int, optional: bool = False) -> bytes | None:
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            if optional:
                return None
            raise self.fail(f"missing record {name!r}") from None
        if info.file_size > cap:
            raise self.fail(f"record {name!r} declares {info.file_size} bytes (limit {cap})")
        try:
            with self._zip.open(info) as r:
                data = r.read(cap + 1)
        except _ZIP_ERRORS as e:
            raise self.fail(f"cannot read record {name!r}: {e}") from None
        if len(data) != info.file_size:
            raise self.fail(f"record {name!r} holds {len(data)} bytes, declared {info.file_size}")
        return data

    def _zip_storage(self, key: str, nbytes: int) -> np.ndarray:
        name = f"{self._prefix}data/{key}"
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise self.fail(f"missing record {name!r} for storage {key!r}") from None
        if info.file_size != nbytes:
            raise self.fail(f"record {name!r} holds {info.file_size} bytes, the storage needs {nbytes}")
        if info.compress_type != zipfile.ZIP_STORED:
            # Compressed storages (never written by torch.save): the ratio is capped so that a
            # few kilobytes cannot demand gigabytes.
            if nbytes > 64 * max(info.compress_size, 1) + (1 << 20):
                raise self.fail(f"record {name!r} expands {info.compress_size} bytes to {nbytes}: refused")
            raw = self._entry(name, nbytes)
            return np.frombuffer(bytearray(raw or b""), np.uint8)
        self._f.seek(info.header_offset)
        local = self._f.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise self.fail(f"bad local header for record {name!r}")
        n, e = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + n + e
        if start + nbytes > self.size:
            raise self.fail(f"record {name!r} runs past the end of the file")
        if self.mmap and nbytes and self._mapping(_mmap.ACCESS_COPY) is not None:
            arr = np.frombuffer(self._map, np.uint8, nbytes, start)
        else:
            arr = np.empty(nbytes, np.uint8)
            self._f.seek(start)
            if self._f.readinto(memoryview(arr)) != nbytes:  # type: ignore[attr-defined,arg-type]
                raise self.fail(f"record {name!r} is truncated")
            if self.verify and zlib.crc32(arr) != info.CRC:  # type: ignore[arg-type]
                raise self.fail(f"record {name!r} is corrupted (CRC-32 mismatch)")
        return arr

    # -- legacy ------------------------------------------------------------------------------------
    def _open_legacy(self) -> Any:
        head = self._f.read(512)
        if len(head) >= 262 and head[257:262] == b"ustar":
            raise self.fail("this is PyTorch's pre-0.4 tar format, which is not supported")
        data = self._mapping(_mmap.ACCESS_COPY if self.mmap else _mmap.ACCESS_READ)
        if data is None:
            self._f.seek(0)
            data = self._f.read()
        self._data = data
        if not data[:2] == b"\x80\x02":
            raise self.fail("unrecognised format (not safetensors, zip, NumPy or a PyTorch pickle)")
        magic, pos = self._unpickle(data, 0, persistent=False)
        if magic != LEGACY_MAGIC:
            raise self.fail("pickle stream is not a PyTorch checkpoint (wrong magic number); "
                            "weightwise does not unpickle arbitrary objects")
        proto, pos = self._unpickle(data, pos, persistent=False)
        info, pos = self._unpickle(data, pos, persistent=False)
        if proto != 1001 or not isinstance(info, dict):
            raise self.fail(f"unsupported legacy protocol {proto!r}")
        self.big_endian = info.get("little_endian", True) is False
        obj, pos = self._unpickle(data, pos)
        keys, pos = self._unpickle(data, pos, persistent=False)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise self.fail("malformed storage key list")
        self._legacy_at: dict[str, int] = {}
        fmt = ">q" if self.big_endian else "<q"
        for key in keys:
            ref = self._storages.get(key)
            if ref is None:
                raise self.fail(f"storage {key!r} in the key list was never referenced")
            if pos + 8 > len(data):
                raise self.fail(f"file ends before storage {key!r}")
            (numel,) = struct.unpack(fmt, data[pos:pos + 8])
            if numel != ref.numel:
                raise self.fail(f"storage {key!r} holds {numel} elements, its reference says {ref.numel}")
            self._legacy_at[key] = pos + 8
            pos += 8 + ref.nbytes
            if pos > len(data):
                raise self.fail(f"storage {key!r} runs past the end of the file (truncated?)")
        missing = set(self._storages) - set(self._legacy_at)
        if missing:
            raise self.fail(f"missing records for storages {sorted(missing)[:5]}")
        return obj

    def _legacy_storage(self, key: str, nbytes: int) -> np.ndarray:
        start = self._legacy_at[key]
        view = np.frombuffer(self._data, np.uint8, nbytes, start) if nbytes else np.empty(0, np.uint8)
        return view if self.mmap else view.copy()

    # -- tensors -------------------------------------------------------------------------------------
    def _storage(self, ref: StorageRef, dtype: np.dtype) -> np.ndarray:
        """The storage as a 1-D array of ``dtype``; read once per (storage, dtype)."""
        root = ref.base or ref
        ck = (root.key, dtype.str)
        arr = self._cache.get(ck)
        if arr is None:
            raw = (self._zip_storage if self.format == "torch-zip" else self._legacy_storage)(root.key, root.nbytes)
            if raw.nbytes % dtype.itemsize:
                raise self.fail(f"storage {root.key!r} of {raw.nbytes} bytes is not a whole number of {dtype}")
            arr = raw.view(dtype)
            if self.big_endian and dtype.itemsize > 1:
                arr = raw.view(dtype.newbyteorder(">")).astype(dtype)
            self._cache[ck] = arr
        if ref.base is not None:
            arr = arr[ref.offset:ref.offset + ref.numel]
        return arr

    def array(self, rec: TensorRecord) -> np.ndarray:
        """The ndarray of one record: a view into its storage (zero-copy where possible)."""
        storage = self._storage(rec.storage, rec.dtype)
        if not all(rec.shape):
            return np.empty(rec.shape, rec.dtype)
        item = rec.dtype.itemsize
        # as_strided goes through __array_interface__, which ml_dtypes types cannot describe:
        # stride a same-width plain view, then reinterpret.
        plain = storage[rec.offset:].view(np.dtype(f"u{item}") if item in (1, 2, 4, 8) else f"V{item}")
        overlap = _overlaps(rec.shape, rec.stride)
        view = np.lib.stride_tricks.as_strided(
            plain, rec.shape, tuple(s * item for s in rec.stride), writeable=not overlap).view(rec.dtype)
        return view.copy() if overlap else view  # expanded tensors (stride 0) get their own memory

    def records(self) -> Iterator[tuple[str, TensorRecord]]:
        """(dotted name, record) for every tensor leaf, without reading any data."""
        yield from walk_records(self.obj, self.source)

    def materialize(self, wrap: bool = True) -> Any:
        """The checkpoint with every record replaced by a Tensor (or ndarray with ``wrap=False``)."""
        memo: dict[int, Any] = {}
        if wrap:  # refuse dtypes Tensors lack before reading any data
            for name, rec in self.records():
                if not _bridge.supported(rec.dtype):
                    _bridge.wrap(np.empty(0, rec.dtype), name=name, source=self.source)  # raises

        def leaf(rec: TensorRecord) -> Any:
            a = self.array(rec)
            return _bridge.wrap(a, rec.kind, rec.requires_grad) if wrap else a
        return _rebuild(self.obj, leaf, memo, 0, self.source, [0])


def _overlaps(shape: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    span = 1
    for s, st in sorted(zip(shape, stride), key=lambda p: p[1]):
        if s > 1 and st < span:
            return True
        span = max(span, st * (s - 1) + 1) if s > 1 else span
    return False


def _rebuild(x: Any, leaf: Any, memo: dict[int, Any], depth: int, source: Any, count: list[int]) -> Any:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_NODES:
        raise SerializationError(source, f"structure nested deeper than {MAX_DEPTH} or larger than {MAX_NODES} nodes")
    if id(x) in memo:
        return memo[id(x)]
    if isinstance(x, TensorRecord):
        memo[id(x)] = out = leaf(x)
        return out
    if isinstance(x, NumpyArray):
        if x.array is None:
            raise SerializationError(source, "numpy array without its data (no BUILD)")
        memo[id(x)] = x.array
        return x.array
    if isinstance(x, dict):
        d: dict[Any, Any] = OrderedDict() if isinstance(x, OrderedDict) else {}
        memo[id(x)] = d
        for k, v in x.items():
            d[k] = _rebuild(v, leaf, memo, depth + 1, source, count)
        if "_metadata" in getattr(x, "__dict__", {}):
            d._metadata = x._metadata  # type: ignore[attr-defined]
        return d
    if isinstance(x, list):
        lst: list[Any] = []
        memo[id(x)] = lst
        lst.extend(_rebuild(v, leaf, memo, depth + 1, source, count) for v in x)
        return lst
    if isinstance(x, tuple):
        return tuple(_rebuild(v, leaf, memo, depth + 1, source, count) for v in x)
    return x


def walk_records(obj: Any, source: Any = None) -> Iterator[tuple[str, TensorRecord]]:
    """Dotted names of the tensor leaves of an unpickled object, in order (each object once)."""
    seen: set[int] = set()
    stack: list[tuple[str, Any, int]] = [("", obj, 0)]
    while stack:
        path, x, depth = stack.pop()
        if depth > MAX_DEPTH or len(seen) > MAX_NODES:
            raise SerializationError(source, "structure too deep or too large")
        if isinstance(x, TensorRecord):
            yield (path or "tensor"), x
            continue
        if id(x) in seen or not isinstance(x, (dict, list, tuple)):
            continue
        seen.add(id(x))
        items = list(x.items()) if isinstance(x, dict) else list(enumerate(x))
        for k, v in reversed(items):
            stack.append((f"{path}.{k}" if path else str(k), v, depth + 1))


def read_torch(f: str | os.PathLike[str] | IO[bytes], *, mmap: bool = False, verify: bool = True) -> Any:
    """Load a ``torch.save`` file: the object it holds, with weightwise Tensors for tensors."""
    with TorchFile(f, mmap=mmap, verify=verify) as tf:
        return tf.materialize()
