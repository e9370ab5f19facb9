"""The safetensors format: a strict reader (eager, lazy, memory-mapped) and the reference layout.

Layout: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON (padded with spaces to a
multiple of 8), then the raw little-endian tensor bytes. Every declared size is checked against
the bytes present *before* anything is allocated, so no file can make us allocate more than its
own size. Tensors are laid out as the reference writer does (by dtype, widest first, then name),
which keeps every tensor aligned to its element size and so readable zero-copy from a mapping.

weightwise adds an optional per-tensor content hash in ``__metadata__["weightwise.hashes"]``
(JSON ``{"algo": "crc32", "tensors": {name: hexdigest}}``), checked on load unless
``verify=False``. Other readers ignore it.

The default algorithm is CRC-32 (``zlib.crc32``, 8 hex digits): it exists to catch corruption
(bit rot, truncation, a bad copy), finds every burst of up to 32 flipped bits and misses random
damage with probability 2**-32 per tensor, and runs at several GB/s, so a save stays at the speed
of the disk. A cryptographic digest in the same file would add no protection against deliberate
tampering (whoever rewrites the data can rewrite the digest), so it is not worth the CPU by
default; ``hash_algo="sha256"`` (or ``"sha1"``, ``"blake2b"``, ``"md5"``) is still available and
the reader checks whichever algorithm the file names.

For large saves a helper thread hashes each tensor while the main thread writes it (``zlib.crc32``
releases the GIL), and on Linux the kernel is asked (``sync_file_range``, from a second helper
thread, since the call waits while the device queue is full) to start writing back every 8 MiB,
so the disk works while we write and hash and the final fsync waits only for the tail. With no
idle core the hash still costs its CPU time: about 65 ms per 256 MiB for CRC-32, 150 ms for
SHA-256 (with SHA extensions).

Example::

    save_file({"w": np.ones((2, 3), np.float32)}, "m.safetensors")
    with safe_open("m.safetensors", mmap=True) as f:
        w = f.get_tensor("w")          # (2, 3) float32, memory-mapped
"""

from __future__ import annotations

import hashlib
import io
import json
import mmap as _mmap
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Iterator, Mapping, NamedTuple

import numpy as np

from ._atomic import atomic_write
from ._dtypes import SAFETENSORS_DTYPES, ST_RANK, safetensors_code, to_little_endian
from .errors import SerializationError, describe

MAX_HEADER = 100_000_000  # the reference implementation's limit
HASH_KEY = "weightwise.hashes"
HASH_ALGOS = ("crc32", "sha256", "sha1", "blake2b", "md5")
DEFAULT_HASH = "crc32"
_CHUNK = 1 << 20  # write (with early writeback) and read+hash in pieces that stay in the CPU cache
_WRITEBACK = 8 << 20  # ask the kernel to start writing back after this many new bytes
_OVERLAP_BYTES = 16 << 20  # below this, a helper thread for hashing costs more than it saves

__all__ = ["TensorInfo", "Header", "read_header", "save", "save_file", "load", "load_file",
           "safe_open", "SerializationError"]


class TensorInfo(NamedTuple):
    """One header entry; ``begin``/``end`` are relative to the start of the data section."""

    name: str
    code: str
    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int
    end: int


class Header(NamedTuple):
    """A validated header: user metadata, tensors in file order, where data starts."""

    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]
    data_start: int


