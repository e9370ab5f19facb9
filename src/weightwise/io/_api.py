"""``save``/``load`` for every format, format detection, and lazy inspection of any checkpoint."""

from __future__ import annotations

import io
import json
import os
from collections import OrderedDict
from typing import IO, Any, Iterator, Mapping, NamedTuple

import numpy as np

from . import _bridge, npz, safetensors, structure, torch_pickle, torch_writer
from .errors import SerializationError

_FORMATS = {"safetensors": "safetensors", "st": "safetensors", "torch": "torch", "pt": "torch",
            "pth": "torch", "npz": "npz"}
RESERVED_PREFIX = "weightwise."


def _metadata(flat: structure.Flat, metadata: Mapping[str, Any] | None) -> dict[str, str]:
    meta = {"format": "pt"}  # what safetensors.torch and transformers expect to see
    for k, v in (metadata or {}).items():
        if k == "provenance" and isinstance(v, Mapping):
            flat.provenance.update(v)  # explicit provenance wins over the tensors' own
        elif not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save(): metadata values must be str (or metadata['provenance'] a dict), "
                            f"got {k!r}: {type(v).__name__}")
        elif k.startswith(RESERVED_PREFIX) or k in flat.arrays or k in flat.aliases:
            raise ValueError(f"save(): metadata key {k!r} is reserved or names a tensor")
        else:
            meta[k] = v
    meta.update(flat.aliases)  # the safetensors convention: alias name -> stored name
    meta[structure.STRUCTURE_KEY] = structure.finish(flat)
    if flat.provenance:
        try:
            meta[structure.PROVENANCE_KEY] = json.dumps(flat.provenance, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise TypeError(f"save(): provenance must be JSON-serialisable: {e}") from None
    return meta


def save(obj: Any, f: str | os.PathLike[str] | IO[bytes], *, format: str | None = None,
         metadata: Mapping[str, Any] | None = None) -> None:
    """Save a tensor, a list, a dict, a state dict or nested containers of them to ``f``.

    Args:
        obj: tensors (any shape, any dtype incl. bfloat16/float8), numpy arrays, and lists,
            tuples, dicts, OrderedDicts of them with str/int/float/bool/None/bytes leaves.
        f: a path (written atomically: temp file, fsync, rename, fsync folder) or a binary file.
        format: ``"safetensors"`` (default, whatever the file extension), ``"torch"`` (PyTorch's
            zip format, for PyTorch-only tools) or ``"npz"`` (flat name -> tensor mappings).
        metadata: str -> str entries stored in the safetensors ``__metadata__``; the key
            ``"provenance"`` may instead map tensor names to JSON-able dicts (how each parameter
            was made). Provenance is also picked up from tensors carrying a ``_provenance`` dict
            and from dicts carrying one (``Module.state_dict()`` sets ``sd._provenance``, key ->
            record); explicit ``metadata["provenance"]`` wins, then a tensor's own record.
            ``load`` gives it back as ``_provenance`` on the OrderedDicts it returns.

    Tensors that share memory (the same tensor, or identical views of one array) are stored
    once and restored sharing memory; tied names are recorded as ``alias -> stored name``.

    Example::

        weightwise.save({"x": x, "y": [y, 3]}, "xy.safetensors")
        weightwise.load("xy.safetensors")["y"][1]    # 3
    """
    fmt = _FORMATS.get((format or "safetensors").lower())
    if fmt is None:
        raise ValueError(f"save(): format must be 'safetensors', 'torch' or 'npz', got {format!r}")
    if fmt == "torch":
        torch_writer.write_torch(obj, f)
    elif fmt == "npz":
        if not isinstance(obj, Mapping):
            raise TypeError("save(format='npz'): obj must map names to tensors")
        arrays = {}
        for k, v in obj.items():
            a = _bridge.as_array(v)
            if a is None:
                raise TypeError(f"save(format='npz'): {k!r} is {type(v).__name__}, not a tensor")
            arrays[k] = a
        if isinstance(f, (str, os.PathLike)):
            npz.save_npz(f, arrays)
        else:
            npz.write_npz(f, arrays)
    else:
        flat = structure.flatten(obj)
        meta = _metadata(flat, metadata)
        if isinstance(f, (str, os.PathLike)):
            safetensors.save_file(flat.arrays, f, meta)
        else:
            safetensors.write(f, flat.arrays, meta)


def _check_map_location(map_location: Any) -> None:
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return
    if str(map_location).split(":")[0] not in ("cpu", "meta"):
        raise RuntimeError(f"load(): map_location={map_location!r}: weightwise runs on the CPU only")


def _seekable(f: Any) -> Any:
    if isinstance(f, (str, os.PathLike)):
        return f
    try:
        f.seek(0, os.SEEK_CUR)
        return f
    except (AttributeError, OSError, io.UnsupportedOperation):
        return io.BytesIO(f.read())


def _head(f: Any) -> bytes:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as r:
            return r.read(16)
    pos = f.tell()
    b = f.read(16)
    f.seek(pos)
    return bytes(b)


def detect(f: Any) -> str:
    """The format of a file from its first bytes (never its name)."""
    head = _head(f)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(npz.MAGIC):
        return "npy"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    if head.startswith(b"\x80\x02") or head.startswith(b"\x80"):
        return "torch-legacy"
    raise SerializationError(f, "unrecognised format (not safetensors, a PyTorch checkpoint, .npy or .npz)")


def _zip_kind(f: Any) -> str:
    import zipfile
    try:
        with zipfile.ZipFile(f) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise SerializationError(f, f"not a readable zip archive: {e}") from None
    finally:
        if not isinstance(f, (str, os.PathLike)):
            f.seek(0)
    if any(n.endswith("data.pkl") or n.endswith("constants.pkl") for n in names):
        return "torch"
    return "npz"


def load(f: str | os.PathLike[str] | IO[bytes], map_location: Any = None, mmap: bool = False, *,
         verify: bool = True, weights_only: bool = True) -> Any:
    """Load what :func:`save` or ``torch.save`` wrote, or any safetensors/.npy/.npz file.

    The format is detected from the bytes. No file can run code: PyTorch pickles go through an
    allowlist (``weights_only=False`` is accepted for compatibility and changes nothing).

    Args:
        f: path or binary file.
        map_location: accepted for compatibility; everything lands in CPU memory.
        mmap: memory-map tensor data (safetensors and PyTorch zip); copy-on-write, so in-place
            changes never reach the file.
        verify: check content hashes (safetensors written by weightwise) and CRCs (zip).

    Returns:
        the saved object, with weightwise Tensors (Parameters where a Parameter was saved).

    Raises:
        SerializationError: the file is malformed, truncated, hostile or unsupported.
    """
    del weights_only
    _check_map_location(map_location)
    f = _seekable(f)
    kind = detect(f)
    if kind == "safetensors":
        return _load_safetensors(f, mmap, verify)
    if kind == "npy":
        return _bridge.wrap(npz.load_npy(f), name="tensor", source=f)
    if kind == "zip" and _zip_kind(f) == "npz":
        return {k: _bridge.wrap(v, name=k, source=f) for k, v in npz.load_npz(f).items()}
    return torch_pickle.read_torch(f, mmap=mmap, verify=verify)


def file_aliases(meta: Mapping[str, str], names: Any) -> dict[str, str]:
    """alias -> stored name, from ``__metadata__`` entries that follow the safetensors convention."""
    return {k: v for k, v in meta.items() if k not in names and v in names
            and not k.startswith(RESERVED_PREFIX) and k != "format"}


def _load_safetensors(f: Any, mmap: bool, verify: bool) -> Any:
    with safetensors.safe_open(f, mmap=mmap, verify=verify) as sf:
        arrays = dict(sf.tensors())
        meta = sf.metadata()
    aliases = file_aliases(meta, arrays)
    prov = _provenance(f, meta)
    tree = meta.get(structure.STRUCTURE_KEY)
    if tree is None:  # a plain safetensors file: a flat state dict
        out: dict[str, Any] = OrderedDict((k, _bridge.wrap(a, name=k, source=f)) for k, a in arrays.items())
        for alias, kept in aliases.items():
            out[alias] = _bridge.wrap(arrays[kept], name=alias, source=f)
        records = {k: v for k, v in prov.items() if k in out and isinstance(v, dict)}
        if records:
            out._provenance = records  # type: ignore[attr-defined]
        return out

    def get(name: str, node: dict[str, Any]) -> Any:
        a = arrays.get(aliases.get(name, name))
        if a is None:
            raise SerializationError(f, f"structure names tensor {name!r}, which the file lacks")
        kind, grad = structure.leaf_kind(node)
        return _bridge.wrap(a, kind, grad, name=name, source=f)
    return structure.unflatten(f, tree, get, prov)


def _provenance(f: Any, meta: Mapping[str, str]) -> dict[str, Any]:
    """tensor name -> provenance record, from ``__metadata__`` (empty when there is none)."""
    raw = meta.get(structure.PROVENANCE_KEY)
    if raw is None:
        return {}
    try:
        prov = json.loads(raw)
    except (ValueError, RecursionError):
        prov = None
    if not isinstance(prov, dict):
        raise SerializationError(f, f"malformed {structure.PROVENANCE_KEY}")
    return prov


class Entry(NamedTuple):
    """One tensor of a checkpoint, as listed without reading its data."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    alias_of: str | None = None


class Checkpoint:
    """A checkpoint opened for inspection: names, shapes, dtypes, metadata; data on demand.

    Example::

        with open_checkpoint("model.pt") as ck:
            for e in ck: print(e.name, e.shape, e.dtype)
            w = ck.read("0.weight")            # one numpy array
    """

    def __init__(self, path: str | os.PathLike[str] | IO[bytes], *, verify: bool = True) -> None:
        self.path = path
        self._closer: Any = None
        self._read: Any = None
        self.metadata: dict[str, str] = {}
        self.provenance: dict[str, Any] = {}
        self._entries: dict[str, Entry] | None = {}
        self._lazy: npz.NpzFile | None = None
        kind = detect(path)
        if kind == "zip":
            kind = "torch-zip" if _zip_kind(path) == "torch" else "npz"
        self.format = kind
        if kind == "safetensors":
            self._open_safetensors(verify)
        elif kind == "npz":  # only the zip directory now; headers when entries are asked for
            self._closer = self._lazy = npz.NpzFile(path)
            self._entries = None
            self._read = self._lazy.read
        elif kind == "npy":
            arrays = {"tensor": npz.load_npy(path)}
            self._entries = {k: Entry(k, a.shape, a.dtype.name, a.nbytes) for k, a in arrays.items()}
            self._read = arrays.__getitem__
        else:
            self._open_torch(verify)

    @property
    def entries(self) -> dict[str, Entry]:
        """name -> :class:`Entry` (for ``.npz``, each member's header is read on first use)."""
        if self._entries is None:
            assert self._lazy is not None
            out = {}
            for name in self._lazy.names():
                dt, shape = self._lazy.header(name)
                n = dt.itemsize
                for d in shape:
                    n *= d
                out[name] = Entry(name, shape, dt.name, n)
            self._entries = out
        return self._entries

    def _open_safetensors(self, verify: bool) -> None:
        sf = safetensors.safe_open(self.path, verify=verify)
        self._closer = sf
        meta = sf.metadata()
        aliases = file_aliases(meta, sf.header.tensors)
        self.metadata = {k: v for k, v in meta.items() if k not in aliases and not k.startswith(RESERVED_PREFIX)}
        self.provenance = _provenance(self.path, meta)
        for t in sf.header.tensors.values():
            self.entries[t.name] = Entry(t.name, t.shape, t.dtype.name, t.end - t.begin)
        for alias, kept in aliases.items():
            self.entries[alias] = self.entries[kept]._replace(name=alias, alias_of=kept)
        self._read = lambda name: sf.get_tensor(self.entries[name].alias_of or name)

    def _open_torch(self, verify: bool) -> None:
        tf = torch_pickle.TorchFile(self.path, verify=verify)
        self._closer = tf  # type: ignore[assignment]
        self.format = tf.format
        records: dict[str, Any] = {}
        first: dict[tuple[Any, ...], str] = {}
        for name, rec in tf.records():
            key = (rec.storage.key, rec.offset, rec.shape, rec.stride, rec.dtype.str)
            kept = first.setdefault(key, name)
            records[name] = rec
            nbytes = int(np.prod(rec.shape, dtype=np.int64)) * rec.dtype.itemsize
            self.entries[name] = Entry(name, rec.shape, rec.dtype.name, nbytes, kept if kept != name else None)
        self._read = lambda name: tf.array(records[name])

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> Entry:
        return self.entries[name]

    def names(self) -> list[str]:
        if self._entries is None and self._lazy is not None:
            return self._lazy.names()
        return list(self.entries)

    @property
    def aliases(self) -> dict[str, str]:
        """alias -> stored name for every tied tensor."""
        return {e.name: e.alias_of for e in self.entries.values() if e.alias_of}

    def read(self, name: str) -> np.ndarray:
        """The data of one tensor as a numpy array (hash-checked when the file has hashes)."""
        if name not in self.names():
            raise KeyError(f"open_checkpoint: no tensor {name!r} in {self.path}")
        return self._read(name)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_checkpoint(path: str | os.PathLike[str] | IO[bytes], *, verify: bool = True) -> Checkpoint:
    """Open any supported checkpoint lazily (see :class:`Checkpoint`)."""
    return Checkpoint(_seekable(path), verify=verify)
