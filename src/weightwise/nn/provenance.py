"""Provenance: each parameter remembers the initializer that last wrote it.

The record is a JSON-able dict stored on the tensor as the attribute `_provenance` (the io
package saves it in a file's metadata and `weightwise.io.load_into` puts it back):

    {"fn": "kaiming_uniform_",                      # the initializer's name
     "args": {"a": 2.236, "mode": "fan_in", ...},    # every argument but the tensor, defaults filled
     "seed": 42,                                    # generator.initial_seed()
     "offset": "9f2c...",                           # hash of the generator state before the call
     "generator": "default",                        # or "explicit" when generator= was passed
     "random": True}                                # whether the call consumed random numbers

`seed` plus `offset` pin down the position in the random stream: two calls that drew the same
numbers have the same pair, and `state_hash(generator)` computed after `manual_seed(seed)` and
any number of draws can be compared with `offset` to find where an initializer started.

`record_init` is the decorator applied to every `nn.init` function. It is transparent: same
signature (`inspect.signature` follows `__wrapped__`), same return value, and it only *reads*
the generator state, so the random stream is unchanged. Nested initializers
(`xavier_uniform_` calling `uniform_`) record only the outermost call.

Example:
    >>> uniform_ = record_init(nn.init.uniform_)
    >>> weightwise.manual_seed(0)
    >>> w = uniform_(nn.Parameter(weightwise.empty(3)), -1.0, 1.0)
    >>> w._provenance["fn"], w._provenance["args"], w._provenance["seed"]
    ('uniform_', {'a': -1.0, 'b': 1.0}, 0)
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import inspect
import math
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from .parameter import is_lazy

if TYPE_CHECKING:
    from .module import Module

__all__ = ["deterministic", "provenance", "record_default_init", "record_init", "set_provenance",
           "state_hash"]

F = TypeVar("F", bound=Callable[..., Any])

_depth = threading.local()
_MT_STATE_BYTES = 624 * 4 + 4  # numpy's mt19937_state: uint32 key[624]; int pos


_KEY_BYTES = 624 * 4
_key_cache: dict[int, tuple[bytes, Any]] = {}  # id(engine) -> (key words, blake2b over them)
_last_hash: dict[int, tuple[Any, str]] = {}  # id(engine) -> (snapshot, its hash)
_views: dict[int, tuple[Any, Any]] = {}  # id(engine) -> (engine, ctypes view of its state struct)

Snapshot = tuple  # (state struct bytes, (fresh, next float normal, next double normal))


def _snapshot(gen: Any) -> Snapshot | None:
    """The generator's full state, read without building a Python dict: the raw MT19937
    struct (624 uint32 words and the position) and the normal caches. None if the generator is
    not MT19937-based (`state_hash` then hashes `get_state()`)."""
    try:
        engine = gen._engine
        hit = _views[id(engine)]
        if hit[0] is engine:
            return hit[1].raw, (gen._fresh, gen._next_float_normal, gen._next_double_normal)
    except (AttributeError, KeyError):
        pass
    return _snapshot_slow(gen)


def _snapshot_slow(gen: Any) -> Snapshot | None:
    engine = getattr(gen, "_engine", None)
    if not isinstance(engine, np.random.MT19937):
        return None
    try:  # the view holds the engine, so its memory stays valid while cached
        view = (ctypes.c_char * _MT_STATE_BYTES).from_address(engine.ctypes.state_address)
    except (AttributeError, TypeError, ValueError):
        return None
    if len(_views) > 64:
        _views.clear()
    _views[id(engine)] = (engine, view)
    return view.raw, (getattr(gen, "_fresh", None), getattr(gen, "_next_float_normal", None),
                      getattr(gen, "_next_double_normal", None))


def _hash_snapshot(gen: Any, snap: Snapshot) -> str:
    """blake2b-64 of the state bytes; the 2,496 bytes of key words change only every 624
    draws, so the hash state after them is cached per engine and only the tail (position,
    normal caches) is hashed on each call."""
    slot = id(gen._engine)
    last = _last_hash.get(slot)
    if last is not None and last[0] == snap:
        return last[1]  # the state did not move since the last hash (non-random initialisers)
    raw, tail = snap
    key = raw[:_KEY_BYTES]
    hit = _key_cache.get(slot)
    if hit is None or hit[0] != key:
        h = hashlib.blake2b(key, digest_size=8)
        if len(_key_cache) > 64:
            _key_cache.clear()
        _key_cache[slot] = (key, h)
    else:
        h = hit[1]
    h = h.copy()
    h.update(raw[_KEY_BYTES:])
    h.update(repr(tail).encode())
    out = h.hexdigest()
    if len(_last_hash) > 64:
        _last_hash.clear()
    _last_hash[slot] = (snap, out)
    return out


def state_hash(generator: Any = None) -> str:
    """A 16-hex-digit hash of a generator's full state (default: the default generator).

    Reads the state only; no number is drawn.
    """
    gen = generator if generator is not None else _random.default_generator
    snap = _snapshot(gen)
    if snap is not None:
        return _hash_snapshot(gen, snap)
    return hashlib.blake2b(np.asarray(gen.get_state()).tobytes(), digest_size=8).hexdigest()


def _jsonable(v: Any) -> Any:
    """Arguments as JSON values: numbers, strings, bools, None, lists/dicts of them; else repr."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    item = getattr(v, "item", None)
    if callable(item) and getattr(v, "ndim", None) == 0:
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    return repr(v)


