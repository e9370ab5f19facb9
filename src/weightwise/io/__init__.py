"""File formats: safetensors (default), PyTorch checkpoints (read and write), NumPy .npy/.npz.

No reader ever runs code from a file; every malformed, truncated or hostile file raises
:class:`SerializationError` naming the file and the problem. Saves to a path are atomic.

Public API (re-exported by ``weightwise``: ``save``, ``load``, ``SerializationError``)::

    save(obj, f, *, format=None, metadata=None)
    load(f, map_location=None, mmap=False, *, verify=True, weights_only=True)
    open_checkpoint(path) -> Checkpoint        # names, shapes, dtypes, metadata; lazy data
    load_into(model, path, strict=True)        # checks first, re-ties, leaves model intact on failure
    save_checkpoint(path, model=, optimizer=, scheduler=, step=, rng=True) / load_checkpoint(...)
    read_torch(path) / write_torch(obj, path)  # PyTorch .pt without PyTorch
    safetensors.save_file / load_file / safe_open;  npz.save_npz / load_npz / load_npy

Provenance hook: a tensor with a ``_provenance`` dict attribute (set by ``weightwise.nn.init``),
a dict with a ``_provenance`` attribute (``Module.state_dict()`` sets one: key -> record), or
``save(..., metadata={"provenance": {name: {...}}})`` (which wins) is stored as JSON in
``__metadata__["weightwise.provenance"]``; ``open_checkpoint(p).provenance`` reads it back,
``load`` sets ``_provenance`` on the OrderedDicts it returns, and ``load_into`` puts it back on
the parameters.

Content hashes: CRC-32 per tensor by default (corruption detection at disk speed; see
:mod:`.safetensors` for why not a cryptographic digest), ``safetensors.save_file(...,
hash_algo="sha256")`` where a digest is wanted; readers check whatever algorithm a file names.

Tensors of dtypes weightwise Tensors lack (uint16/32/64, complex) are refused by ``load`` with a
SerializationError naming them; ``open_checkpoint(f).read(name)`` still gives them as NumPy arrays.
"""

from __future__ import annotations

from . import npz, safetensors
from ._api import Checkpoint, Entry, detect, load, open_checkpoint, save
from ._model import load_checkpoint, load_into, save_checkpoint
from .errors import SerializationError
from .torch_pickle import TorchFile, read_torch
from .torch_writer import write_torch

__all__ = [
    "save", "load", "SerializationError", "open_checkpoint", "Checkpoint", "Entry", "detect",
    "load_into", "save_checkpoint", "load_checkpoint", "read_torch", "write_torch", "TorchFile",
    "safetensors", "npz",
]
