"""The pattern language behind `weightwise.nn.select`: compiling patterns and matching names.

Everything that turns patterns into matched names lives here: the glob translator, `_Pattern`
(one compiled pattern of any kind), the error for a pattern that matches nothing (it names the
closest names), the `Report` every selecting function returns, and `Selector`, `select` and
`match_names`, which apply patterns to a model's parameters or to plain names. It is its own
file so that the matcher can be read, and reused (the CLI's name filter compiles patterns with
`_Pattern`), apart from the actions built on it (`init_`, `freeze`, `param_groups`, `inspect`)
in `select.py`, which documents the syntax and re-exports all of this.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, Union

from .parameter import Parameter

if TYPE_CHECKING:
    from .module import Module


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
