"""Tensor printing, character for character as PyTorch prints.

``Tensor.__repr__`` and ``Tensor.__str__`` both return :func:`tensor_repr`. The rules follow
PyTorch 2.x (``torch/_tensor_str.py``):

* one formatter per tensor decides the layout of every element: integer-valued floats print
  as ``1.``, fixed point with ``precision`` digits, or scientific notation (``1.0000e+10``)
  when the nonzero finite magnitudes span more than 1000x, exceed 1e8 or fall below 1e-4;
* every element is right-aligned to the widest one, rows wrap at ``linewidth``;
* tensors with more than ``threshold`` elements are summarised to ``edgeitems`` at each end of
  every dimension, with ``...`` in between;
* suffixes follow the values: ``size=`` (empty tensors), ``dtype=`` (non-default dtypes),
  ``grad_fn=<...>`` or ``requires_grad=True``.

Values are formatted by Python's own float formatting of the exact float64 value, as PyTorch
does through ``Tensor.tolist()``, so the digits agree for every dtype.

Example::

    >>> import weightwise as torch
    >>> torch.tensor([1.0, 2.5])
    tensor([1.0000, 2.5000])
    >>> torch.set_printoptions(precision=2)
    >>> torch.tensor([1.0, 2.5])
    tensor([1.00, 2.50])
    >>> torch.set_printoptions(profile="default")
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _dtype

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions", "printoptions"]


@dataclasses.dataclass
class _PrintOptions:
    """The current print options; field order is the order ``get_printoptions`` returns."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

