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

__all__ = ["provenance", "record_default_init", "record_init", "set_provenance", "state_hash"]

F = TypeVar("F", bound=Callable[..., Any])

_depth = threading.local()
_MT_STATE_BYTES = 624 * 4 + 4  # numpy's mt19937_state: uint32 key[624]; int pos


def state_hash(generator: Any = None) -> str:
    """A 16-hex-digit hash of a generator's full state (default: the default generator).

    Reads the state only; no number is drawn.
    """
    gen = generator if generator is not None else _random.default_generator
    engine = getattr(gen, "_engine", None)
    raw: bytes | None = None
    if isinstance(engine, np.random.MT19937):
        try:  # the raw MT19937 struct (624 uint32 words and the position): no Python dict built
            raw = ctypes.string_at(engine.ctypes.state_address, _MT_STATE_BYTES)
            raw += repr((getattr(gen, "_fresh", None), getattr(gen, "_next_float_normal", None),
                         getattr(gen, "_next_double_normal", None))).encode()
        except (AttributeError, TypeError, ValueError):
            raw = None
    if raw is None:
        raw = np.asarray(gen.get_state()).tobytes()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


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


def record_init(fn: F) -> F:
    """Decorate an initializer `fn(tensor, *args, generator=None, **kw) -> tensor` so that the
    tensor records `{"fn", "args", "seed", "offset", "generator", "random"}` as `_provenance`.

    Transparent: the wrapper has `fn`'s name, docstring and signature, returns what `fn`
    returns, raises what `fn` raises (and records nothing then), and draws no random number.
    Only the outermost decorated call records (nested initializers do not overwrite it).

    Example:
        >>> xavier = record_init(nn.init.xavier_uniform_)
        >>> xavier(model.fc.weight, gain=2.0)._provenance["args"]
        {'gain': 2.0}
    """
    if getattr(fn, "_records_provenance", False):
        return fn
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    name = getattr(fn, "__name__", type(fn).__name__)
    # Parameters after the tensor, when all are plain with defaults (every nn.init function).
    simple: list[str] | None = None
    defaults: dict[str, Any] = {}
    if sig is not None:
        ps = list(sig.parameters.values())
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if ps and all(p.kind in plain and p.default is not inspect.Parameter.empty for p in ps[1:]):
            simple = [p.name for p in ps[1:] if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
            defaults = {p.name: p.default for p in ps[1:]}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "n", 0)
        if depth:
            _depth.n = depth + 1
            try:
                return fn(*args, **kwargs)
            finally:
                _depth.n = depth
        tensor = args[0] if args else kwargs.get("tensor")
        bound_args: dict[str, Any] = {}
        gen_arg = None
        if simple is not None and len(args) <= len(simple) + 1 and all(k in defaults for k in kwargs):
            merged = dict(defaults)  # the fast path: plain positional-or-keyword parameters
            merged.update(zip(simple, args[1:]))
            merged.update(kwargs)
            if merged.get("generator") is not None:
                gen_arg = merged["generator"]
            bound_args = {k: _jsonable(v) for k, v in merged.items() if k != "generator"}
        elif sig is not None:
            try:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
                items = list(bound.arguments.items())[1:]  # drop the tensor
                for k, v in items:
                    if k == "generator":
                        gen_arg = v
                    else:
                        bound_args[k] = _jsonable(v)
            except TypeError:
                pass  # fn itself reports the bad call below
        gen = gen_arg if gen_arg is not None else _random.default_generator
        try:
            before = state_hash(gen)
        except Exception:  # a generator-like object without get_state
            before = None
        _depth.n = 1
        try:
            out = fn(*args, **kwargs)
        finally:
            _depth.n = 0
        if isinstance(tensor, Tensor):
            record: dict[str, Any] = {"fn": name, "args": bound_args}
            try:
                record["seed"] = int(gen.initial_seed())
            except Exception:
                record["seed"] = None
            record["offset"] = before
            record["generator"] = "default" if gen_arg is None else "explicit"
            try:
                record["random"] = before is not None and state_hash(gen) != before
            except Exception:
                record["random"] = None
            set_provenance(tensor, record)
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
