"""One pattern language for selecting parameters, and what it drives.

A *pattern* is one of:

- a glob on dotted names: `*` matches within one name part, `**` across parts (zero or more
  whole parts), `?` one character within a part; the whole name must match. `"**.weight"`
  (every weight, top-level ones included), `"0.*"` (the direct parameters of child `0`),
  `"block 1.**"` (everything under `block 1`; names may contain spaces);
- a regular expression: `re.compile(...)` or a string prefixed `"re:"`, searched in the name
  (`re.search`; anchor it with `^...$` for a full match);
- a module type: `Linear` selects every parameter of every `Linear` (and of its descendants);
  `(Linear, "weight")` selects the parameters of those modules whose local name matches the glob;
- a callable `predicate(name, parameter) -> bool`.

Every function reports what each pattern matched, and a pattern that matches nothing raises
`ValueError` naming it and the closest parameter names, unless `allow_empty=True`.

Where several patterns assign something (`init_`, `param_groups`), **the first matching
pattern wins**, as in a routing table: put specific patterns first and catch-alls (`"**"`)
last. The report shows, per pattern, what it matched and what it actually got.

Example:
    >>> init_(model, {"**.weight": nn.init.xavier_uniform_, "**.bias": nn.init.zeros_})
    >>> freeze(model, "encoder.**")
    >>> opt = SGD(param_groups(model, [{"params": "**.bias", "weight_decay": 0.0},
    ...                                {"params": "**", "weight_decay": 1e-4}]), lr=0.1)
    >>> print(inspect(model, "decoder.**"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from ..autograd import no_grad
from ._pattern import (  # noqa: F401  (re-exported: `nn.select` is the public home of the language)
    PatternLike,
    Report,
    Selection,
    Selector,
    _compile_re,
    _empty_error,
    _glob_to_regex,
    _is_module_types,
    _is_single_tuple,
    _Pattern,
    _patterns,
    _universe,
    match_names,
    select,
)
from .parameter import Parameter, is_lazy
from .ties import tied_with

if TYPE_CHECKING:
    from .module import Module

__all__ = [
    "ParamGroups", "Report", "Selection", "Selector", "freeze", "init_", "inspect", "match_names",
    "param_groups", "select", "unfreeze",
]


def _first_wins(api: str, model: Module, specs: Sequence[Any], allow_empty: bool,
                action: str) -> tuple[list[list[tuple[str, Parameter]]], Report]:
    """For each spec (a pattern or list of patterns): the parameters it gets, first match wins.

    A parameter (tied names included) goes to the first spec matching any of its names, once.
    """
    names, params = _universe(model)
    owner_of: dict[int, int] = {}
    report = Report(action)
    matched_per_spec: list[list[bool]] = []
    texts: list[str] = []
    for spec in specs:
        pats = _patterns(spec, api)
        mask = [False] * len(names)
        for pat in pats:
            hits = pat.match_all(names, params, model)
            if not any(hits) and not allow_empty:
                raise _empty_error(api, pat, names, model)
            mask = [a or b for a, b in zip(mask, hits)]
        text = " | ".join(p.text for p in pats)
        if text in report.matched:
            text = f"{text} #{len(texts)}"
        texts.append(text)
        report.matched[text] = [n for n, hit in zip(names, mask) if hit]
        matched_per_spec.append(mask)
    for i, mask in enumerate(matched_per_spec):
        for p, m in zip(params, mask):
            if m and id(p) not in owner_of:
                owner_of[id(p)] = i
    out: list[list[tuple[str, Parameter]]] = [[] for _ in specs]
    seen: set[int] = set()
    for i, mask in enumerate(matched_per_spec):
        for n, p, m in zip(names, params, mask):
            if m and owner_of.get(id(p)) == i and id(p) not in seen:
                seen.add(id(p))
                out[i].append((n, p))
    for i, text in enumerate(texts):
        report.assigned[text] = [n for n, _ in out[i]]
        if not out[i] and report.matched[text] and not allow_empty:
            raise ValueError(f"{api}(): pattern {text!r} (entry {i}) matched only parameters already "
                             f"taken by earlier entries (first match wins): "
                             f"{', '.join(report.matched[text])}; put it before them, or pass "
                             "allow_empty=True")
    report.unassigned = [n for n, p in zip(names, params) if id(p) not in owner_of]
    return out, report


def init_(model: Module, spec: Mapping[Any, Callable[..., Any]] | Iterable[tuple[Any, Callable[..., Any]]],
          *, allow_empty: bool = False) -> Report:
    """Initialise parameters by pattern in one call: `{pattern: initializer}`.

    Each parameter is written once, by the first pattern (in `spec` order) that matches it; a
    tied parameter once. Initializers run in `named_parameters` order (so the random stream
    is consumed in model order whatever the order of `spec`), under no-grad. An initializer is
    any `fn(tensor)`; use `functools.partial` for arguments. Returns the report (`str()` is a table).

    Raises:
        ValueError: a pattern matched nothing (unless `allow_empty`); a lazy parameter.

    Example:
        >>> print(init_(net, {"**.weight": nn.init.xavier_uniform_, "**.bias": nn.init.zeros_}))
    """
    pairs = list(spec.items()) if isinstance(spec, Mapping) else [tuple(x) for x in spec]
    for key, fn in pairs:
        if not callable(fn):
            raise TypeError(f"init_(): the initializer for pattern {key!r} must be callable, got {fn!r}")
    groups, report = _first_wins("init_", model, [k for k, _ in pairs], allow_empty, "initialized")
    todo: list[tuple[str, Parameter, Callable[..., Any]]] = []
    for (_, fn), group in zip(pairs, groups):
        todo.extend((n, p, fn) for n, p in group)
    order = {n: i for i, n in enumerate(n for n, _ in model.named_parameters(remove_duplicate=False))}
    todo.sort(key=lambda t: order[t[0]])
    for n, p, _ in todo:
        if is_lazy(p):
            raise ValueError(f"init_(): '{n}' is an uninitialized (lazy) parameter; run a forward "
                             "pass before initialising it")
    with no_grad():
        for _, p, fn in todo:
            fn(p)
    return report


def _set_requires_grad(api: str, model: Module, patterns: tuple[Any, ...], flag: bool,
                       allow_empty: bool) -> Report:
    if not patterns:
        raise ValueError(f"{api}(): give at least one pattern (\"**\" selects everything)")
    sel = Selector(*patterns)(model, allow_empty=allow_empty, api=api)
    for _, p in sel:
        p.requires_grad_(flag)
    sel.report.action = "frozen" if not flag else "unfrozen"
    return sel.report


def freeze(model: Module, *patterns: PatternLike, allow_empty: bool = False) -> Report:
    """Set `requires_grad=False` on the matched parameters (a tied one under every name).

    Example:
        >>> freeze(net, "encoder.**", nn.LayerNorm)
    """
    return _set_requires_grad("freeze", model, patterns, False, allow_empty)


def unfreeze(model: Module, *patterns: PatternLike, allow_empty: bool = False) -> Report:
    """Set `requires_grad=True` on the matched parameters."""
    return _set_requires_grad("unfreeze", model, patterns, True, allow_empty)


class ParamGroups(list):  # type: ignore[type-arg]
    """A list of optimizer parameter-group dicts (what optimizers accept), plus `.report`."""

    report: Report


def param_groups(model: Module, groups: Sequence[Mapping[str, Any]], *,
                 allow_empty: bool = False) -> ParamGroups:
    """Optimizer parameter groups from patterns: each group's `"params"` is a pattern (or a
    list of patterns); its other keys (lr, weight_decay, ...) are copied as they are.

    Each parameter lands in exactly one group, the first that matches it (tied ones once);
    parameters no group matches are left out and listed in `.report.unassigned`.

    Raises:
        ValueError: a group has no "params", or a pattern matched nothing, or every parameter
            a group matched went to earlier groups (unless `allow_empty`; then the group keeps
            an empty list).

    Example:
        >>> SGD(param_groups(net, [{"params": "**.bias", "weight_decay": 0.0},
        ...                        {"params": "**", "lr": 0.1}]), lr=0.01, weight_decay=1e-4)
    """
    specs = []
    for i, g in enumerate(groups):
        if not isinstance(g, Mapping) or "params" not in g:
            raise ValueError(f"param_groups(): group {i} must be a dict with a 'params' pattern, got {g!r}")
        specs.append(g["params"])
    assigned, report = _first_wins("param_groups", model, specs, allow_empty, "in group")
    out = ParamGroups()
    for g, got in zip(groups, assigned):
        d = {k: v for k, v in g.items() if k != "params"}
        out.append({"params": [p for _, p in got], **d})
    out.report = report
    return out


class Row(NamedTuple):
    """One row of `inspect`."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    numel: int
    requires_grad: bool
    tied_with: tuple[str, ...]


