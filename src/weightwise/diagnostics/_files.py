"""Open any file weightwise reads, lazily, for inspection: names, shapes, dtypes, ties, metadata.

The format is detected from the bytes at offset 0, never from the extension. Only headers are
read on open; :meth:`CheckpointFile.array` reads one tensor. All parsing is done by the strict
readers of :mod:`weightwise.io`, so a hostile file raises
:class:`weightwise.io.errors.SerializationError` (a ``ValueError``) and never runs code.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..io.errors import SerializationError

__all__ = ["Entry", "CheckpointFile", "open_file", "detect_format", "FORMATS"]

FORMATS = ("safetensors", "torch-zip", "torch-legacy", "npz", "npy")
_STRUCTURE_KEY = "weightwise.structure"
_PROVENANCE_KEY = "weightwise.provenance"
_HASH_KEY = "weightwise.hashes"


@dataclass
class Entry:
    """One named tensor of a file (``alias_of`` names the stored tensor it shares)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    alias_of: str | None = None

    @property
    def count(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of :data:`FORMATS`, from the file's first bytes; SerializationError otherwise."""
    with open(path, "rb") as f:
        head = f.read(16)
        if head[:6] == b"\x93NUMPY":
            return "npy"
        if head[:4] == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(f) as z:
                    names = z.namelist()
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise SerializationError(path, f"damaged zip archive ({e})") from None
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
                return "torch-zip"
            if names and all(n.endswith(".npy") for n in names):
                return "npz"
            raise SerializationError(path, "a zip archive that is neither a PyTorch checkpoint nor a NumPy .npz")
        if head[:1] == b"\x80":
            return "torch-legacy"
        if len(head) >= 9 and head[8:9] == b"{":
            return "safetensors"
    raise SerializationError(
        path, "not a format weightwise reads (safetensors, PyTorch .pt/.pth/.bin, NumPy .npy/.npz)")


class CheckpointFile:
    """A file opened for inspection. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.format = detect_format(path)
        self.entries: dict[str, Entry] = {}
        self.metadata: dict[str, str] = {}
        self.provenance: dict[str, Any] = {}
        self._handle: Any = None
        self._records: dict[str, Any] = {}
        getattr(self, "_open_" + self.format.replace("-", "_"))()

    # -- per format ---------------------------------------------------------------------------
    def _open_safetensors(self) -> None:
        from ..io.safetensors import safe_open

        self._handle = h = safe_open(self.path)
        stored = h.header.tensors
        for name, t in stored.items():
            self.entries[name] = Entry(name, tuple(t.shape), t.dtype)
        meta = h.metadata()
        for key, value in meta.items():
            if key not in stored and value in stored:  # the safetensors alias convention
                t = stored[value]
                self.entries[key] = Entry(key, tuple(t.shape), t.dtype, alias_of=value)
            elif key == _PROVENANCE_KEY:
                try:
                    prov = json.loads(value)
                except ValueError:
                    prov = None
                if isinstance(prov, dict):
                    self.provenance = prov
            elif key not in (_STRUCTURE_KEY, _HASH_KEY):
                self.metadata[key] = value
        if _HASH_KEY in meta:
            self.metadata["content hashes"] = "yes (checked on read)"

    def _open_torch(self) -> None:
        from ..io.torch_pickle import TorchFile

        self._handle = tf = TorchFile(self.path)
        first: dict[tuple[Any, ...], str] = {}
        for name, rec in tf.records():
            st = rec.storage
            root = st.base.key if st.base is not None else st.key
            start = (st.offset if st.base is not None else 0) + rec.offset
            key = (root, start, rec.shape, rec.stride, rec.dtype.str)
            kept = first.setdefault(key, name)
            self._records[name] = rec
            self.entries[name] = Entry(name, tuple(rec.shape), rec.dtype,
                                       alias_of=None if kept == name else kept)
        self.metadata["pickle"] = "read without running code (allowlisted)"
        if tf.big_endian:
            self.metadata["byte order"] = "big-endian (converted on read)"

    _open_torch_zip = _open_torch
    _open_torch_legacy = _open_torch

    def _open_npz(self) -> None:
        self._handle = z = zipfile.ZipFile(self.path)
        for info in z.infolist():
            name = info.filename[:-4]
            with z.open(info) as f:
                shape, dtype = _npy_header(f, self.path, name)
            self.entries[name] = Entry(name, shape, dtype)
            self._records[name] = info
            if self.entries[name].nbytes > info.file_size:
                raise SerializationError(self.path, f"array {name!r} declares more bytes than it holds")

    def _open_npy(self) -> None:
        with open(self.path, "rb") as f:
            shape, dtype = _npy_header(f, self.path, "array")
        self.entries["array"] = Entry("array", shape, dtype)

    # -- reading ----------------------------------------------------------------------------------
    def array(self, name: str) -> np.ndarray:
        """The array stored under ``name`` (an alias reads its stored tensor)."""
        e = self.entries[name]
        stored = e.alias_of or name
        if self.format == "safetensors":
            return self._handle.get_tensor(stored)  # type: ignore[no-any-return]
        if self.format.startswith("torch"):
            return self._handle.array(self._records[stored])  # type: ignore[no-any-return]
        if self.format == "npz":
            with self._handle.open(self._records[name]) as f:
                return _npy_read(f, self.path, name)
        with open(self.path, "rb") as f:
            return _npy_read(f, self.path, name)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every name -> array; aliases get the very same array as the tensor they share."""
        out: dict[str, np.ndarray] = {}
        for name, e in self.entries.items():
            out[name] = out[e.alias_of] if e.alias_of in out else self.array(name)
        return out

    def tie_groups(self) -> list[list[str]]:
        """Groups of two or more names that are one tensor, in file order."""
        groups: dict[str, list[str]] = {}
        for name, e in self.entries.items():
            groups.setdefault(e.alias_of or name, []).append(name)
        return [g for g in groups.values() if len(g) > 1]

    def tie_group(self, name: str) -> list[str]:
        root = self.entries[name].alias_of or name
        return [n for n, e in self.entries.items() if n == root or e.alias_of == root]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> CheckpointFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _npy_header(f: Any, path: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
    except (ValueError, SyntaxError, struct.error, EOFError, OSError) as e:
        raise SerializationError(path, f"array {name!r}: malformed .npy header ({e})") from None
    if dtype.hasobject:
        raise SerializationError(path, f"array {name!r} holds Python objects, which would need pickle; refused")
    return tuple(int(s) for s in shape), dtype


def _npy_read(f: Any, path: str, name: str) -> np.ndarray:
    try:
        return np.lib.format.read_array(f, allow_pickle=False)  # type: ignore[no-any-return]
    except (ValueError, OSError, EOFError) as e:
        raise SerializationError(path, f"array {name!r}: {e}") from None


def open_file(path: str | os.PathLike[str]) -> CheckpointFile:
    """Open ``path`` for inspection (see :class:`CheckpointFile`)."""
    return CheckpointFile(path)
