"""NumPy ``.npy``/``.npz`` without pickle: a strict header parser and an npz writer.

``numpy.load`` is safe with ``allow_pickle=False`` but its failures are a zoo of exception types
and it trusts declared sizes. Here the header is parsed with ``ast.literal_eval`` (no code), the
dtype must be a plain numeric one (object and structured dtypes are refused), and the declared
shape must match the bytes present before anything is allocated. npz members are read with a
cap on decompressed size. bfloat16/float8 arrays (which ``.npy`` can only call ``V2``/``V1``) are
written as raw bytes plus a ``__dtypes__`` member that names their real dtype.

Example::

    save_npz("w.npz", {"w": np.ones(3, np.float32)})
    load_npz("w.npz")["w"]
"""

from __future__ import annotations

import ast
import os
import struct
import zipfile
from typing import IO, Any, Mapping

import ml_dtypes
import numpy as np

from ._atomic import atomic_write
from .errors import SerializationError

MAGIC = b"\x93NUMPY"
MAX_HEADER = 1 << 16
DTYPES_MEMBER = "__dtypes__"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
               EOFError, ValueError, OSError, struct.error)
_ML = {n: np.dtype(getattr(ml_dtypes, n)) for n in ("bfloat16", "float8_e4m3fn", "float8_e5m2",
                                                   "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu")}


def parse_npy_header(source: Any, head: bytes) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran_order, data offset) of ``.npy`` bytes starting with ``head``."""
    if not head.startswith(MAGIC) or len(head) < 10:
        raise SerializationError(source, "not a .npy file (bad magic)")
    major = head[6]
    if major == 1:
        (n,), start = struct.unpack("<H", head[8:10]), 10
    elif major in (2, 3) and len(head) >= 12:
        (n,), start = struct.unpack("<I", head[8:12]), 12
    else:
        raise SerializationError(source, f"unsupported .npy version {major}")
    if n > MAX_HEADER or len(head) < start + n:
        raise SerializationError(source, f".npy header of {n} bytes is too long or truncated")
    try:
        text = head[start:start + n].decode("utf-8" if major == 3 else "latin-1")
        h = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError) as e:
        raise SerializationError(source, f".npy header is not a Python literal: {e}") from None
    if not isinstance(h, dict) or set(h) != {"descr", "fortran_order", "shape"}:
        raise SerializationError(source, ".npy header must have exactly descr, fortran_order, shape")
    descr, fortran, shape = h["descr"], h["fortran_order"], h["shape"]
    if not isinstance(descr, str):
        raise SerializationError(source, "structured .npy dtypes are not supported")
    try:
        dt = np.dtype(descr)
    except (TypeError, ValueError) as e:
        raise SerializationError(source, f"bad .npy dtype {descr!r}: {e}") from None
    if dt.hasobject:
        raise SerializationError(source, "object arrays need pickle, which is never used; refused")
    if dt.kind not in "biufcVU" or dt.fields is not None or dt.subdtype is not None:
        raise SerializationError(source, f"unsupported .npy dtype {descr!r}")
    if (not isinstance(shape, tuple) or len(shape) > 64 or not isinstance(fortran, bool)
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise SerializationError(source, f"bad .npy shape {shape!r}")
    return dt, shape, fortran, start + n


def _npy_from(source: Any, r: IO[bytes], size: int) -> np.ndarray:
    head = r.read(min(size, 12 + MAX_HEADER))
    dt, shape, fortran, off = parse_npy_header(source, head)
    nbytes = dt.itemsize
    for d in shape:
        nbytes *= d
    if nbytes != size - off:
        raise SerializationError(source, f"shape {shape} of {dt} needs {nbytes} bytes, the file holds {size - off}")
    a = np.empty(shape, dt, order="F" if fortran else "C")
    if nbytes == 0:
        return a
    buf = memoryview(a.reshape(-1, order="A").view(np.uint8))  # type: ignore[arg-type]
    tail = head[off:]
    buf[:len(tail)] = tail
    got = len(tail)
    while got < nbytes:
        k = r.readinto(buf[got:])  # type: ignore[attr-defined]
        if not k:
            raise SerializationError(source, ".npy data is truncated")
        got += k
    return a.astype(dt.newbyteorder("=")) if dt.byteorder == ">" else a


def load_npy(f: str | os.PathLike[str] | IO[bytes]) -> np.ndarray:
    """Read one ``.npy`` file (path or binary file object)."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as r:
            return _npy_from(f, r, os.fstat(r.fileno()).st_size)
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    return _npy_from(f, f, size)


