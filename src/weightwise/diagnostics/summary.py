"""``summary(model, input_size=...)``: a table of layers with output shapes, parameter counts and ties.

Works through the public Module API only (``named_modules``, ``named_parameters``,
``named_buffers``, ``register_forward_hook``). Returns data (:class:`Summary` with
:class:`LayerRow` rows and totals); ``str(summary)`` is the text table and ``_repr_html_`` the
notebook table. A tensor reachable under several names is counted once in the totals.

Example::

    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    s = summary(net, input_size=(2, 4))
    s.total_params        # 121: the shared layer's 72 counted once
    s.rows[3].shared_with # ['4']
    print(s)
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Sequence

from ._text import fmt_bytes, fmt_count, text_table
from .stats import array_of, memory_key

__all__ = ["summary", "Summary", "LayerRow"]


@dataclass
class LayerRow:
    """One module of the model, under one of its paths.

    ``params`` counts the distinct tensors in this module and below; ``trainable`` is ``"yes"``,
    ``"no"``, ``"partly"`` or ``""`` (no parameters); ``shared_with`` lists the other paths of
    the same module object or of modules holding the same parameters.
    """

    path: str
    type: str
    depth: int
    output_shape: Any
    params: int
    trainable: str
    shared_with: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "type": self.type, "depth": self.depth, "output_shape": self.output_shape,
                "params": self.params, "trainable": self.trainable, "shared_with": list(self.shared_with)}


@dataclass
class Summary:
    """The result of :func:`summary`: rows, totals and memory, with text and HTML renderings."""

    model_type: str
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    naive_params: int
    param_bytes: int
    buffer_bytes: int
    output_bytes: int
    input_shape: Any
    tie_groups: list[list[str]]

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model_type, "input_shape": self.input_shape,
                "rows": [r.to_dict() for r in self.rows],
                "totals": {"params": self.total_params, "trainable": self.trainable_params,
                           "non_trainable": self.non_trainable_params, "params_if_ties_counted_twice":
                           self.naive_params, "param_bytes": self.param_bytes,
                           "buffer_bytes": self.buffer_bytes, "forward_output_bytes": self.output_bytes},
                "tie_groups": self.tie_groups}

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows as strings (what both renderings show)."""
        headers = ["Layer (type)", "Output shape", "Param #", "Trainable", "Shared with"]
        rows = []
        for r in self.rows:
            label = "  " * r.depth + (f"{r.path} ({r.type})" if r.path else r.type)
            rows.append([label, _shape_text(r.output_shape), fmt_count(r.params) if r.params else "-",
                         r.trainable, ", ".join(r.shared_with)])
        return headers, rows

    def totals_lines(self) -> list[str]:
        lines = [f"Total params: {fmt_count(self.total_params)}"
                 + (f" (tied parameters counted once; {fmt_count(self.naive_params)} if counted per use)"
                    if self.naive_params != self.total_params else ""),
                 f"Trainable params: {fmt_count(self.trainable_params)}",
                 f"Non-trainable params: {fmt_count(self.non_trainable_params)}",
                 f"Parameter memory: {fmt_bytes(self.param_bytes)}; buffers: {fmt_bytes(self.buffer_bytes)}; "
                 f"forward outputs: {fmt_bytes(self.output_bytes)}"]
        for g in self.tie_groups:
            lines.append("Tied: " + " = ".join(g))
        return lines

    def __str__(self) -> str:
        headers, rows = self.table()
        return text_table(headers, rows, right=[2]) + "\n" + "\n".join(self.totals_lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        headers, rows = self.table()
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(
                f'<td style="text-align:{"right" if i == 2 else "left"};'
                f'{"padding-left:%dem;" % r.depth if i == 0 else ""}">{esc(c.strip() if i == 0 else c)}</td>'
                for i, c in enumerate(row)) + "</tr>"
            for r, row in zip(self.rows, rows))
        foot = "<br>".join(esc(line) for line in self.totals_lines())
        return (f'<div class="weightwise-summary"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table><p>{foot}</p></div>")


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "-"
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return ", ".join(_shape_text(s) for s in shape)
    if isinstance(shape, dict):
        return ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items())
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _out_shape(out: Any) -> tuple[Any, int]:
    """(shape description, bytes) of a module's output."""
    if hasattr(out, "shape") and hasattr(out, "dtype"):
        a = array_of(out) if hasattr(out, "_a") else None
        nbytes = a.nbytes if a is not None else int(out.numel() * out.element_size())
        return [int(s) for s in out.shape], nbytes
    if isinstance(out, (list, tuple)):
        parts = [_out_shape(o) for o in out]
        return [p[0] for p in parts], sum(p[1] for p in parts)
    if isinstance(out, dict):
        parts_d = {k: _out_shape(v) for k, v in out.items()}
        return {k: v[0] for k, v in parts_d.items()}, sum(v[1] for v in parts_d.values())
    return None, 0


