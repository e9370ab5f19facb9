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

import difflib
import re
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    NamedTuple,
    Sequence,
    Union,
)

from ..autograd import no_grad
from .parameter import Parameter, is_lazy
from .ties import tied_with

if TYPE_CHECKING:
    from .module import Module

__all__ = [
    "ParamGroups", "Report", "Selection", "Selector", "freeze", "init_", "inspect", "match_names",
    "param_groups", "select", "unfreeze",
]

PatternLike = Union[str, "re.Pattern[str]", type, tuple, Callable[[str, Parameter], bool]]


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    """Translate a dotted-name glob into a compiled full-match regex."""
    parts = glob.split(".")
    out: list[str] = []
    n = len(parts)
    for i, part in enumerate(parts):
        if part == "**":
            if n == 1:
                out.append(".*")
            elif i == 0:
                out.append("(?:.*\\.)?")
            elif i == n - 1:
                out.append("(?:\\..*)?")
            else:
                out.append("\\.(?:.*\\.)?")
            continue
        if i > 0 and parts[i - 1] != "**":
            out.append("\\.")
        piece = []
        j = 0
        while j < len(part):
            c = part[j]
            if c == "*":
                if part[j:j + 2] == "**":
                    piece.append(".*")
                    j += 2
                    continue
                piece.append("[^.]*")
            elif c == "?":
                piece.append("[^.]")
            else:
                piece.append(re.escape(c))
            j += 1
        out.append("".join(piece))
    return re.compile("".join(out), re.DOTALL)


class _Pattern:
    """One compiled pattern: its display text and how to test names against a model."""

    def __init__(self, pattern: Any, api: str) -> None:
        self.source = pattern
        self.regex: re.Pattern[str] | None = None
        self.full = True
        self.mtype: type | tuple[type, ...] | None = None
        self.local: re.Pattern[str] | None = None
        self.pred: Callable[[str, Any], bool] | None = None
        from .module import Module

        if isinstance(pattern, str):
            if pattern.startswith("re:"):
                self.regex, self.full = _compile_re(pattern[3:], pattern, api), False
                self.text = pattern
            else:
                self.regex = _glob_to_regex(pattern)
                self.text = pattern
        elif isinstance(pattern, re.Pattern):
            self.regex, self.full = pattern, False
            self.text = f"re:{pattern.pattern}"
        elif isinstance(pattern, type) and issubclass(pattern, Module):
            self.mtype = pattern
            self.text = pattern.__name__
        elif (isinstance(pattern, tuple) and len(pattern) == 2 and isinstance(pattern[1], str)
              and _is_module_types(pattern[0])):
            self.mtype = pattern[0]
            self.local = _glob_to_regex(pattern[1])
            names = (pattern[0],) if isinstance(pattern[0], type) else pattern[0]
            self.text = f"({'|'.join(t.__name__ for t in names)}, {pattern[1]!r})"
        elif callable(pattern) and not isinstance(pattern, type):
            self.pred = pattern
            self.text = getattr(pattern, "__name__", repr(pattern))
        else:
            raise TypeError(f"{api}(): a pattern must be a glob string, 're:<regex>', a compiled "
                            f"regex, an nn.Module subclass, (Module subclass, glob) or a "
                            f"predicate(name, param), got {pattern!r}")

    def match_all(self, names: Sequence[str], params: Sequence[Any], model: Module) -> list[bool]:
        if self.regex is not None:
            rx = self.regex
            if self.full:
                return [rx.fullmatch(n) is not None for n in names]
            return [rx.search(n) is not None for n in names]
        if self.pred is not None:
            return [bool(self.pred(n, p)) for n, p in zip(names, params)]
        assert self.mtype is not None
        prefixes = [path for path, m in model.named_modules(remove_duplicate=False)
                    if isinstance(m, self.mtype)]
        out = []
        for n in names:
            hit = False
            for path in prefixes:
                if path == "":
                    rest: str | None = n
                elif n.startswith(path + "."):
                    rest = n[len(path) + 1:]
                else:
                    rest = None
                if rest is not None and (self.local is None or self.local.fullmatch(rest)):
                    hit = True
                    break
            out.append(hit)
        return out


