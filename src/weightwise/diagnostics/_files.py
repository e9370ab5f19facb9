"""Open any file weightwise reads, lazily, for inspection: names, shapes, dtypes, ties, metadata.

The format is detected from the bytes at offset 0, never from the extension. Only headers are
read on open; :meth:`CheckpointFile.array` reads one tensor. All parsing is done by the strict
readers of :mod:`weightwise.io`, so a hostile file raises
:class:`weightwise.io.errors.SerializationError` (a ``ValueError``) and never runs code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Entry", "CheckpointFile", "open_file"]



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


class CheckpointFile:
    """A file opened for inspection through :func:`weightwise.io.open_checkpoint`.

    Adds what inspection needs on top of it: NumPy dtypes, tie groups, all arrays at once with
    aliases sharing memory. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from ..io import open_checkpoint

        self.path = os.fspath(path)
        self._ck = open_checkpoint(self.path)
        self.format = self._ck.format
        self.metadata: dict[str, str] = dict(self._ck.metadata)
        self.provenance: dict[str, Any] = dict(self._ck.provenance or {})
        self.entries: dict[str, Entry] = {}
        for e in self._ck:
            self.entries[e.name] = Entry(e.name, tuple(int(s) for s in e.shape), _np_dtype(e.dtype),
                                         alias_of=e.alias_of)

    def array(self, name: str) -> np.ndarray:
        """The array stored under ``name`` (an alias reads its stored tensor)."""
        e = self.entries[name]
        return self._ck.read(e.alias_of or name)

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
        self._ck.close()

    def __enter__(self) -> CheckpointFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _np_dtype(name: Any) -> np.dtype:
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, str(name)))


def open_file(path: str | os.PathLike[str]) -> CheckpointFile:
    """Open ``path`` for inspection (see :class:`CheckpointFile`)."""
    return CheckpointFile(path)
