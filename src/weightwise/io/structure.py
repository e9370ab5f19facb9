"""Nested Python objects <-> (flat name -> array table, JSON structure, alias table).

safetensors holds a flat table of named tensors and a string->string ``__metadata__``. What the
book saves (a tensor, a list, a dict, a state dict, nested containers with ints, floats, strings
and None) is flattened into that table with dotted names, and its shape is kept as JSON in
``__metadata__["weightwise.structure"]``. Leaves that share memory are stored once: the first
name keeps the data and every other name is an *alias*, recorded as ``alias -> kept name`` in
``__metadata__``, which is the convention ``safetensors.torch.save_model`` uses.

Structure nodes (JSON): ``null``/bool/int/str as themselves; ``{"f": "nan"}`` for non-finite
floats, floats as JSON numbers; ``{"T": name}`` a tensor (``"p": 1`` a Parameter, ``"g": 1``
requires grad, ``"k": "np"`` a NumPy array, ``"o": n`` the n-th object seen more than once);
``{"l": [...]}`` list, ``{"t": [...]}`` tuple, ``{"d": [[key, value], ...]}`` dict,
``{"od": [...], "m": {...}}`` OrderedDict with its ``_metadata``, ``{"b": "<base64>"}`` bytes.
"""

from __future__ import annotations

import base64
import json
import math
from collections import OrderedDict
from typing import Any, Callable, Mapping

import numpy as np

from . import _bridge
from .errors import SerializationError

STRUCTURE_KEY = "weightwise.structure"
PROVENANCE_KEY = "weightwise.provenance"
MAX_DEPTH = 64
MAX_NODES = 1_000_000


class Flat:
    """The flattened form of an object: what the writers store."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}     # kept name -> array (data stored once)
        self.aliases: dict[str, str] = {}           # alias name -> kept name
        self.provenance: dict[str, Any] = {}        # tensor name -> JSON-able dict
        self.structure: Any = None
        self._by_memory: dict[tuple[Any, ...], str] = {}
        self._objects: dict[int, list[Any]] = {}    # id -> [object, name, times seen]
        self._names: set[str] = set()


def _memory_key(a: np.ndarray) -> tuple[Any, ...]:
    # Two arrays with the same first byte, shape, strides and dtype are the same memory view.
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


def _unique(flat: Flat, name: str) -> str:
    base, n = name, 1
    while name in flat._names:
        name, n = f"{base}#{n}", n + 1
    flat._names.add(name)
    return name


def _key_node(k: Any, path: str) -> Any:
    if k is None or isinstance(k, (str, bool, int, float)):
        return _leaf(k)
    if isinstance(k, tuple):
        return {"t": [_key_node(x, path) for x in k]}
    raise TypeError(f"save(): dict key {k!r} at {path or '<root>'} is not a str, int, float, bool, None or tuple")


def _leaf(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return {"f": repr(x)}
    return x


def flatten(obj: Any) -> Flat:
    """Flatten ``obj``; TypeError names the path of anything that cannot be stored."""
    flat = Flat()
    flat.structure = _encode(flat, obj, "", [])
    return flat


def _tensor(flat: Flat, x: Any, a: np.ndarray, path: str) -> Any:
    seen = flat._objects.get(id(x))
    node: dict[str, Any] = {}
    if seen is not None:             # the very same object again: one object after load
        seen[2] += 1
        node["o"] = id(x)
    name = _unique(flat, path or "tensor")
    node["T"] = name
    key = _memory_key(a)
    kept = flat._by_memory.get(key)
    if kept is None:
        flat._by_memory[key] = name
        flat.arrays[name] = a
    else:
        flat.aliases[name] = kept
    if seen is None:
        flat._objects[id(x)] = [x, name, 1]
        node["o"] = id(x)
    if isinstance(x, np.ndarray):
        node["k"] = "np"
    elif _bridge.is_parameter(x):
        node["p"] = 1
    if _bridge.requires_grad(x):
        node["g"] = 1
    prov = getattr(x, "_provenance", None)
    if isinstance(prov, dict):
        flat.provenance[name] = prov
    return node


def _encode(flat: Flat, x: Any, path: str, stack: list[int]) -> Any:
    if len(stack) > MAX_DEPTH:
        raise ValueError(f"save(): structure nested deeper than {MAX_DEPTH} at {path}")
    a = _bridge.as_array(x)
    if a is not None:
        return _tensor(flat, x, a, path)
    if x is None or isinstance(x, (str, bool, int, float)):
        return _leaf(x)
    if isinstance(x, np.generic):
        return _leaf(x.item())
    if isinstance(x, (bytes, bytearray)):
        return {"b": base64.b64encode(bytes(x)).decode("ascii")}
    if id(x) in stack:
        raise ValueError(f"save(): the object at {path or '<root>'} contains itself")
    stack.append(id(x))
    sub = (lambda k: f"{path}.{k}" if path else str(k))
    try:
        if isinstance(x, (list, tuple)):
            items = [_encode(flat, v, sub(i), stack) for i, v in enumerate(x)]
            return {"l": items} if isinstance(x, list) else {"t": items}
        if isinstance(x, dict):
            pairs = [[_key_node(k, path), _encode(flat, v, sub(k), stack)] for k, v in x.items()]
            records = getattr(x, "_provenance", None)  # a state_dict's name -> record table
            if isinstance(records, Mapping) and records:
                _dict_provenance(flat, x, pairs, records)
            if isinstance(x, OrderedDict):
                meta = getattr(x, "_metadata", None)
                node: dict[str, Any] = {"od": pairs}
                if meta is not None:
                    node["m"] = json.loads(json.dumps(meta))  # fails loudly if not JSON-able
                return node
            return {"d": pairs}
    finally:
        stack.pop()
    raise TypeError(
        f"save(): cannot store {type(x).__name__} at {path or '<root>'}; supported: tensors, "
        "numpy arrays, lists, tuples, dicts, str, int, float, bool, None, bytes")


def _dict_provenance(flat: Flat, x: dict[Any, Any], pairs: list[list[Any]], records: Mapping[Any, Any]) -> None:
    """Records of ``x._provenance`` for the tensors of ``x``; a tensor's own record wins."""
    for (k, _), (_, node) in zip(x.items(), pairs):
        rec = records.get(k) if isinstance(k, str) else None
        if isinstance(rec, Mapping) and isinstance(node, dict) and "T" in node:
            flat.provenance.setdefault(node["T"], dict(rec))