def _is_module_types(x: Any) -> bool:
    from .module import Module

    if isinstance(x, type):
        return issubclass(x, Module)
    return isinstance(x, tuple) and bool(x) and all(isinstance(t, type) and issubclass(t, Module) for t in x)


def _compile_re(expr: str, text: str, api: str) -> re.Pattern[str]:
    try:
        return re.compile(expr)
    except re.error as e:
        raise ValueError(f"{api}(): invalid regular expression in pattern {text!r}: {e}") from None


def _patterns(patterns: Any, api: str) -> list[_Pattern]:
    """A pattern or a list of patterns -> compiled patterns (a 2-tuple (type, glob) is one)."""
    if isinstance(patterns, (list, tuple)) and not _is_single_tuple(patterns):
        return [_Pattern(p, api) for p in patterns]
    return [_Pattern(patterns, api)]


def _is_single_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], str) and _is_module_types(x[0])


def _universe(model: Module) -> tuple[list[str], list[Parameter]]:
    names: list[str] = []
    params: list[Parameter] = []
    for n, p in model.named_parameters(remove_duplicate=False):
        names.append(n)
        params.append(p)
    return names, params


def _empty_error(api: str, pat: _Pattern, names: Sequence[str], model: Module | None,
                 extra: str = "") -> ValueError:
    close = difflib.get_close_matches(pat.text, names, n=5, cutoff=0.4)
    if not close:
        close = list(names[:5])
    if model is None:
        what, none = "name", "; there are no names"
    else:
        what, none = f"parameter of {type(model).__name__}", "; the model has no parameters"
    hint = f"; close names: {', '.join(close)}" if close else none
    return ValueError(f"{api}(): pattern {pat.text!r} matched no {what}{extra}{hint} "
                      "(pass allow_empty=True to allow it)")