# The presets of ``set_printoptions(profile=...)``: precision, threshold, edgeitems, linewidth.
_PROFILES: dict[str, tuple[int, float, int, int]] = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the options for printing tensors (``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floating-point values (default 4).
        threshold: number of elements above which a tensor is summarised (default 1000).
        edgeitems: items kept at the start and the end of each summarised dimension (default 3).
        linewidth: characters per line before rows wrap (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``: a preset applied first, which the
            other arguments then override. Any other name is ignored, as in PyTorch.
        sci_mode: ``True``/``False`` force scientific notation on or off; ``None`` lets each
            tensor choose. Like PyTorch, every call sets it, so omitting it resets it to ``None``.

    Example::

        >>> set_printoptions(precision=2)
        >>> set_printoptions(profile="default")
    """
    if profile is not None and profile in _PROFILES:
        _OPTS.precision, _OPTS.threshold, _OPTS.edgeitems, _OPTS.linewidth = _PROFILES[profile]
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Change the print options inside a ``with`` block, then restore them."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ----------------------------------------------------------------------------- element formats


class _Formatter:
    """Chooses one layout for all elements of a tensor and pads each to a common width.

    Args:
        values: the (summarised) elements, float64 for floating dtypes, else the integers or
            booleans themselves; any shape.
        floating: whether the tensor's dtype is floating point.
    """

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if not floating:
            self.width = max([1] + [len(str(v)) for v in values.ravel().tolist()])
            return
        flat = values.ravel()
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            # Nothing to measure: zeros, nan and inf print as "0.", "nan", "inf", unpadded.
            # NOTE: PyTorch ignores a forced sci_mode here too.
            return
        magnitude = np.abs(nonzero_finite)
        lo, hi = float(magnitude.min()), float(magnitude.max())
        self.int_mode = bool(np.all(np.ceil(nonzero_finite) == nonzero_finite))
        if _OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = bool(_OPTS.sci_mode)
        samples = nonzero_finite.tolist()
        if self.sci_mode:
            spec = f".{_OPTS.precision}e"
            self.width = max(len(format(v, spec)) for v in samples)
        elif self.int_mode:
            # One more for the trailing "." that marks a float.
            self.width = max(len(format(v, ".0f")) + 1 for v in samples)
        else:
            spec = f".{_OPTS.precision}f"
            self.width = max(len(format(v, spec)) for v in samples)

    def format(self, value: Any) -> str:
        """One element, right-aligned to the common width (longer strings are not cut)."""
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = format(value, f"{self.width}.{_OPTS.precision}e")
        elif self.int_mode:
            text = format(value, ".0f")
            if math.isfinite(value):
                text += "."
        else:
            text = format(value, f".{_OPTS.precision}f")
        return text.rjust(self.width)


# ----------------------------------------------------------------------------- layout


def _summarized(values: np.ndarray, edgeitems: int) -> tuple[np.ndarray, tuple[bool, ...]]:
    """Keep ``edgeitems`` at both ends of every dimension longer than ``2 * edgeitems``.

    Returns the smaller array and, per dimension, whether it was cut (where ``...`` goes).
    Done before any formatting, so printing a huge tensor costs only the printed elements.
    """
    cut = tuple(n > 2 * edgeitems for n in values.shape)
    for axis, is_cut in enumerate(cut):
        if is_cut:
            n = values.shape[axis]
            keep = np.r_[0:edgeitems, n - edgeitems : n]
            values = np.take(values, keep, axis=axis)
    return values, cut


def _vector_str(items: list[str], cut: bool, indent: int, width: int) -> str:
    """A 1-d row of formatted items, wrapped to the line width."""
    if cut:
        edge = _OPTS.edgeitems
        items = items[:edge] + [" ..."] + items[edge:]
    # Each element takes its width plus ", ".
    per_line = max(1, math.floor((_OPTS.linewidth - indent) / (width + 2)))
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(
    items: list[str], shape: tuple[int, ...], cut: tuple[bool, ...], indent: int, width: int
) -> str:
    """Brackets around the flat, row-major ``items`` of an array of ``shape`` (ndim >= 1).

    Sub-arrays are separated by one blank line less than their rank, and indented one column
    further per level, as PyTorch does.
    """
    if len(shape) == 1:
        return _vector_str(items, cut[0], indent, width)
    stride = len(items) // shape[0] if shape[0] else 0
    slices = [
        _nested_str(items[i * stride : (i + 1) * stride], shape[1:], cut[1:], indent + 1, width)
        for i in range(shape[0])
    ]
    if cut[0]:
        edge = _OPTS.edgeitems
        slices = slices[:edge] + ["..."] + slices[edge:]
    return ("," + "\n" * (len(shape) - 1) + " " * (indent + 1)).join(slices).join("[]")


def _as_printable(values: np.ndarray, floating: bool) -> np.ndarray:
    """Floats (float16, bfloat16, float8 included) widened exactly to float64."""
    return values.astype(np.float64) if floating else values


def _values_str(values: np.ndarray, floating: bool, indent: int) -> str:
    """The bracketed values of a non-empty array, ``indent`` columns from the line start."""
    if values.ndim == 0:
        scalar = _as_printable(values, floating)
        return _Formatter(scalar, floating).format(scalar.item())
    summarize = values.size > _OPTS.threshold
    if summarize and not _OPTS.edgeitems:
        # PyTorch keeps nothing at all, whatever the rank.
        return "[...]"
    if summarize:
        values, cut = _summarized(values, _OPTS.edgeitems)
    else:
        cut = (False,) * values.ndim
    values = _as_printable(values, floating)
    formatter = _Formatter(values, floating)
    items = [formatter.format(v) for v in values.ravel().tolist()]
    return _nested_str(items, values.shape, cut, indent, formatter.width)


# ----------------------------------------------------------------------------- suffixes


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append ``, suffix`` items and the closing parenthesis, wrapping at the line width."""
    parts = [text]
    # NOTE: PyTorch's measure of the last line is two characters generous; kept for equality.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _grad_suffix(t: Any) -> list[str]:
    """``grad_fn=<Name>`` for a result of an op, ``requires_grad=True`` for such a leaf."""
    grad_fn = t.grad_fn
    if grad_fn is not None:
        name = grad_fn.name() if hasattr(grad_fn, "name") else type(grad_fn).__name__
        return [f"grad_fn=<{name.rsplit('::', 1)[-1]}>"]
    if t.requires_grad:
        return ["requires_grad=True"]
    return []


def tensor_repr(t: Any) -> str:
    """The text PyTorch prints for a tensor with the same values, dtype and autograd state.

    Args:
        t: a Tensor: ``t._a`` (its ndarray, any shape), ``t.dtype``, ``t.requires_grad`` and
            ``t.grad_fn`` are read.

    Returns:
        ``tensor(...)`` text, possibly over several lines, without a trailing newline.
    """
    prefix = "tensor("
    indent = len(prefix)
    values = np.asarray(t._a)
    dtype = t.dtype
    default_float = _dtype.get_default_dtype().name
    suffixes: list[str] = []
    if values.size == 0:
        # Empty: nothing shows the dtype or the shape, so both are spelled out ((0,) excepted).
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype.name != default_float:
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if not _OPTS.edgeitems:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype.name not in (default_float, "int64", "bool"):
            suffixes.append(f"dtype={dtype!r}")
        body = _values_str(values, bool(dtype.is_floating_point), indent)
    suffixes += _grad_suffix(t)
    return _add_suffixes(prefix + body, suffixes, indent)