class Inspection(list):  # type: ignore[type-arg]
    """A list of `Row`s with a table as `str()` and `.report`."""

    report: Report

    def __str__(self) -> str:
        head = ("name", "shape", "dtype", "numel", "grad", "tied with")
        rows = [head] + [(r.name, str(tuple(r.shape)), r.dtype.replace("torch.", ""), str(r.numel),
                          "yes" if r.requires_grad else "no", ", ".join(r.tied_with) or "-") for r in self]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                 for r in rows]
        return "\n".join(lines)


def inspect(model: Module, *patterns: PatternLike, allow_empty: bool = False) -> Inspection:
    """Rows (name, shape, dtype, numel, requires_grad, tied_with) for the matched names.

    Every matched name gets a row (tied aliases too, each naming its partners); with no
    pattern, every parameter. `str(result)` is an aligned table.

    Example:
        >>> print(inspect(net, "**.weight"))
        name      shape    dtype    numel  grad  tied with
        0.weight  (8, 4)   float32     32  yes   -
    """
    sel = Selector(*(patterns or ("**",)))(model, allow_empty=allow_empty, remove_duplicate=False,
                                           api="inspect")
    ties = tied_with(model)
    out = Inspection()
    for n, p in sel:
        lazy = is_lazy(p)
        shape = () if lazy else tuple(int(s) for s in p._a.shape)
        out.append(Row(n, shape, str(p.dtype), 0 if lazy else int(p._a.size), bool(p.requires_grad),
                       tuple(ties.get(n, ()))))
    out.report = sel.report
    return out