def load_npz(f: str | os.PathLike[str] | IO[bytes], *, max_ratio: int = 64) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz``; compressed members may expand at most ``max_ratio`` times."""
    try:
        with zipfile.ZipFile(f) as zf:
            out: dict[str, np.ndarray] = {}
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name in out:
                    raise SerializationError(f, f"duplicate member {info.filename!r}")
                if info.compress_type != zipfile.ZIP_STORED and \
                        info.file_size > max_ratio * max(info.compress_size, 1) + (1 << 16):
                    raise SerializationError(f, f"member {info.filename!r} expands {info.compress_size} "
                                             f"bytes to {info.file_size}: refused (compression bomb?)")
                with zf.open(info) as r:
                    out[name] = _npy_from(f"{_name(f)}[{info.filename}]", _Capped(r, info.file_size), info.file_size)  # type: ignore[arg-type]
    except SerializationError:
        raise
    except _ZIP_ERRORS as e:
        raise SerializationError(f, f"not a readable .npz archive: {e}") from None
    return _apply_dtypes(f, out)


class NpzFile:
    """An ``.npz`` opened lazily: only the zip directory is read on open.

    ``names()`` comes from the directory; ``header(name)`` reads one member's ``.npy`` header
    (dtype and shape, checked against the member's size); ``read(name)`` reads one array. The
    same limits as :func:`load_npz` apply (compression ratio, declared sizes, numeric dtypes).
    """

    def __init__(self, f: str | os.PathLike[str] | IO[bytes], *, max_ratio: int = 64) -> None:
        self.source, self.max_ratio = f, max_ratio
        try:
            self._zf = zipfile.ZipFile(f)
        except _ZIP_ERRORS as e:
            raise SerializationError(f, f"not a readable .npz archive: {e}") from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in self._zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name in self._infos:
                self.close()
                raise SerializationError(f, f"duplicate member {info.filename!r}")
            self._infos[name] = info
        self._special: dict[str, np.dtype] | None = None

    def names(self) -> list[str]:
        return [n for n in self._infos if n != DTYPES_MEMBER]

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> NpzFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _member(self, name: str, fn: Any) -> Any:
        info = self._infos.get(name)
        if info is None:
            raise KeyError(f"{_name(self.source)}: no array named {name!r}")
        if info.compress_type != zipfile.ZIP_STORED and \
                info.file_size > self.max_ratio * max(info.compress_size, 1) + (1 << 16):
            raise SerializationError(self.source, f"member {info.filename!r} expands {info.compress_size} "
                                     f"bytes to {info.file_size}: refused (compression bomb?)")
        where = f"{_name(self.source)}[{info.filename}]"
        try:
            with self._zf.open(info) as r:
                return fn(where, _Capped(r, info.file_size), info.file_size)
        except SerializationError:
            raise
        except _ZIP_ERRORS as e:
            raise SerializationError(self.source, f"cannot read member {info.filename!r}: {e}") from None

    def _dtypes(self) -> dict[str, np.dtype]:
        if self._special is None:
            table = self._member(DTYPES_MEMBER, _npy_from) if DTYPES_MEMBER in self._infos else None
            self._special = {}
            if table is not None:
                if table.dtype.kind != "U" or table.ndim != 2 or table.shape[1] != 2:
                    raise SerializationError(self.source, f"malformed {DTYPES_MEMBER} member")
                for name, dname in table.tolist():
                    dt = _ML.get(dname)
                    if dt is None or name not in self._infos:
                        raise SerializationError(self.source, f"{DTYPES_MEMBER}: cannot give {name!r} dtype {dname!r}")
                    self._special[name] = dt
        return self._special

    def _real(self, name: str, dt: np.dtype) -> np.dtype:
        special = self._dtypes().get(name)
        if special is None:
            return dt
        if dt.itemsize != special.itemsize:
            raise SerializationError(self.source, f"{DTYPES_MEMBER}: cannot give {name!r} dtype {special.name!r}")
        return special

    def header(self, name: str) -> tuple[np.dtype, tuple[int, ...]]:
        """(dtype, shape) of one member, from its ``.npy`` header only."""
        def parse(where: str, r: Any, size: int) -> tuple[np.dtype, tuple[int, ...]]:
            head = r.read(min(size, 12))  # magic, version, header length: then just the header
            if len(head) >= 10 and head.startswith(MAGIC):
                n = struct.unpack("<H", head[8:10])[0] + 10 if head[6] == 1 else \
                    struct.unpack("<I", head[8:12])[0] + 12 if len(head) == 12 else 0
                if len(head) < n <= 12 + MAX_HEADER:
                    head += r.read(n - len(head))
            dt, shape, _, off = parse_npy_header(where, head)
            nbytes = dt.itemsize
            for d in shape:
                nbytes *= d
            if nbytes != size - off:
                raise SerializationError(where, f"shape {shape} of {dt} needs {nbytes} bytes, the member holds {size - off}")
            return dt.newbyteorder("=") if dt.byteorder == ">" else dt, shape
        dt, shape = self._member(name, parse)
        return self._real(name, dt), shape

    def read(self, name: str) -> np.ndarray:
        """One array (bfloat16/float8 members get their real dtype back)."""
        if name == DTYPES_MEMBER:
            raise KeyError(f"{_name(self.source)}: no array named {name!r}")
        a = self._member(name, _npy_from)
        dt = self._real(name, a.dtype)
        return a if dt == a.dtype else a.view(dt)


def _name(f: Any) -> str:
    return os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<npz>")  # type: ignore[return-value]


class _Capped:
    """A member stream that refuses to yield more than its declared size."""

    def __init__(self, r: IO[bytes], limit: int) -> None:
        self.r, self.left = r, limit

    def read(self, n: int) -> bytes:
        b = self.r.read(min(n, self.left))
        self.left -= len(b)
        return b

    def readinto(self, buf: memoryview) -> int:
        n = min(len(buf), self.left)
        b = self.r.read(n)
        buf[:len(b)] = b
        self.left -= len(b)
        return len(b)


def _apply_dtypes(source: Any, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    table = out.pop(DTYPES_MEMBER, None)
    if table is None:
        return out
    if table.dtype.kind != "U" or table.ndim != 2 or table.shape[1] != 2:
        raise SerializationError(source, f"malformed {DTYPES_MEMBER} member")
    for name, dname in table.tolist():
        dt = _ML.get(dname)
        if dt is None or name not in out or out[name].dtype.itemsize != dt.itemsize:
            raise SerializationError(source, f"{DTYPES_MEMBER}: cannot give {name!r} dtype {dname!r}")
        out[name] = out[name].view(dt)
    return out


def write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray], *, compress: bool = False) -> None:
    """Write ``arrays`` as an ``.npz`` to a binary file (what ``numpy.load`` reads)."""
    special = []
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, "w", mode, allowZip64=True) as zf:
        for name, a in arrays.items():
            if not isinstance(name, str) or name == DTYPES_MEMBER:
                raise ValueError(f"save_npz(): invalid array name {name!r}")
            a = np.asarray(a)
            if a.dtype.hasobject:
                raise TypeError(f"save_npz(): {name!r} is an object array; refused")
            if a.dtype in _ML.values():
                special.append((name, a.dtype.name))
                a = a.view(f"V{a.itemsize}")
            with zf.open(name + ".npy", "w", force_zip64=True) as w:
                np.lib.format.write_array(w, a, allow_pickle=False)
        if special:
            with zf.open(DTYPES_MEMBER + ".npy", "w") as w:
                np.lib.format.write_array(w, np.array(special, dtype=str), allow_pickle=False)


def save_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], *, compress: bool = False,
             fsync: bool = True) -> None:
    """Atomically save a name -> array mapping as ``.npz``."""
    with atomic_write(path, fsync=fsync) as f:
        write_npz(f, arrays, compress=compress)
