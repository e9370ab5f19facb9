"""`state_dict` and `load_state_dict` for `Module`: PyTorch's keys, order and error text.

`load_state_dict` runs in two phases. The plan phase pairs every expected key with its value and
gathers every problem (missing and unexpected keys, shape mismatches, values that are not
tensors); only when there is none does the apply phase copy the values, under no-grad, into the
existing tensors (one `numpy.copyto` each), so a failed load changes nothing and ties survive.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..tensor import Tensor
from .parameter import Parameter, is_lazy

if TYPE_CHECKING:
    from .module import Module


def module_state_dict(module: Module, destination: Any, prefix: str, keep_vars: bool) -> Any:
    """PyTorch's `state_dict`; the OrderedDict it creates also carries `_provenance`.

    `_provenance` (like PyTorch's `_metadata`, an attribute of the returned OrderedDict) maps
    each key whose parameter or buffer has a provenance record to that record. It is set only
    when at least one tensor has a record; checking costs one dict lookup per tensor.
    """
    from .module import Module

    created = destination is None
    if created:
        destination = OrderedDict()
        destination._metadata = OrderedDict()  # type: ignore[attr-defined]
    prov = getattr(destination, "_provenance", None)
    if not isinstance(prov, dict):
        prov = {}
        if created:  # nested state_dict overrides add their records to the same dict
            destination._provenance = prov  # type: ignore[attr-defined]
    plain = (Module._save_to_state_dict, Module.get_extra_state, Module.state_dict)
    out = _save(module, destination, prefix, keep_vars, plain, {}, prov)
    if created:
        if out is not destination:  # a state_dict hook returned a new mapping
            del destination._provenance  # type: ignore[attr-defined]
            if prov:
                try:
                    out._provenance = prov
                except AttributeError:
                    pass
        elif not prov:
            del destination._provenance  # type: ignore[attr-defined]
    return out


_MISSING_META = object()


def _save(mod: Module, dest: Any, prefix: str, keep_vars: bool, plain: tuple, fast: dict,
          prov: dict[str, Any], meta: Any = _MISSING_META) -> Any:
    """PyTorch's recursive `state_dict`, with the common case (no overrides) inlined."""
    d = mod.__dict__
    local_metadata = {"version": mod._version}
    if meta is _MISSING_META:
        meta = getattr(dest, "_metadata", None)
    if meta is not None:
        meta[prefix[:-1]] = local_metadata
    hooks = d["_state_dict_pre_hooks"]
    if hooks:
        for hook in list(hooks.values()):
            hook(mod, prefix, keep_vars)
    cls = type(mod)
    is_fast = fast.get(cls)
    if is_fast is None:
        is_fast = fast[cls] = (cls._save_to_state_dict is plain[0] and cls.get_extra_state is plain[1],
                               cls.state_dict is plain[2])
    if is_fast[0]:
        for name, p in d["_parameters"].items():
            if p is not None:
                dest[prefix + name] = p if keep_vars or is_lazy(p) else _detach(p)
                if p.__dict__:
                    _note(prov, prefix + name, p)
        bufs = d["_buffers"]
        if bufs:
            nonpersistent = d["_non_persistent_buffers_set"]
            for name, b in bufs.items():
                if b is not None and name not in nonpersistent:
                    dest[prefix + name] = b if keep_vars or is_lazy(b) else _detach(b)
                    if b.__dict__:
                        _note(prov, prefix + name, b)
    else:
        mod._save_to_state_dict(dest, prefix, keep_vars)
        for name, t in _local_state(mod).items():
            if prefix + name in dest and t.__dict__:
                _note(prov, prefix + name, t)
    kids = d["_modules"]
    if kids:
        for name, child in kids.items():
            if child is not None:
                child_prefix = prefix + name + "."
                kind = fast.get(type(child))
                if (kind is not None and kind[1]) or type(child).state_dict is plain[2]:
                    _save(child, dest, child_prefix, keep_vars, plain, fast, prov, meta)
                else:
                    child.state_dict(destination=dest, prefix=child_prefix, keep_vars=keep_vars)
    hooks = d["_state_dict_hooks"]
    if hooks:
        for hook in list(hooks.values()):
            r = hook(mod, dest, prefix, local_metadata)
            if r is not None:
                dest = r
    return dest


def _note(prov: dict[str, Any], key: str, t: Tensor) -> None:
    rec = t.__dict__.get("_provenance")
    if isinstance(rec, dict):
        prov[key] = rec


def _detach(t: Tensor) -> Tensor:
    """`t.detach()`: the same memory and version counter, no autograd history (inlined `_make`)."""
    out = _new(Tensor)
    out._a = t._a
    out.requires_grad = False
    out.grad = None
    out.grad_fn = None
    out._vc = t._vc
    out._base = None
    out._hooks = None
    out._retains_grad = False
    return out


_new = object.__new__


_make = Tensor._make


# ---------------------------------------------------------------------------------------------
# load_state_dict


def _local_state(mod: Module) -> dict[str, Any]:
    d = mod.__dict__
    out = {k: v for k, v in d["_parameters"].items() if v is not None}
    nonpersistent = d["_non_persistent_buffers_set"]
    for k, v in d["_buffers"].items():
        if v is not None and k not in nonpersistent:
            out[k] = v
    return out


def _has_extra_state(mod: Module) -> bool:
    from .module import Module

    return type(mod).set_extra_state is not Module.set_extra_state


def _apply_one(target: Tensor, value: Tensor) -> None:
    """Copy one value into a tensor that may be an uninitialised (lazy) parameter."""
    if is_lazy(target) and not is_lazy(value):
        target.materialize(value._a.shape, dtype=value._a.dtype)  # type: ignore[attr-defined]
    if value._a is not target._a:
        np.copyto(target._a, value._a, casting="unsafe")
    target._vc[0] += 1


def _expected_shape_error(key: str, value: Any, param: Tensor) -> tuple[str | None, Any]:
    """Check one value against its tensor; returns (error message or None, value to copy)."""
    if not isinstance(value, Tensor):
        return (f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like object '
                f"from checkpoint but received {type(value)}"), value
    if is_lazy(param):
        return None, value
    if is_lazy(value):
        return (f'While copying the parameter named "{key}", whose dimensions in the model are '
                f"{param.shape} and whose dimensions in the checkpoint are <uninitialized>, an "
                "exception occurred : ('Can\\'t copy an uninitialized parameter',)."), value
    pshape, vshape = param._a.shape, value._a.shape
    if len(pshape) == 0 and len(vshape) == 1:
        value = value[0]  # type: ignore[index]
        vshape = value._a.shape
    if vshape != pshape:
        return (f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
                f"the shape in current model is {param.shape}."), value
    return None, value


_MISSING = object()
_PLAIN = (Tensor, Parameter)


def module_load_state_dict(module: Module, state_dict: Mapping[str, Any], strict: bool, assign: bool) -> Any:
    from .module import Module, _IncompatibleKeys

    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    metadata = getattr(state_dict, "_metadata", None)
    sd: dict[str, Any] = dict(state_dict)
    walk = module._walk(remove_duplicate=False)
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    plan: list[tuple[Module, str, Tensor, Any]] = []  # (module, name, target, value)
    extra: list[tuple[Module, Any]] = []
    used: set[str] = set()
    base_load = Module._load_from_state_dict
    for path, mod in walk:
        d = mod.__dict__
        prefix = path + "." if path else ""
        if d["_load_state_dict_pre_hooks"] or type(mod)._load_from_state_dict is not base_load:
            local_metadata = {} if metadata is None else dict(metadata.get(path, {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            for hook in d["_load_state_dict_pre_hooks"].values():
                hook(sd, prefix, local_metadata, True, missing, unexpected, errors)
            if type(mod)._load_from_state_dict is not base_load:
                mod._load_from_state_dict(sd, prefix, local_metadata, True, missing, unexpected, errors)
        nonpersistent = d["_non_persistent_buffers_set"]
        for group in (d["_parameters"], d["_buffers"]):
            for name, target in group.items():
                if target is None or (group is not d["_parameters"] and name in nonpersistent):
                    continue
                key = prefix + name
                value = sd.get(key, _MISSING)
                if value is _MISSING:
                    missing.append(key)
                    continue
                used.add(key)
                if (type(value) in _PLAIN and type(target) in _PLAIN
                        and value._a.shape == target._a.shape):
                    plan.append((mod, name, target, value))  # the common case, checked inline
                    continue
                err, value = _expected_shape_error(key, value, target)
                if err is not None:
                    errors.append(err)
                else:
                    plan.append((mod, name, target, value))
        if _has_extra_state(mod):
            key = prefix + "_extra_state"
            if key in sd:
                used.add(key)
                extra.append((mod, sd[key]))
            else:
                missing.append(key)
    if len(used) != len(sd):
        unexpected.extend(_unexpected(walk, sd, used))
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(module.__class__.__name__, "\n\t".join(errors)))
    _apply_plan(plan, assign)
    for mod, value in extra:
        mod.set_extra_state(value)
    keys = _IncompatibleKeys(missing, unexpected)
    for _, mod in walk:
        for hook in mod.__dict__["_load_state_dict_post_hooks"].values():
            hook(mod, keys)
    return keys


def _unexpected(walk: list[tuple[str, Module]], sd: dict[str, Any], expected: set[str]) -> list[str]:
    """Keys no module claims, ordered like PyTorch (by the module that rejects them, then key)."""
    order = {path: i for i, (path, _) in reversed(list(enumerate(walk)))}
    root = walk[0][1]
    found: list[tuple[int, int, str]] = []
    for j, key in enumerate(sd):
        if key in expected:
            continue
        mod, path, rest = root, "", key
        while "." in rest:
            first, rest = rest.split(".", 1)
            kids = mod.__dict__["_modules"]
            if first not in kids:
                found.append((order.get(path, 0), j, key))  # attributes only live on modules
                break
            if kids[first] is None:
                break  # PyTorch does not descend into an empty slot
            mod, path = kids[first], (path + "." + first if path else first)
        else:
            found.append((order.get(path, 0), j, key))
    found.sort()
    return [k for _, _, k in found]


def _apply_plan(plan: list[tuple[Any, str, Tensor, Any]], assign: bool) -> None:
    if not assign:
        copyto = np.copyto
        for _, _, target, value in plan:
            if type(target) in _PLAIN:
                dst, src = target._a, value._a
                if src is not dst:
                    copyto(dst, src, casting="unsafe")
                target._vc[0] += 1
            else:
                _apply_one(target, value)
        return
    # assign=True: take the loaded tensors themselves (a Parameter where a Parameter was). A tie
    # survives: one new object per old object (keyed by id), and old objects that shared one
    # array get new objects sharing one array. Where a tied group is given different values,
    # the last key wins, as with the copying load (which writes every key into the one memory).
    chosen: dict[int, Any] = {}
    for _, _, target, value in plan:
        chosen[id(target._a)] = value
    built: dict[int, Tensor] = {}
    taken: set[int] = set()
    for mod, name, target, value in plan:
        new = built.get(id(target))
        if new is None:
            value = chosen[id(target._a)]
            if isinstance(target, Parameter):
                if isinstance(value, Parameter) and id(value) not in taken:
                    new = value
                    new.requires_grad = target.requires_grad
                else:
                    new = Parameter(value, requires_grad=target.requires_grad)
            else:
                new = value
            built[id(target)] = new
            taken.add(id(new))
        if name in mod._parameters:
            mod._parameters[name] = new
        else:
            mod._buffers[name] = new