class Report:
    """What each pattern matched (every name, tied aliases included) and what it was given.

    `matched[text]` lists the names a pattern matched; `assigned[text]` the names it actually
    acted on (after first-match-wins and tie de-duplication); `unassigned` the names no
    pattern acted on. `str(report)` is a table.
    """

    def __init__(self, action: str) -> None:
        self.action = action
        self.matched: dict[str, list[str]] = {}
        self.assigned: dict[str, list[str]] = {}
        self.unassigned: list[str] = []

    def __getitem__(self, text: str) -> list[str]:
        return self.matched[text]

    def __repr__(self) -> str:
        return f"Report({self.action!r}, matched={self.matched!r})"

    def __str__(self) -> str:
        rows = [("pattern", "matched", self.action, "names")]
        for text, names in self.matched.items():
            got = self.assigned.get(text, names)
            shown = ", ".join(got[:6]) + (f", ... (+{len(got) - 6})" if len(got) > 6 else "")
            rows.append((text, str(len(names)), str(len(got)), shown or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
        if self.unassigned:
            lines.append(f"not selected: {', '.join(self.unassigned)}")
        return "\n".join(line.rstrip() for line in lines)


class Selection:
    """The result of `select`: ordered (name, parameter) pairs plus a `report`.

    Iterating gives the pairs; `names()` and `params()` the columns. Tied parameters appear
    once (under the first matched name) unless selected with `remove_duplicate=False`.
    """

    def __init__(self, items: list[tuple[str, Parameter]], report: Report) -> None:
        self.items = items
        self.report = report

    def __iter__(self) -> Iterator[tuple[str, Parameter]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[str, Parameter]:
        return self.items[i]

    def names(self) -> list[str]:
        return [n for n, _ in self.items]

    def params(self) -> list[Parameter]:
        return [p for _, p in self.items]

    def __repr__(self) -> str:
        return f"Selection({self.names()!r})"


class Selector:
    """Compiled patterns, reusable across models.

    Example:
        >>> sel = Selector("**.weight", re.compile(r"^head\\."), Linear)
        >>> sel(model).names()
    """

    def __init__(self, *patterns: PatternLike) -> None:
        if not patterns:
            raise ValueError("Selector(): give at least one pattern (\"**\" selects everything)")
        self.patterns = [p for src in patterns for p in _patterns(src, "select")]

    def __repr__(self) -> str:
        return f"Selector({', '.join(p.text for p in self.patterns)})"

    def masks(self, model: Module, names: Sequence[str], params: Sequence[Any]) -> list[list[bool]]:
        return [p.match_all(names, params, model) for p in self.patterns]

    def __call__(self, model: Module, *, allow_empty: bool = False, remove_duplicate: bool = True,
                 api: str = "select") -> Selection:
        names, params = _universe(model)
        report = Report("selected")
        chosen = [False] * len(names)
        for pat, mask in zip(self.patterns, self.masks(model, names, params)):
            hit = [n for n, m in zip(names, mask) if m]
            if not hit and not allow_empty:
                raise _empty_error(api, pat, names, model)
            report.matched[pat.text] = hit
            chosen = [c or m for c, m in zip(chosen, mask)]
        items: list[tuple[str, Parameter]] = []
        seen: set[int] = set()
        for n, p, c in zip(names, params, chosen):
            if not c:
                continue
            if remove_duplicate:
                if id(p) in seen:
                    continue
                seen.add(id(p))
            items.append((n, p))
        picked = {n for n, _ in items}
        for text, hit in report.matched.items():
            report.assigned[text] = [n for n in hit if n in picked]
        report.unassigned = [n for n, c in zip(names, chosen) if not c]
        return Selection(items, report)


def select(model: Module, *patterns: PatternLike, allow_empty: bool = False,
           remove_duplicate: bool = True) -> Selection:
    """The parameters of `model` matched by any of `patterns`, in `named_parameters` order.

    Raises:
        ValueError: a pattern matched nothing (unless `allow_empty`), or a bad regex.
        TypeError: a pattern of an unsupported kind.

    Example:
        >>> select(net, "**.bias").names()
        ['0.bias', '2.bias']
        >>> print(select(net, "0.*", nn.Linear).report)
    """
    return Selector(*patterns)(model, allow_empty=allow_empty, remove_duplicate=remove_duplicate)


def match_names(patterns: PatternLike | Sequence[PatternLike], names: Iterable[str], allow_empty: bool = False,
                *, api: str = "match_names") -> tuple[list[str], Report]:
    """The names matched by any of `patterns`, over plain dotted names (no model needed: the
    keys of a file, say), with the same compiler and report as `select`.

    `patterns` is one pattern or a list of them: globs (`*` within a part, `**` across parts,
    `?` one character), `"re:<regex>"` or a compiled regex (searched), or a predicate, called
    as `predicate(name, None)`. Module types need a model: use `select`.

    Returns:
        `(selected, report)`: the matched names in the order given (each occurrence kept), and
        a `Report` (`matched` per pattern, `assigned` the same, `unassigned` the rest).

    Raises:
        ValueError: a pattern matched no name (unless `allow_empty`), naming the closest names;
            a bad regular expression; no pattern at all.
        TypeError: a module-type pattern, or a pattern of an unsupported kind.

    Example:
        >>> match_names(["**.bias", "re:^embed"], ["embed.weight", "fc.weight", "fc.bias"])[0]
        ['embed.weight', 'fc.bias']
    """
    pats = _patterns(patterns, api)
    if not pats:
        raise ValueError(f"{api}(): give at least one pattern (\"**\" selects everything)")
    for pat in pats:
        if pat.mtype is not None:
            raise TypeError(f"{api}(): pattern {pat.text} selects by module type, which needs a "
                            "model; use select(model, ...) instead")
    if isinstance(names, str):
        raise TypeError(f"{api}(): names must be an iterable of strings, got the string {names!r}")
    names = list(names)
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{api}(): names must be strings, got {type(n).__name__} ({n!r})")
    report = Report("selected")
    chosen = [False] * len(names)
    nones = [None] * len(names)
    for pat in pats:
        mask = pat.match_all(names, nones, None)  # type: ignore[arg-type]
        hit = [n for n, m in zip(names, mask) if m]
        if not hit and not allow_empty:
            raise _empty_error(api, pat, names, None)
        text = pat.text if pat.text not in report.matched else f"{pat.text} #{len(report.matched)}"
        report.matched[text] = hit
        report.assigned[text] = hit
        chosen = [c or m for c, m in zip(chosen, mask)]
    report.unassigned = [n for n, c in zip(names, chosen) if not c]
    return [n for n, c in zip(names, chosen) if c], report


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
