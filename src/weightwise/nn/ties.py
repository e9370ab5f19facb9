"""Ties made visible: which names share one parameter, and tying/untying by name.

A *tie* is two or more dotted parameter names that refer to one tensor: the very same
`Parameter` object (what `decoder.weight = encoder.weight` does), or distinct `Parameter`
objects wrapping one NumPy array (what `Parameter(other_param)` does, since a Parameter shares
the memory of the tensor it wraps). Both kinds are reported by `tie_groups`.

Example:
    >>> from weightwise.nn.linear import Linear
    >>> from weightwise.nn.container import Sequential
    >>> net = Sequential(Linear(4, 4), Linear(4, 4))
    >>> tie(net, "1.weight", "0.weight")
    >>> tie_groups(net)
    [['0.weight', '1.weight']]
    >>> _ = untie(net, "1.weight")
    >>> tie_groups(net)
    []
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Parameter, is_lazy

if TYPE_CHECKING:
    from .module import Module

__all__ = ["tie", "tie_groups", "tied_with", "untie"]


def _memory_key(p: Tensor) -> tuple[Any, ...]:
    """A key equal for two tensors viewing the same memory the same way (object id if empty/lazy)."""
    if is_lazy(p):
        return ("id", id(p))
    a = p._a
    if a.size == 0:
        return ("id", id(p))
    return ("mem", a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


def tie_groups(model: Module) -> list[list[str]]:
    """Groups of dotted parameter names that share one Parameter object or one array.

    Names are listed in `named_parameters(remove_duplicate=False)` order, groups ordered by
    their first name; names with no partner are left out. Use it to count tied parameters
    once (`sum(numel) - sum(numel of every name after the first in each group)`).

    Example:
        >>> net = Sequential(Linear(2, 2), Linear(2, 2))
        >>> net[1].weight = net[0].weight
        >>> tie_groups(net)
        [['0.weight', '1.weight']]
    """
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(_memory_key(p), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def tied_with(model: Module) -> dict[str, list[str]]:
    """For every tied name, the other names of its group (untied names are absent)."""
    out: dict[str, list[str]] = {}
    for group in tie_groups(model):
        for name in group:
            out[name] = [n for n in group if n != name]
    return out


def _slot(model: Module, name: str, api: str) -> tuple[Module, str, Parameter]:
    """(owning module, attribute, current parameter) for a dotted parameter name."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"{api}(): parameter names must be non-empty strings, got {name!r}")
    path, _, attr = name.rpartition(".")
    try:
        owner = model.get_submodule(path)
    except AttributeError as e:
        raise AttributeError(f"{api}(): no module '{path}' for parameter '{name}' in "
                             f"{type(model).__name__}: {e}") from None
    params = owner.__dict__["_parameters"]
    if attr not in params or params[attr] is None:
        known = [n for n, _ in model.named_parameters(remove_duplicate=False)]
        raise AttributeError(f"{api}(): '{name}' is not a parameter of {type(model).__name__}; "
                             f"parameters are: {', '.join(known) or '(none)'}")
    return owner, attr, params[attr]


def tie(model: Module, target_name: str, source_name: str) -> None:
    """Make the parameter at `target_name` be the very `Parameter` object at `source_name`.

    The target's own values are dropped: afterwards both names read and write the source's
    tensor (one gradient, one optimizer state). Other names tied to the target before are not
    moved. Works across modules and depths (`"decoder.out.weight"`, `"embed.weight"`).

    Raises:
        AttributeError: either name is not a parameter of `model`.
        ValueError: the two parameters differ in shape or dtype (the message gives both).

    Example:
        >>> tie(model, "decoder.weight", "encoder.weight")
        >>> model.decoder.weight is model.encoder.weight
        True
    """
    _, _, src = _slot(model, source_name, "tie")
    owner, attr, dst = _slot(model, target_name, "tie")
    if dst is src:
        return
    if is_lazy(src) or is_lazy(dst):
        if type(src) is not type(dst):
            raise ValueError(f"tie(): cannot tie '{target_name}' to '{source_name}': one is an "
                             "uninitialized (lazy) parameter and the other is not; run a forward "
                             "pass first")
    else:
        if src._a.shape != dst._a.shape:
            raise ValueError(f"tie(): cannot tie '{target_name}' (shape {tuple(dst._a.shape)}) to "
                             f"'{source_name}' (shape {tuple(src._a.shape)}): shapes differ")
        if src._a.dtype != dst._a.dtype:
            raise ValueError(f"tie(): cannot tie '{target_name}' (dtype {dst.dtype}) to "
                             f"'{source_name}' (dtype {src.dtype}): dtypes differ; convert one "
                             "with .to(dtype) first")
    setattr(owner, attr, src)


def untie(model: Module, name: str) -> Parameter:
    """Give `name` its own copy of its parameter (same values, `requires_grad`, provenance).

    Other names of its tie group keep the original. Untying a name that is not tied is
    harmless (it gets a fresh copy). Returns the new Parameter.

    Raises:
        AttributeError: `name` is not a parameter of `model`.
        ValueError: the parameter is uninitialized (lazy).
    """
    owner, attr, old = _slot(model, name, "untie")
    if is_lazy(old):
        raise ValueError(f"untie(): '{name}' is an uninitialized (lazy) parameter; run a forward "
                         "pass first")
    with no_grad():
        new = Parameter(Tensor._make(np.array(old._a, copy=True)), requires_grad=old.requires_grad)
    prov = old.__dict__.get("_provenance")
    if isinstance(prov, dict):
        new.__dict__["_provenance"] = dict(prov)
    setattr(owner, attr, new)
    return new