def finish(flat: Flat) -> str:
    """The structure as JSON, with object ids renumbered (and dropped where seen once)."""
    numbers: dict[int, int] = {}

    def fix(n: Any) -> Any:
        if isinstance(n, dict):
            if "T" in n and "o" in n:
                oid = n.pop("o")
                if flat._objects[oid][2] > 1:
                    n["o"] = numbers.setdefault(oid, len(numbers))
                return n
            return {k: fix(v) for k, v in n.items()}
        if isinstance(n, list):
            return [fix(v) for v in n]
        return n

    return json.dumps(fix(flat.structure), separators=(",", ":"), allow_nan=False)


class _Decoder:
    def __init__(self, source: Any, get: Callable[[str, dict[str, Any]], Any],
                 provenance: Mapping[str, Any] | None = None) -> None:
        self.source, self.get, self.objects, self.count = source, get, {}, 0  # type: ignore[var-annotated]
        self.provenance = provenance or {}

    def bad(self, why: str) -> SerializationError:
        return SerializationError(self.source, f"malformed {STRUCTURE_KEY}: {why}")

    def key(self, n: Any) -> Any:
        if isinstance(n, dict) and set(n) == {"t"} and isinstance(n["t"], list):
            return tuple(self.key(v) for v in n["t"])
        v = self.node(n, 0)
        if isinstance(v, (list, dict)) or _bridge.as_array(v) is not None:
            raise self.bad("dict key is not hashable")
        return v

    def node(self, n: Any, depth: int) -> Any:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_NODES:
            raise self.bad("too deep or too large")
        if n is None or isinstance(n, (str, bool, int, float)):
            return n
        if not isinstance(n, dict) or not n:
            raise self.bad(f"unexpected node {str(n)[:40]}")
        if "T" in n:
            return self.tensor(n)
        (tag, body), *rest = n.items()
        if tag == "f" and body in ("nan", "inf", "-inf") and not rest:
            return float(body)
        if tag == "b" and isinstance(body, str) and not rest:
            try:
                return base64.b64decode(body, validate=True)
            except ValueError:
                raise self.bad("invalid base64") from None
        if tag in ("l", "t") and isinstance(body, list) and not rest:
            items = [self.node(v, depth + 1) for v in body]
            return items if tag == "l" else tuple(items)
        if tag in ("d", "od") and isinstance(body, list):
            if not all(isinstance(p, list) and len(p) == 2 for p in body):
                raise self.bad("dict items must be [key, value] pairs")
            out: dict[Any, Any] = OrderedDict() if tag == "od" else {}
            records: dict[str, Any] = {}
            for k, v in body:
                key = self.key(k)
                out[key] = self.node(v, depth + 1)
                if self.provenance and isinstance(v, dict) and isinstance(key, str):
                    rec = self.provenance.get(str(v.get("T")))
                    if isinstance(rec, dict):
                        records[key] = rec
            if tag == "od" and rest and rest[0][0] == "m":
                out._metadata = rest[0][1]  # type: ignore[attr-defined]
            if tag == "od" and records:
                out._provenance = records  # type: ignore[attr-defined]
            return out
        raise self.bad(f"unknown node {tag!r}")

    def tensor(self, n: dict[str, Any]) -> Any:
        if not isinstance(n["T"], str) or not set(n) <= {"T", "p", "g", "k", "o"}:
            raise self.bad(f"bad tensor node {str(n)[:60]}")
        oid = n.get("o")
        if oid is not None and oid in self.objects:
            return self.objects[oid]
        obj = self.get(n["T"], n)
        if oid is not None:
            self.objects[oid] = obj
        return obj


def unflatten(source: Any, structure: str, get: Callable[[str, dict[str, Any]], Any],
              provenance: Mapping[str, Any] | None = None) -> Any:
    """Rebuild the object; ``get(name, node)`` returns the (wrapped) tensor for a leaf.

    With ``provenance`` (stored tensor name -> record), every OrderedDict that holds recorded
    tensors gets a ``_provenance`` attribute (its key -> record), as ``Module.state_dict`` makes.
    """
    try:
        tree = json.loads(structure)
    except (ValueError, RecursionError) as e:
        raise SerializationError(source, f"malformed {STRUCTURE_KEY}: {e}") from None
    return _Decoder(source, get, provenance).node(tree, 0)


def leaf_kind(node: dict[str, Any]) -> tuple[str, bool]:
    """(``"tensor"``/``"parameter"``/``"ndarray"``, requires_grad) of a tensor node."""
    kind = "ndarray" if node.get("k") == "np" else "parameter" if node.get("p") else "tensor"
    return kind, bool(node.get("g"))
