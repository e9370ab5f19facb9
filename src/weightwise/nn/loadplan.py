"""Load plans: what `load_state_dict` would do, computed before anything changes.

`plan_load(model, source)` pairs every file key (after rename rules) with a model name and
sorts them into: matched, missing, unexpected, shape mismatch, dtype cast and aliases (keys
that are tied in the file; model names that are tied, including names a file leaves out but
that get their values through a tie). `str(plan)` is a table, `plan.ok` says whether it can be
applied, `plan.apply()` loads it, all or nothing.

Rename rules, in order: prefixes in `strip_prefixes` (default `"module."` from DataParallel /
DistributedDataParallel and `"_orig_mod."` from `torch.compile`) are stripped, repeatedly,
from keys that are not model names as they are; then each `(pattern, replacement)` in
`rename` is applied with `re.sub` (a callable `key -> key` is also accepted).

Example:
    >>> plan = plan_load(model, "ddp_checkpoint.pt", rename=[(r"^fc\\.", "head.")])
    >>> print(plan)
    load plan for Net from ddp_checkpoint.pt: 4 matched, 0 missing, 0 unexpected -> ok
    status   model name   file key              shape    dtype
    matched  0.weight     module.0.weight       (8, 4)   float32
    ...
    >>> plan.apply()
    <All keys matched successfully>
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Sequence, Union

import numpy as np

from ..tensor import Tensor
from .parameter import is_lazy
from .provenance import set_provenance

if TYPE_CHECKING:
    from .module import Module

__all__ = ["LoadPlan", "PlanRow", "plan_load"]

RenameRule = Union[tuple[Union[str, "re.Pattern[str]"], str], Callable[[str], str]]


class PlanRow(NamedTuple):
    """One row of a plan: status, model name, file key, shapes, dtypes, note."""

    status: str          # matched | cast | shape | missing | unexpected | alias | invalid | collision | conflict
    name: str            # model name ("" for unexpected keys)
    key: str             # file key as in the file ("" for missing names)
    model_shape: tuple[int, ...] | None
    file_shape: tuple[int, ...] | None
    model_dtype: str
    file_dtype: str
    note: str = ""


def _as_tensor(v: Any) -> Tensor | None:
    """A weightwise Tensor for a Tensor, ndarray or PyTorch tensor (no copy); else None."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, np.ndarray):
        return Tensor._make(v)
    mod = type(v).__module__ or ""
    if mod.startswith("torch") and hasattr(v, "detach"):
        try:
            return Tensor._make(v.detach().cpu().numpy())
        except (TypeError, RuntimeError):
            return None
    return None


def _dtype_name(t: Tensor | None) -> str:
    if t is None:
        return ""
    return str(t.dtype).replace("torch.", "")


def _shape(t: Tensor | None) -> tuple[int, ...] | None:
    if t is None or is_lazy(t):
        return None
    return tuple(int(s) for s in t._a.shape)


def _mem(t: Tensor) -> tuple[Any, ...]:
    a = t._a
    if a.size == 0:
        return ("id", id(t))
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


def _read_source(source: Any) -> tuple[Mapping[str, Any], str, dict[str, Any]]:
    """(state dict, description, provenance from the file) for a path or a mapping."""
    if isinstance(source, (str, os.PathLike)):
        from ..io import load, open_checkpoint

        obj = load(source)
        prov: dict[str, Any] = {}
        try:
            with open_checkpoint(source, verify=False) as ck:
                prov = dict(ck.provenance or {})
        except (OSError, ValueError):
            prov = {}
        if isinstance(obj, Mapping):
            for inner in ("model", "state_dict"):
                sub = obj.get(inner)
                if isinstance(sub, Mapping) and not any(_as_tensor(v) is not None for v in obj.values()):
                    return sub, f"{os.fspath(source)}[{inner!r}]", {}
            return obj, os.fspath(source), prov
        raise TypeError(f"plan_load(): {os.fspath(source)} holds a {type(obj).__name__}, not a state dict")
    if isinstance(source, Mapping):
        return source, "state_dict", {}
    raise TypeError(f"plan_load(): source must be a state dict (a mapping of names to tensors) or a "
                    f"path, got {type(source).__name__}")