def _no_duplicates(source: Any) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise SerializationError(source, f"header has duplicate key {k!r}")
            out[k] = v
        return out
    return hook


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _entry(source: Any, name: str, spec: Any) -> TensorInfo:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise SerializationError(source, f"tensor {name!r}: entry must have exactly dtype, shape, data_offsets")
    code, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if not isinstance(code, str) or code not in SAFETENSORS_DTYPES:
        raise SerializationError(source, f"tensor {name!r}: unsupported dtype {code!r}")
    if not isinstance(shape, list) or len(shape) > 64 or not all(_is_int(d) and d >= 0 for d in shape):
        raise SerializationError(source, f"tensor {name!r}: invalid shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise SerializationError(source, f"tensor {name!r}: invalid data_offsets {offsets!r}")
    dt = SAFETENSORS_DTYPES[code]
    nbytes = dt.itemsize
    for d in shape:
        nbytes *= d
    if nbytes >= 1 << 63:
        raise SerializationError(source, f"tensor {name!r}: shape {shape} overflows")
    if nbytes != offsets[1] - offsets[0]:
        raise SerializationError(
            source, f"tensor {name!r}: shape {shape} of {code} needs {nbytes} bytes but data_offsets "
            f"{offsets} span {offsets[1] - offsets[0]}")
    return TensorInfo(name, code, dt, tuple(shape), offsets[0], offsets[1])


def parse_header(source: Any, prefix: bytes, file_size: int) -> Header:
    """Validate the header bytes ``prefix`` (8-byte length + JSON) of a file of ``file_size`` bytes."""
    if file_size < 8 or len(prefix) < 8:
        raise SerializationError(source, f"file too short for a safetensors header ({file_size} bytes)")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > MAX_HEADER:
        raise SerializationError(source, f"header length {n} exceeds the {MAX_HEADER}-byte limit")
    if n > file_size - 8 or len(prefix) < 8 + n:
        raise SerializationError(source, f"header length {n} runs past the end of the file ({file_size} bytes)")
    raw = prefix[8:8 + n]
    if not raw.startswith(b"{"):
        raise SerializationError(source, "header is not a JSON object (must start with '{')")
    try:
        obj = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates(source))
    except SerializationError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SerializationError(source, f"header is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise SerializationError(source, "header is not a JSON object")
    meta = obj.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise SerializationError(source, "__metadata__ must map strings to strings")
    infos = sorted((_entry(source, k, v) for k, v in obj.items()), key=lambda t: (t.begin, t.end))
    pos = 0
    for t in infos:
        if t.begin != pos:
            kind = "overlaps the previous tensor" if t.begin < pos else f"leaves a gap of {t.begin - pos} bytes"
            raise SerializationError(source, f"tensor {t.name!r} at data_offsets [{t.begin}, {t.end}] {kind}")
        pos = t.end
    data_size = file_size - 8 - n
    if pos > data_size:
        raise SerializationError(source, f"tensor data needs {pos} bytes but the file holds {data_size} (truncated?)")
    if pos < data_size:
        raise SerializationError(source, f"{data_size - pos} trailing bytes after the last tensor")
    return Header(meta, {t.name: t for t in infos}, 8 + n)


def _read_exact(f: IO[bytes], pos: int, buf: memoryview, source: Any) -> None:
    f.seek(pos)
    got = 0
    while got < len(buf):
        k = f.readinto(buf[got:])  # type: ignore[attr-defined]
        if not k:
            raise SerializationError(source, f"file ended early while reading {len(buf)} bytes at {pos}")
        got += k


def read_header(f: IO[bytes], source: Any = None) -> Header:
    """Read and validate the header of an open, seekable binary file."""
    source = f if source is None else source
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    head = f.read(8)
    if len(head) < 8:
        raise SerializationError(source, f"file too short for a safetensors header ({size} bytes)")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER or n > size - 8:
        return parse_header(source, head, size)  # raises with the precise reason
    return parse_header(source, head + f.read(n), size)


def _hashes(source: Any, meta: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    raw = meta.get(HASH_KEY)
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
        algo, table = obj["algo"], obj["tensors"]
        ok = algo in HASH_ALGOS and isinstance(table, dict) and all(isinstance(v, str) for v in table.values())
    except (ValueError, KeyError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise SerializationError(source, f"malformed {HASH_KEY} metadata")
    return algo, table


class _Crc32:
    """``hashlib``-style wrapper of ``zlib.crc32`` (which releases the GIL on large buffers)."""

    digest_size = 4

    def __init__(self, data: Any = b"") -> None:
        self._v = zlib.crc32(data)

    def update(self, data: Any) -> None:
        self._v = zlib.crc32(data, self._v)

    def hexdigest(self) -> str:
        return f"{self._v:08x}"


def _hasher(algo: str, data: Any = b"") -> Any:
    return _Crc32(data) if algo == "crc32" else hashlib.new(algo, data)


def _digest(algo: str, buf: Any) -> str:
    h = _hasher(algo)
    for i in range(0, len(buf), _CHUNK):
        h.update(buf[i:i + _CHUNK])
    return h.hexdigest()  # type: ignore[no-any-return]


def _writeback_starter(f: Any) -> Any:
    """A function ``start(begin, length)`` that starts asynchronous writeback of a file range.

    Linux only (``sync_file_range(SYNC_FILE_RANGE_WRITE)``, looked up in the C library already
    loaded into the process); elsewhere, or for files without a descriptor, ``None``.
    """
    if _WRITEBACK <= 0 or not hasattr(os, "sched_getaffinity"):  # off, or not Linux
        return None
    try:
        fd = f.fileno()
        fn = _libc_sync_file_range()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    if fn is None:
        return None

    def start(begin: int, length: int) -> None:
        fn(fd, begin, length, 2)  # SYNC_FILE_RANGE_WRITE; errors are harmless (fsync follows)
    return start


_SFR: list[Any] = []


def _libc_sync_file_range() -> Any:
    if not _SFR:
        try:
            import ctypes
            fn = ctypes.CDLL(None, use_errno=True).sync_file_range
            fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
            fn.restype = ctypes.c_int
            _SFR.append(fn)
        except (ImportError, OSError, AttributeError):
            _SFR.append(None)
    return _SFR[0]


def _byte_view(a: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous array (ml_dtypes arrays cannot export a typed buffer)."""
    return memoryview(a.reshape(-1).view(np.uint8))  # type: ignore[arg-type]


class safe_open:
    """Lazy, per-tensor access to a safetensors file (the ``safetensors.safe_open`` interface).

    Only the header is read on open. ``get_tensor`` reads one tensor (or maps it, with
    ``mmap=True``: zero-copy, copy-on-write, so writes never reach the file) and checks its
    content hash when the file has one and ``verify`` is true.
    """

    def __init__(self, filename: str | os.PathLike[str] | IO[bytes], framework: str = "np", *,
                 mmap: bool = False, verify: bool = True) -> None:
        self._source = filename
        if isinstance(filename, (str, os.PathLike)):
            self._f: IO[bytes] = open(filename, "rb")
            self._owned = True
        else:
            self._f, self._owned = filename, False
        try:
            self.header = read_header(self._f, filename)
            self._hashes = _hashes(filename, self.header.metadata)
            self._map: Any = None
            if mmap and self._owned and self.header.data_start < os.fstat(self._f.fileno()).st_size:
                self._map = _mmap.mmap(self._f.fileno(), 0, access=_mmap.ACCESS_COPY)
        except BaseException:
            self.close()
            raise
        self.verify = verify

    def __enter__(self) -> safe_open:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # The mapping is left to the garbage collector: arrays handed out may still use it.
        if self._owned:
            self._f.close()

    def keys(self) -> list[str]:
        """Tensor names in file order."""
        return list(self.header.tensors)

    def metadata(self) -> dict[str, str]:
        return dict(self.header.metadata)

    def info(self, name: str) -> TensorInfo:
        try:
            return self.header.tensors[name]
        except KeyError:
            raise KeyError(f"safe_open: no tensor named {name!r} in {describe(self._source)}") from None

    def _expected(self, name: str) -> str | None:
        if not self.verify or self._hashes is None:
            return None
        algo, table = self._hashes
        if name not in table:
            raise SerializationError(self._source, f"no content hash recorded for tensor {name!r}")
        return table[name]

    def _check(self, name: str, got: str) -> None:
        want = self._expected(name)
        if want is not None and got != want:
            raise SerializationError(self._source, f"tensor {name!r} is corrupted: content hash mismatch")

    def _raw(self, t: TensorInfo, h: Any = None) -> np.ndarray:
        """Read (or map) one tensor; with a hasher ``h``, hash each 1 MiB piece right after reading it."""
        pos = self.header.data_start + t.begin
        count = (t.end - t.begin) // t.dtype.itemsize
        if self._map is not None and pos % t.dtype.alignment == 0 and count:
            a = np.frombuffer(self._map, t.dtype, count, pos).reshape(t.shape)
            if h is not None:
                buf = _byte_view(a)
                for i in range(0, len(buf), _CHUNK):
                    h.update(buf[i:i + _CHUNK])
            return a
        a = np.empty(t.shape, t.dtype)
        if count:
            buf = _byte_view(a)
            if h is None:
                _read_exact(self._f, pos, buf, self._source)
            else:
                for i in range(0, len(buf), _CHUNK):
                    piece = buf[i:i + _CHUNK]
                    _read_exact(self._f, pos + i, piece, self._source)
                    h.update(piece)
        return a

    def get_tensor(self, name: str) -> np.ndarray:
        """The array called ``name``: shape and dtype from the header; checked against its hash."""
        t = self.info(name)
        if self._expected(name) is None:
            return self._raw(t)
        h = _hasher(self._hashes[0])  # type: ignore[index]
        a = self._raw(t, h)
        self._check(name, h.hexdigest())
        return a

    def tensors(self) -> Iterator[tuple[str, np.ndarray]]:
        """All tensors in file order, each hash-checked before it is handed out.

        For large files a helper thread hashes one tensor while the next is read (``zlib.crc32``
        and ``hashlib`` release the GIL on large buffers); otherwise each tensor is read and
        hashed piece by piece while the piece is still in the CPU cache.
        """
        infos = list(self.header.tensors.values())
        if (self.verify and self._hashes is not None
                and sum(t.end - t.begin for t in infos) >= _OVERLAP_BYTES):
            yield from self._tensors_overlapped(infos)
            return
        for t in infos:
            yield t.name, self.get_tensor(t.name)

    def _tensors_overlapped(self, infos: list[TensorInfo]) -> Iterator[tuple[str, np.ndarray]]:
        algo = self._hashes[0]  # type: ignore[index]
        with ThreadPoolExecutor(1) as pool:
            prev: tuple[str, np.ndarray, Any] | None = None
            for t in infos:
                a = self._raw(t)
                cur = (t.name, a, pool.submit(_digest, algo, _byte_view(a)))
                if prev is not None:
                    self._check(prev[0], prev[2].result())
                    yield prev[0], prev[1]
                prev = cur
            if prev is not None:
                self._check(prev[0], prev[2].result())
                yield prev[0], prev[1]



def _layout(arrays: Mapping[str, np.ndarray]) -> list[tuple[str, str, np.ndarray]]:
    items = []
    for name, a in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"save_file(): tensor names must be str, got {type(name).__name__}")
        if not isinstance(a, np.ndarray):
            raise TypeError(f"save_file(): {name!r} is {type(a).__name__}, expected numpy.ndarray")
        items.append((name, safetensors_code(a.dtype), a))
    items.sort(key=lambda it: (-ST_RANK[it[1]], it[0]))
    return items


def _header_bytes(items: list[tuple[str, str, np.ndarray]], meta: Mapping[str, str] | None) -> bytes:
    obj: dict[str, Any] = {}
    if meta:
        obj["__metadata__"] = {k: meta[k] for k in sorted(meta)}
    pos = 0
    for name, code, a in items:
        obj[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [pos, pos + a.nbytes]}
        pos += a.nbytes
    raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def write(f: IO[bytes], arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None,
          *, hash_algo: str | None = DEFAULT_HASH) -> None:
    """Write ``arrays`` in safetensors layout to the seekable binary file ``f``.

    With ``hash_algo`` (default ``"crc32"``; see the module notes), a content hash of every
    tensor goes into the metadata. The header is written first with placeholder digests of the
    same length, each tensor is hashed (in a helper thread for large saves) while it is written,
    and the real digests are patched into the header at the end: one pass, no copies (except of
    a non-contiguous or big-endian tensor, one at a time).
    """
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save_file(): metadata must map str to str, got {k!r}: {type(v).__name__}")
    items = _layout(arrays)
    meta = dict(metadata or {})
    if hash_algo is not None:
        if hash_algo not in HASH_ALGOS:
            raise ValueError(f"save_file(): hash_algo must be one of {HASH_ALGOS}, got {hash_algo!r}")
        width = _hasher(hash_algo).digest_size * 2
        meta[HASH_KEY] = json.dumps({"algo": hash_algo, "tensors": {n: "0" * width for n, _, _ in items}})
    start = f.tell()
    f.write(_header_bytes(items, meta or None))
    table: dict[str, str] = {}
    total = sum(a.nbytes for _, _, a in items)
    big = total >= 2 * _WRITEBACK
    kick = _writeback_starter(f) if big else None
    # Helper threads (their calls release the GIL): one hashes each tensor while this one writes
    # it; one starts writeback, since sync_file_range waits while the device queue is full.
    # Small saves stay on this thread.
    hasher = ThreadPoolExecutor(1) if big and hash_algo is not None else None
    kicker = ThreadPoolExecutor(1) if kick is not None else None
    try:
        _write_data(f, items, hash_algo, table, kick, kicker, hasher)
    finally:
        for pool in (hasher, kicker):
            if pool is not None:
                pool.shutdown(wait=True)
    if hash_algo is not None:
        digests = {n: d if isinstance(d, str) else d.result() for n, d in table.items()}
        meta[HASH_KEY] = json.dumps({"algo": hash_algo, "tensors": {n: digests[n] for n, _, _ in items}})
        end = f.tell()
        f.seek(start)
        f.write(_header_bytes(items, meta))
        f.seek(end)


def _write_data(f: IO[bytes], items: list[tuple[str, str, np.ndarray]], hash_algo: str | None,
                table: dict[str, Any], kick: Any, kicker: ThreadPoolExecutor | None,
                hasher: ThreadPoolExecutor | None) -> None:
    pos = flushed = f.tell() if kick is not None else 0
    for name, _, a in items:
        data = np.ascontiguousarray(to_little_endian(a))  # one tensor copied at a time at most
        buf = _byte_view(data)
        if hash_algo is not None:
            if hasher is not None:
                table[name] = hasher.submit(_digest, hash_algo, buf)
            else:
                table[name] = _digest(hash_algo, buf)
        if kick is None:
            f.write(buf)
            continue
        for i in range(0, len(buf), _CHUNK):
            f.write(buf[i:i + _CHUNK])
            pos += min(_CHUNK, len(buf) - i)
            if pos - flushed >= _WRITEBACK:
                f.flush()
                kicker.submit(kick, flushed, pos - flushed)  # type: ignore[union-attr]
                flushed = pos


def save(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None,
         *, hash_algo: str | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` (byte-identical to the reference writer by default)."""
    buf = io.BytesIO()
    write(buf, tensors, metadata, hash_algo=hash_algo)
    return buf.getvalue()


def save_file(tensors: Mapping[str, np.ndarray], filename: str | os.PathLike[str],
              metadata: Mapping[str, str] | None = None, *, hash_algo: str | None = DEFAULT_HASH,
              fsync: bool = True) -> None:
    """Atomically write ``tensors`` (name -> array) to ``filename``; see :func:`write`."""
    with atomic_write(filename, fsync=fsync) as f:
        write(f, tensors, metadata, hash_algo=hash_algo)


def load(data: bytes, *, verify: bool = True) -> dict[str, np.ndarray]:
    """Arrays from safetensors bytes."""
    with safe_open(io.BytesIO(data), verify=verify) as f:
        return dict(f.tensors())


def load_file(filename: str | os.PathLike[str] | IO[bytes], *, mmap: bool = False,
              verify: bool = True) -> dict[str, np.ndarray]:
    """All arrays of a safetensors file, by name, in file order."""
    with safe_open(filename, mmap=mmap, verify=verify) as f:
        return dict(f.tensors())
