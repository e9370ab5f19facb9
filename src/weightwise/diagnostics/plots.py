"""Plots of what the :class:`~weightwise.diagnostics.monitor.TrainingMonitor` recorded.

Rendering only: every function takes records (the monitor's ``records`` list, or a JSON Lines
file it wrote) and returns a matplotlib ``Figure`` or bytes; nothing is computed from a model
here. matplotlib is an optional extra (``pip install 'weightwise[plot]'``), imported when a plot
is made. Figures are built with ``matplotlib.figure.Figure`` directly, so no pyplot state and no
GUI backend is touched.

Example::

    records = load_records("run.jsonl")
    write_report(records, "report.html")             # one self-contained file, PNGs embedded
    png = figure_png(plot_norms(records))             # bytes of one PNG
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from typing import Any, Iterable, Sequence

__all__ = ["load_records", "plot_histograms", "plot_norms", "figure_png", "write_report", "DPI"]

DPI = 100


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("weightwise plots need matplotlib, an optional extra: "
                          "pip install 'weightwise[plot]' (or pip install matplotlib)") from None
    return Figure(figsize=(width, height), dpi=DPI)


def load_records(source: str | os.PathLike[str] | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records from a JSON Lines file written by the monitor, or a list of records as is."""
    if not isinstance(source, (str, os.PathLike)):
        return list(source)
    out = []
    with open(source, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise ValueError(f"load_records(): {os.fspath(source)} line {i} is not JSON: {e}") from None
    return out


def _names(records: Sequence[dict[str, Any]], names: Sequence[str] | None) -> list[str]:
    if names is not None:
        return list(names)
    seen: dict[str, None] = {}
    for r in records:
        for n in r.get("params", {}):
            seen.setdefault(n, None)
    return list(seen)


def _grid(n: int, cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def plot_histograms(records: Sequence[dict[str, Any]], which: str = "param",
                    names: Sequence[str] | None = None) -> Any:
    """Per-parameter histograms over training: one panel per parameter, one curve per record,
    coloured from early (light) to late (dark).

    Args:
        records: monitor records. which: ``"param"`` (weights) or ``"grad"`` (gradients).
        names: the parameters to show (default: all, in model order).
    """
    if which not in ("param", "grad"):
        raise ValueError(f"plot_histograms(): which must be 'param' or 'grad', got {which!r}")
    chosen = _names(records, names)
    rows, cols = _grid(max(len(chosen), 1))
    fig = _figure(4.0 * cols, 2.6 * rows + 0.6)
    from matplotlib import colormaps

    cmap = colormaps["viridis_r"]
    steps = [r["step"] for r in records]
    lo_step, hi_step = (min(steps), max(steps)) if steps else (0, 1)
    for i, name in enumerate(chosen):
        ax = fig.add_subplot(rows, cols, i + 1)
        for r in records:
            h = (r["params"].get(name) or {}).get("hist", {}).get(which)
            if not h:
                continue
            counts = h["counts"]
            lo, hi = h["range"]
            width = (hi - lo) / len(counts)
            centres = [lo + (j + 0.5) * width for j in range(len(counts))]
            total = sum(counts) or 1
            t = (r["step"] - lo_step) / ((hi_step - lo_step) or 1)
            ax.plot(centres, [c / total for c in counts], color=cmap(0.15 + 0.85 * t), linewidth=1.2)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("gradient" if which == "grad" else "value", fontsize=7)
    fig.suptitle(f"{'Gradient' if which == 'grad' else 'Weight'} histograms over training "
                 f"(light: step {lo_step}, dark: step {hi_step})", fontsize=10)
    fig.tight_layout()
    return fig


def _series(records: Sequence[dict[str, Any]], name: str, path: Sequence[str]) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in records:
        v: Any = r["params"].get(name)
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)) and math.isfinite(v) and v > 0:
            xs.append(r["step"])
            ys.append(float(v))
    return xs, ys


def plot_norms(records: Sequence[dict[str, Any]], names: Sequence[str] | None = None) -> Any:
    """Four panels over steps: loss, weight norms, gradient norms, update/weight ratios (log
    scales; the ratio panel marks 1e-3, a common rule of thumb for a healthy learning rate)."""
    chosen = _names(records, names)
    fig = _figure(11.0, 7.0)
    panels = [("loss", None), ("weight L2 norm", ("param", "norm")),
              ("gradient L2 norm", ("grad", "norm")), ("update / weight ratio", ("update_ratio",))]
    for i, (title, path) in enumerate(panels):
        ax = fig.add_subplot(2, 2, i + 1)
        if path is None:
            pts = [(r["step"], r["loss"]) for r in records
                   if isinstance(r.get("loss"), (int, float)) and math.isfinite(r["loss"])]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color="tab:red", marker=".")
        else:
            for name in chosen:
                xs, ys = _series(records, name, path)
                if xs:
                    ax.plot(xs, ys, label=name, marker=".", linewidth=1)
            ax.set_yscale("log")
            if path == ("update_ratio",):
                ax.axhline(1e-3, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        if path is not None and chosen and i == 1:
            ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def figure_png(fig: Any) -> bytes:
    """The PNG bytes of a figure (at :data:`DPI`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def write_report(records: Sequence[dict[str, Any]] | str | os.PathLike[str], path: str | os.PathLike[str], *,
                 title: str = "weightwise training report", summary_text: str | None = None,
                 png_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write one self-contained HTML report (PNG figures embedded as base64).

    Args:
        records: monitor records or the JSON Lines file they were written to.
        path: the HTML file to write.
        summary_text: optional preformatted text (e.g. ``str(summary(model))``) shown first.
        png_dir: also save each figure there as a PNG file.

    Returns:
        ``{"html": path, "pngs": [paths written to png_dir], "figures": [names]}``.
    """
    recs = load_records(records)
    figures = [("norms", "Loss, norms and update ratios", plot_norms(recs)),
               ("weight_histograms", "Weight histograms", plot_histograms(recs, "param")),
               ("grad_histograms", "Gradient histograms", plot_histograms(recs, "grad"))]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}img{max-width:100%}"
             "pre{background:#f6f6f6;padding:1em;overflow:auto}td,th{padding:2px 8px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if summary_text:
        parts.append(f"<h2>Model</h2><pre>{html.escape(summary_text)}</pre>")
    flags = [f for r in recs for f in r.get("flags", [])]
    parts.append(f"<h2>Flags ({len(flags)})</h2>")
    parts.append("<ul>" + "".join(f"<li>step {f['step']}: {html.escape(f['message'])}</li>" for f in flags[:200])
                 + "</ul>" if flags else "<p>None: no dead ReLUs, vanishing or exploding gradients, or NaN.</p>")
    pngs = []
    for key, heading, fig in figures:
        data = figure_png(fig)
        if png_dir is not None:
            os.makedirs(png_dir, exist_ok=True)
            p = os.path.join(png_dir, f"{key}.png")
            with open(p, "wb") as png_file:
                png_file.write(data)
            pngs.append(p)
        parts.append(f"<h2>{heading}</h2><img alt='{key}' src='data:image/png;base64,"
                     f"{base64.b64encode(data).decode('ascii')}'>")
    parts.append(f"<p>{len(recs)} records, steps {recs[0]['step'] if recs else '-'} to "
                 f"{recs[-1]['step'] if recs else '-'}.</p></body></html>")
    with open(path, "w", encoding="utf-8") as html_file:
        html_file.write("".join(parts))
    return {"html": os.fspath(path), "pngs": pngs, "figures": [k for k, _, _ in figures]}