class LoadPlan:
    """The outcome of `plan_load`: rows by category, `ok`, a table as `str()`, and `apply()`.

    Attributes:
        matched: (model name, file key) pairs that will be copied (casts included).
        missing: model names the file does not provide (and no tie fills).
        unexpected: file keys that map to no model name.
        shape_mismatch: (model name, file key, model shape, file shape).
        casts: (model name, file key, file dtype, model dtype) for values converted on copy.
        file_ties: groups of file keys stored as one tensor in the file.
        model_ties: groups of model names that are one parameter in the model.
        filled_by_tie: model name -> the tied model name whose file value it gets.
        renamed: file key -> model name, for keys the rules changed.
        problems: messages for what prevents applying (see `ok`).
    """

    def __init__(self, model: Module, source: str, strict: bool) -> None:
        self.model = model
        self.source = source
        self.strict = strict
        self.rows: list[PlanRow] = []
        self.matched: list[tuple[str, str]] = []
        self.missing: list[str] = []
        self.unexpected: list[str] = []
        self.shape_mismatch: list[tuple[str, str, tuple[int, ...] | None, tuple[int, ...] | None]] = []
        self.casts: list[tuple[str, str, str, str]] = []
        self.file_ties: list[list[str]] = []
        self.model_ties: list[list[str]] = []
        self.filled_by_tie: dict[str, str] = {}
        self.renamed: dict[str, str] = {}
        self.problems: list[str] = []
        self._state: OrderedDict[str, Any] = OrderedDict()
        self._keys: dict[str, str] = {}   # model name -> file key
        self._provenance: dict[str, Any] = {}
        self._fingerprint: list[tuple[str, Any]] = []  # the objects themselves (ids can be reused)
        self.applied = False

    @property
    def ok(self) -> bool:
        """True when `apply()` would succeed: no shape mismatch, invalid value, rename
        collision or tie conflict, and with `strict` no missing or unexpected key."""
        return not self.problems

    def summary(self) -> str:
        parts = [f"{len(self.matched)} matched", f"{len(self.missing)} missing",
                 f"{len(self.unexpected)} unexpected"]
        if self.shape_mismatch:
            parts.append(f"{len(self.shape_mismatch)} shape mismatch")
        if self.casts:
            parts.append(f"{len(self.casts)} cast")
        if self.filled_by_tie:
            parts.append(f"{len(self.filled_by_tie)} filled by tie")
        verdict = "ok" if self.ok else f"NOT OK ({len(self.problems)} problem(s))"
        return (f"load plan for {type(self.model).__name__} from {self.source}: "
                f"{', '.join(parts)} -> {verdict}")

    def __str__(self) -> str:
        head = ("status", "model name", "file key", "shape", "dtype", "note")
        rows = [head]
        for r in self.rows:
            if r.status == "shape":
                shape = f"{r.model_shape} vs file {r.file_shape}"
            else:
                s = r.model_shape if r.model_shape is not None else r.file_shape
                shape = "" if s is None else str(s)
            if r.file_dtype and r.model_dtype and r.file_dtype != r.model_dtype:
                dt = f"{r.file_dtype} -> {r.model_dtype}"
            else:
                dt = r.model_dtype or r.file_dtype
            rows.append((r.status, r.name or "-", r.key or "-", shape, dt, r.note))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [self.summary()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LoadPlan {self.summary()}>"

    def state_dict(self) -> OrderedDict[str, Any]:
        """The renamed state dict `apply()` loads (values as in the source, not copied)."""
        return OrderedDict(self._state)

    def apply(self) -> Any:
        """Load the plan into the model, all or nothing; returns `_IncompatibleKeys`.

        Each loaded parameter's provenance becomes the file's record for it when the file has
        one, else `{"fn": "load_state_dict", "args": {"source": ..., "key": ...}}`.

        Raises:
            RuntimeError: the plan is not `ok` (listing every problem), or the model's
                parameters changed since the plan was made; the model is left unchanged.
        """
        if not self.ok:
            raise RuntimeError(f"LoadPlan.apply(): cannot load into {type(self.model).__name__}:\n\t"
                               + "\n\t".join(self.problems))
        now = list(self.model.state_dict(keep_vars=True).items())
        if len(now) != len(self._fingerprint) or any(
                n != n0 or p is not p0 for (n, p), (n0, p0) in zip(now, self._fingerprint)):
            raise RuntimeError("LoadPlan.apply(): the model's parameters or buffers changed since "
                               "the plan was made; call plan_load() again")
        result = self.model.load_state_dict(self._state, strict=self.strict)
        params = dict(self.model.named_parameters(remove_duplicate=False))
        for name, key in self._keys.items():
            p = params.get(name)
            if p is None:
                continue
            rec = self._provenance.get(key)
            if not isinstance(rec, dict):
                src = self._state.get(name)
                own = getattr(src, "__dict__", {}).get("_provenance") if src is not None else None
                rec = own if isinstance(own, dict) else {
                    "fn": "load_state_dict", "args": {"source": self.source, "key": key}}
            set_provenance(p, dict(rec))
        self.applied = True
        return result


def _sub(rx: re.Pattern[str], repl: str) -> Callable[[str], str]:
    def fn(key: str) -> str:
        return rx.sub(repl, key)

    return fn


def _rename_fn(rename: Sequence[RenameRule] | None) -> list[Callable[[str], str]]:
    fns: list[Callable[[str], str]] = []
    for rule in rename or ():
        if callable(rule):
            fns.append(rule)
            continue
        if not (isinstance(rule, tuple) and len(rule) == 2 and isinstance(rule[1], str)):
            raise TypeError(f"plan_load(): a rename rule must be (pattern, replacement) or a "
                            f"callable, got {rule!r}")
        pat, repl = rule
        try:
            rx = pat if isinstance(pat, re.Pattern) else re.compile(pat)
        except re.error as e:
            raise ValueError(f"plan_load(): invalid regular expression {pat!r} in rename: {e}") from None
        fns.append(_sub(rx, repl))
    return fns


def plan_load(model: Module, state_dict_or_path: Mapping[str, Any] | str | os.PathLike[str], *,
              rename: Sequence[RenameRule] | None = None,
              strip_prefixes: Sequence[str] = ("module.", "_orig_mod."),
              strict: bool = True) -> LoadPlan:
    """Compute what loading `state_dict_or_path` into `model` would do, changing nothing.

    Args:
        model: the module to load into.
        state_dict_or_path: a mapping of names to tensors (weightwise, NumPy or PyTorch), or a
            file path read with `weightwise.io.load` (a checkpoint dict with a `"model"` or
            `"state_dict"` entry is unwrapped).
        rename: rules applied in order after prefix stripping: `(regex, replacement)` pairs
            (`re.sub`) or callables `key -> key`.
        strip_prefixes: prefixes removed (repeatedly) from keys that are not model names as
            they are.
        strict: whether missing and unexpected keys prevent `apply()` (as in `load_state_dict`).

    Returns:
        a `LoadPlan`; `print(plan)` shows every row, `plan.apply()` loads.

    Example:
        >>> sd = {"module." + k: v for k, v in other.state_dict().items()}
        >>> plan = plan_load(model, sd)
        >>> plan.ok, plan.renamed["module.0.weight"]
        (True, '0.weight')
    """
    state, desc, file_prov = _read_source(state_dict_or_path)
    rules = _rename_fn(rename)
    plan = LoadPlan(model, desc, strict)
    plan._provenance = file_prov
    own = model.state_dict(keep_vars=True)
    plan._fingerprint = list(own.items())
    params = dict(model.named_parameters(remove_duplicate=False))

    # 1. rename file keys
    target_of: dict[str, str] = {}
    by_name: dict[str, list[str]] = {}
    for key in state:
        if not isinstance(key, str):
            plan.problems.append(f"file key {key!r} is not a string")
            continue
        name = key
        changed = True
        while name not in own and changed:
            changed = False
            for pre in strip_prefixes:
                if pre and name.startswith(pre):
                    name, changed = name[len(pre):], True
                    break
        for fn in rules:
            name = fn(name)
        if name != key:
            plan.renamed[key] = name
        target_of[key] = name
        by_name.setdefault(name, []).append(key)
    for name, keys in by_name.items():
        if len(keys) > 1:
            plan.problems.append(f"rename collision: file keys {', '.join(keys)} all map to '{name}'")
            plan.rows.append(PlanRow("collision", name, ", ".join(keys), None, None, "", "",
                                     "several file keys map to this name"))

    # 2. file ties (keys sharing one tensor in the source)
    groups: dict[tuple[Any, ...], list[str]] = {}
    values: dict[str, Tensor] = {}
    for key in target_of:
        t = _as_tensor(state[key])
        if t is not None:
            values[key] = t
            if not is_lazy(t):
                groups.setdefault(_mem(t), []).append(key)
    plan.file_ties = [g for g in groups.values() if len(g) > 1]

    # 3. model names against file keys
    key_of = {name: keys[0] for name, keys in by_name.items()}
    for name, target in own.items():
        if name not in key_of:
            continue
        key = key_of[name]
        raw = state[key]
        t = values.get(key)
        if t is None:
            if name.endswith("_extra_state") and not isinstance(target, Tensor):
                plan._state[name] = raw
                plan._keys[name] = key
                plan.matched.append((name, key))
                plan.rows.append(PlanRow("matched", name, key, None, None, "", "", "extra state"))
                continue
            msg = f"'{key}' (for {name}) is a {type(raw).__name__}, not a tensor"
            plan.problems.append(msg)
            plan.rows.append(PlanRow("invalid", name, key, _shape(target), None, _dtype_name(target), "", msg))
            continue
        ms, fs = _shape(target), _shape(t)
        if ms is not None and fs is not None and ms != fs and not (ms == () and fs == (1,)):
            plan.shape_mismatch.append((name, key, ms, fs))
            plan.problems.append(f"size mismatch for {name}: the file ('{key}') has shape {fs}, the "
                                 f"model has {ms}")
            plan.rows.append(PlanRow("shape", name, key, ms, fs, _dtype_name(target), _dtype_name(t)))
            continue
        plan._state[name] = t
        plan._keys[name] = key
        plan.matched.append((name, key))
        md, fd = _dtype_name(target), _dtype_name(t)
        if not is_lazy(target) and md != fd:
            plan.casts.append((name, key, fd, md))
            plan.rows.append(PlanRow("cast", name, key, ms, fs, md, fd, "converted on copy"))
        else:
            plan.rows.append(PlanRow("matched", name, key, ms, fs, md, fd))

    # 4. model ties: fill names a tie partner provides; detect conflicting values
    from .ties import tie_groups

    plan.model_ties = tie_groups(model)
    for group in plan.model_ties:
        given = [n for n in group if n in plan._state]
        if not given:
            continue
        first = given[0]
        for n in group:
            if n not in key_of and n in own:
                plan.filled_by_tie[n] = first
                plan._state[n] = plan._state[first]
                plan.rows.append(PlanRow("alias", n, "", _shape(params[n]), None, _dtype_name(params[n]), "",
                                         f"tied with {first}: gets its value from '{plan._keys[first]}'"))
        vals = [(n, plan._state[n]) for n in given]
        base_n, base_t = vals[0]
        for n, t in vals[1:]:
            if t is base_t or _mem(t) == _mem(base_t):
                continue
            if not np.array_equal(t._a, base_t._a):
                plan.problems.append(
                    f"tie conflict: {base_n} and {n} are one parameter in the model, but the file gives "
                    f"them different values ('{plan._keys[base_n]}', '{plan._keys[n]}'); remove one of the "
                    "two keys from the state dict, or untie them first")
                plan.rows.append(PlanRow("conflict", n, plan._keys[n], _shape(t), _shape(t), "", "",
                                         f"tied with {base_n} but the file values differ"))
        if len(given) > 1:
            plan.rows.append(PlanRow("alias", ", ".join(given), ", ".join(plan._keys[n] for n in given),
                                     None, None, "", "", "tied in the model; loaded into one tensor"))
    for fg in plan.file_ties:
        names = [target_of[k] for k in fg]
        tied_in_model = any(set(names) <= set(g) for g in plan.model_ties)
        note = "tied in the file and in the model" if tied_in_model else \
            "tied in the file; separate in the model (each gets a copy)"
        plan.rows.append(PlanRow("alias", ", ".join(names), ", ".join(fg), None, None, "", "", note))

    # 5. missing and unexpected
    for name in own:
        if name not in key_of and name not in plan.filled_by_tie:
            plan.missing.append(name)
            t = own[name]
            plan.rows.append(PlanRow("missing", name, "", _shape(t) if isinstance(t, Tensor) else None, None,
                                     _dtype_name(t) if isinstance(t, Tensor) else "", ""))
    for key, name in target_of.items():
        if name not in own:
            plan.unexpected.append(key)
            t = values.get(key)
            plan._state[name] = state[key]
            note = f"renamed to '{name}'" if name != key else ""
            plan.rows.append(PlanRow("unexpected", "", key, None, _shape(t), "", _dtype_name(t), note))
    if strict:
        if plan.missing:
            plan.problems.insert(0, "missing key(s): " + ", ".join(plan.missing))
        if plan.unexpected:
            plan.problems.insert(1 if plan.missing else 0, "unexpected key(s): " + ", ".join(
                f"{k} (as '{target_of[k]}')" if target_of[k] != k else k for k in plan.unexpected))
    return plan
