"""Select dotted tensor names by pattern, for inspection of files (no module needed).

The syntax is the project's pattern language (:mod:`weightwise.nn.select`) for names: a glob on
dotted names where ``*`` matches within one part, ``**`` across parts (``**.weight`` is every
weight at any depth, top level included) and ``?`` one character; or a regular expression
written ``re:<regex>`` (searched in the name). Module-type selectors need a model and do not
apply to files. The patterns are compiled by ``weightwise.nn.select`` itself, so that files and
models select alike; the local compiler below is only a fallback.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["compile_pattern", "select_names"]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression of a glob (or ``re:`` regex); ValueError for a bad regex."""
    if pattern.startswith("re:"):
        try:
            return re.compile(pattern[3:])
        except re.error as e:
            raise ValueError(f"invalid regular expression {pattern[3:]!r}: {e}") from None
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**.", i):
            out.append(r"(?:.*\.)?")
            i += 3
        elif pattern.startswith(".**", i) and i + 3 == len(pattern):
            out.append(r"(?:\..*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append(r"[^.]*")
            i += 1
        elif pattern[i] == "?":
            out.append(r"[^.]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def select_names(names: Iterable[str], pattern: str) -> list[str]:
    """The names (in order) that ``pattern`` matches; may be empty. ValueError for a bad regex."""
    names = list(names)
    try:
        from ..nn.select import _Pattern
    except ImportError:
        rx = compile_pattern(pattern)
        search = pattern.startswith("re:")
        return [n for n in names if (rx.search(n) if search else rx.fullmatch(n))]
    hits = _Pattern(pattern, "--filter").match_all(names, [None] * len(names), None)  # type: ignore[arg-type]
    return [n for n, hit in zip(names, hits) if hit]