def set_provenance(tensor: Any, record: dict[str, Any]) -> bool:
    """Attach `record` as `tensor._provenance`; False when the object cannot hold attributes."""
    try:
        tensor._provenance = record
    except (AttributeError, TypeError):
        return False
    return True


_REQUIRED = object()


def _binder(fn: Any) -> Callable[[tuple, dict], dict[str, Any] | None] | None:
    """A fast `sig.bind(...).apply_defaults()` for `fn(tensor, p1=.., p2=.., *, k=..)`: returns
    the arguments after the tensor as a dict (defaults filled), or None where the call does not
    fit (then the slow path binds with `inspect`, or `fn` itself reports the bad call)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    ps = list(sig.parameters.values())
    if not ps or ps[0].kind not in (inspect.Parameter.POSITIONAL_ONLY,
                                     inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return None
    rest = ps[1:]
    if any(p.kind not in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
           for p in rest):
        return None
    positional = tuple(p.name for p in rest if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD)
    # The arguments in signature order, a placeholder where one is required: updating a copy
    # keeps that order.
    template = {p.name: (p.default if p.default is not inspect.Parameter.empty else _REQUIRED)
                for p in rest}
    required = tuple(k for k, v in template.items() if v is _REQUIRED)
    known = frozenset(template)
    first = ps[0].name
    n_pos = len(positional) + 1

    def bind(args: tuple, kwargs: dict) -> dict[str, Any] | None:
        n = len(args)
        if n > n_pos or not n:
            return None
        merged = template.copy()
        if n > 1:
            merged.update(zip(positional, args[1:]))
        if kwargs:
            if not known.issuperset(kwargs) or any(k in kwargs for k in positional[:n - 1]):
                return None
            merged.update(kwargs)
        if required:
            for k in required:
                if merged[k] is _REQUIRED:
                    return None
        return merged

    bind.tensor_name = first  # type: ignore[attr-defined]
    return bind


def deterministic(fn: F) -> F:
    """Mark an initializer that never draws a random number (`constant_`, `eye_`): under
    `record_init` its record says `"random": False` without reading the generator after the
    call."""
    fn._draws_random = False  # type: ignore[attr-defined]
    return fn


def record_init(fn: F) -> F:
    """Decorate an initializer `fn(tensor, *args, generator=None, **kw) -> tensor` so that the
    tensor records `{"fn", "args", "seed", "offset", "generator", "random"}` as `_provenance`.

    Transparent: the wrapper has `fn`'s name, docstring and signature, returns what `fn`
    returns, raises what `fn` raises (and records nothing then), and draws no random number.
    Only the outermost decorated call records (nested initializers do not overwrite it).
    The signature is analysed once, at decoration: a call costs a few microseconds on top of
    `fn` (the state hash reuses the hash of the generator's key words between refills).

    Example:
        >>> xavier = record_init(nn.init.xavier_uniform_)
        >>> xavier(model.fc.weight, gain=2.0)._provenance["args"]
        {'gain': 2.0}
    """
    if getattr(fn, "_records_provenance", False):
        return fn
    name = getattr(fn, "__name__", type(fn).__name__)
    bind = _binder(fn)
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    local = _depth
    never_draws = getattr(fn, "_draws_random", None) is False  # set by `deterministic`
    plain_scalars = (bool, int, str, type(None))

    def slow_bind(args: tuple, kwargs: dict) -> dict[str, Any] | None:
        if sig is None:
            return None
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return None  # fn itself reports the bad call
        bound.apply_defaults()
        return dict(list(bound.arguments.items())[1:])  # drop the tensor

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(local, "n", 0)
        if depth:
            local.n = depth + 1
            try:
                return fn(*args, **kwargs)
            finally:
                local.n = depth
        if args:
            tensor = args[0]
        else:
            tensor = kwargs.get("tensor") if bind is None else kwargs.get(bind.tensor_name)  # type: ignore[attr-defined]
            if tensor is None:
                return fn(*args, **kwargs)  # fn reports the call without a tensor
        merged = bind(args, kwargs) if bind is not None else None
        if merged is None:
            merged = slow_bind(args, kwargs) or {}
        gen_arg = merged.pop("generator", None) if "generator" in merged else None
        gen = gen_arg if gen_arg is not None else _random.default_generator
        raw = _snapshot(gen)
        before = None
        if raw is None:  # a generator-like object without the raw MT19937 state
            try:
                before = state_hash(gen)
            except Exception:
                before = None
        local.n = 1
        try:
            out = fn(*args, **kwargs)
        finally:
            local.n = 0
        if not isinstance(tensor, Tensor):
            return out
        for k, v in merged.items():  # arguments as JSON values (merged is this call's own dict)
            tv = type(v)
            if not (tv in plain_scalars or (tv is float and math.isfinite(v))):
                merged[k] = _jsonable(v)
        try:
            seed: int | None = int(gen.initial_seed())
        except Exception:
            seed = None
        if raw is not None:
            offset: str | None = _hash_snapshot(gen, raw)
            drew: bool | None = False if never_draws else _snapshot(gen) != raw
        else:
            offset = before
            try:
                drew = before is not None and state_hash(gen) != before
            except Exception:
                drew = None
        record = {"fn": name, "args": merged, "seed": seed, "offset": offset,
                  "generator": "default" if gen_arg is None else "explicit", "random": drew}
        tensor.__dict__["_provenance"] = record  # every Tensor has a __dict__
        return out

    wrapper._records_provenance = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def provenance(model: Module, *, remove_duplicate: bool = True) -> dict[str, dict[str, Any]]:
    """Name -> provenance record for every parameter of `model` that has one, in named order.

    A tied parameter is listed once, under its first name (or under every name with
    `remove_duplicate=False`). Pass the result as `weightwise.io.save(sd, path,
    metadata={"provenance": provenance(model)})` to store it with a plain `state_dict()`.

    Example:
        >>> provenance(model)["fc.weight"]["fn"]
        'kaiming_uniform_'
    """
    out: dict[str, dict[str, Any]] = {}
    for name, p in model.named_parameters(remove_duplicate=remove_duplicate):
        rec = p.__dict__.get("_provenance")
        if isinstance(rec, dict):
            out[name] = rec
    return out


def _linear_default(m: Any) -> dict[str, dict[str, Any]]:
    fan_in = int(m.weight._a.shape[1]) if m.weight._a.ndim == 2 else 0
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return {"weight": {"fn": "kaiming_uniform_", "args": {"a": math.sqrt(5), "mode": "fan_in",
                                                          "nonlinearity": "leaky_relu"}},
            "bias": {"fn": "uniform_", "args": {"a": -bound, "b": bound}}}


def _bilinear_default(m: Any) -> dict[str, dict[str, Any]]:
    bound = 1 / math.sqrt(int(m.weight._a.shape[1]))
    rec = {"fn": "uniform_", "args": {"a": -bound, "b": bound}}
    return {"weight": rec, "bias": dict(rec)}


def _ones_zeros(m: Any) -> dict[str, dict[str, Any]]:
    return {"weight": {"fn": "ones_", "args": {}}, "bias": {"fn": "zeros_", "args": {}}}


def _normal01(m: Any) -> dict[str, dict[str, Any]]:
    return {"weight": {"fn": "normal_", "args": {"mean": 0.0, "std": 1.0}}}


_DEFAULTS: dict[str, Callable[[Any], dict[str, dict[str, Any]]]] = {
    "Linear": _linear_default, "LazyLinear": _linear_default, "Bilinear": _bilinear_default,
    "LayerNorm": _ones_zeros, "BatchNorm1d": _ones_zeros, "BatchNorm2d": _ones_zeros,
    "Embedding": _normal01,
}


def record_default_init(module: Module, *, overwrite: bool = False) -> dict[str, dict[str, Any]]:
    """Label parameters with the default initialisation of their layer type, after the fact.

    For layers whose constructor did not record (their initializers are not decorated), this
    attaches `{"fn", "args", "seed", "offset": None, "default": True}` to each parameter of
    every known layer in `module` (Linear, LazyLinear, Bilinear, LayerNorm, BatchNorm1d/2d,
    Embedding) that has no record yet (all of them with `overwrite=True`). `offset` is None:
    the stream position at construction time is no longer known. Returns the records set.

    Example:
        >>> net = Sequential(Linear(2, 3))
        >>> record_default_init(net)["0.weight"]["fn"]
        'kaiming_uniform_'
    """
    seed = int(_random.default_generator.initial_seed())
    done: dict[str, dict[str, Any]] = {}
    for path, mod in module.named_modules():
        maker = _DEFAULTS.get(type(mod).__name__)
        if maker is None:
            continue
        params = mod.__dict__["_parameters"]
        if any(is_lazy(p) for p in params.values()):
            continue  # a lazy layer before its first call: nothing to say yet
        try:
            table = maker(mod)
        except (AttributeError, IndexError):
            continue  # lazy or unusual: nothing to say yet
        for attr, rec in table.items():
            p = params.get(attr)
            if p is None or (not overwrite and isinstance(p.__dict__.get("_provenance"), dict)):
                continue
            full = {**rec, "seed": seed, "offset": None, "generator": "default", "random":
                    rec["fn"] not in ("ones_", "zeros_"), "default": True}
            if set_provenance(p, full):
                done[f"{path}.{attr}" if path else attr] = full
    return done