def _make_input(model: Any, size: Sequence[int]) -> Any:
    first = next(iter(model.parameters()), None)
    if first is not None and not type(first).__module__.startswith("weightwise"):
        return first.new_zeros(tuple(size))  # another framework's module (PyTorch's API)
    import weightwise

    dtype = first.dtype if first is not None and first.dtype.is_floating_point else None
    return weightwise.zeros(tuple(size), dtype=dtype)


def _run_forward(model: Any, args: tuple[Any, ...]) -> dict[int, list[Any]]:
    outputs: dict[int, list[Any]] = {}
    handles, modes = [], []

    def hook(module: Any, inputs: Any, output: Any) -> None:
        outputs.setdefault(id(module), []).append(_out_shape(output))

    for _, m in model.named_modules():
        handles.append(m.register_forward_hook(hook))
        modes.append((m, m.training))
    try:
        model.eval()  # no dropout, no running-statistics update: the summary changes nothing
        import weightwise

        with weightwise.no_grad():
            model(*args)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return outputs


def _own_params(module: Any) -> list[Any]:
    return [p for _, p in module.named_parameters(recurse=False)]


def summary(model: Any, input_size: Sequence[int] | None = None, input_data: Any = None) -> Summary:
    """Layers of ``model`` with output shapes, parameter counts, trainability and sharing.

    Args:
        model: an ``nn.Module``.
        input_size: the full input shape *including* the batch dimension, e.g. ``(1, 784)``; a
            zero tensor of the parameters' dtype is fed (no random numbers are drawn).
        input_data: an example input instead (a tensor, or a tuple of positional arguments).
            Without either, output shapes are left empty.

    The forward pass runs in eval mode under ``no_grad``; training flags are restored after.

    Returns:
        a :class:`Summary`.
    """
    outputs: dict[int, list[Any]] = {}
    input_shape: Any = None
    if input_data is not None or input_size is not None:
        args = input_data if isinstance(input_data, tuple) else (
            (input_data,) if input_data is not None else (_make_input(model, input_size or ()),))
        input_shape = _out_shape(args[0])[0]
        outputs = _run_forward(model, args)

    paths = list(model.named_modules(remove_duplicate=False))
    by_module: dict[int, list[str]] = {}
    by_param: dict[tuple[Any, ...], list[str]] = {}
    for path, m in paths:
        by_module.setdefault(id(m), []).append(path)
        for p in _own_params(m):
            by_param.setdefault(memory_key(p), []).append(path)

    rows: list[LayerRow] = []
    calls_seen: dict[int, int] = {}
    output_bytes = 0
    for path, m in paths:
        k = calls_seen.get(id(m), 0)
        calls_seen[id(m)] = k + 1
        calls = outputs.get(id(m), [])
        shape, nbytes = calls[min(k, len(calls) - 1)] if calls else (None, 0)
        if calls and k < len(calls) and not list(m.named_children()):
            output_bytes += nbytes
        uniq = {memory_key(p): p for _, p in m.named_parameters()}
        flags = {bool(p.requires_grad) for p in uniq.values()}
        trainable = "" if not flags else ("yes" if flags == {True} else "no" if flags == {False} else "partly")
        others = [q for q in by_module[id(m)] if q != path]
        for p in _own_params(m):
            others += [q for q in by_param[memory_key(p)] if q != path and q not in others]
        depth = 0 if path == "" else path.count(".") + 1
        rows.append(LayerRow(path, type(m).__name__, depth, shape,
                             sum(int(p.numel()) for p in uniq.values()), trainable, others))

    unique = {memory_key(p): p for _, p in model.named_parameters()}
    naive = sum(int(p.numel()) for _, p in model.named_parameters(remove_duplicate=False))
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(memory_key(p), []).append(name)
    bufs = {memory_key(b): b for _, b in model.named_buffers() if b is not None}
    return Summary(
        model_type=type(model).__name__, rows=rows,
        total_params=sum(int(p.numel()) for p in unique.values()),
        trainable_params=sum(int(p.numel()) for p in unique.values() if p.requires_grad),
        naive_params=naive,
        param_bytes=sum(_nbytes(p) for p in unique.values()),
        buffer_bytes=sum(_nbytes(b) for b in bufs.values()),
        output_bytes=output_bytes, input_shape=input_shape,
        tie_groups=[g for g in groups.values() if len(g) > 1],
    )


def _nbytes(t: Any) -> int:
    return int(t.numel()) * int(t.element_size())
