"""Plain-text rendering helpers shared by the summary and the command line (no printing here)."""

from __future__ import annotations

import math
from typing import Any, Sequence

__all__ = ["fmt_bytes", "fmt_count", "fmt_float", "text_table", "NameTree"]


def fmt_bytes(n: int | float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def fmt_count(n: int) -> str:
    return f"{n:,}"


def fmt_float(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.{digits}f}".rstrip("0").rstrip(".") if abs(x) >= 1 else f"{x:.{digits}g}"
    return f"{x:.{digits - 1}e}"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A table with a header rule; columns in ``right`` are right-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


class NameTree:
    """Dotted names grouped by module path: ``0.weight``, ``0.bias`` under ``0``.

    ``rows()`` gives ``(prefix, label, name_or_None, depth)`` in first-seen order, where ``name``
    is the full dotted name of a leaf and None for a module node.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.root: dict[str, Any] = {}
        for name in names:
            node = self.root
            parts = name.split(".")
            for p in parts[:-1]:
                child = node.setdefault(p, {})
                if not isinstance(child, dict):  # a leaf that is also a prefix (rare)
                    child = node.setdefault(p + ".", {})
                node = child
            node[parts[-1] if parts[-1] not in node else parts[-1] + "'"] = name

    def rows(self) -> list[tuple[str, str, str | None, int]]:
        out: list[tuple[str, str, str | None, int]] = []

        def walk(node: dict[str, Any], indent: str, depth: int) -> None:
            items = list(node.items())
            for i, (label, child) in enumerate(items):
                last = i == len(items) - 1
                branch = "└── " if last else "├── "
                if isinstance(child, dict):
                    out.append((indent + branch, label, None, depth))
                    walk(child, indent + ("    " if last else "│   "), depth + 1)
                else:
                    out.append((indent + branch, label, child, depth))

        walk(self.root, "", 0)
        return out

    def leaves_under(self) -> dict[int, list[str]]:
        """Row index of each module node -> the full names of the leaves below it."""
        result: dict[int, list[str]] = {}
        stack: list[tuple[int, list[str]]] = []
        for i, (_prefix, _label, name, depth) in enumerate(self.rows()):
            while stack and stack[-1][0] >= depth:
                stack.pop()
            if name is None:
                result[i] = []
                stack.append((depth, result[i]))
            else:
                for _, bucket in stack:
                    bucket.append(name)
        return result
