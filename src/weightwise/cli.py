"""The ``weightwise`` command line: inspect, diff and convert checkpoints; run the demo.

The only module of weightwise that prints. Tables and progress use ``rich`` when it is installed
and the output is a terminal, plain text otherwise; ``--json`` gives machine-readable output.
Anything a user can get wrong (a missing, unreadable, hostile or unsupported file, a pattern that
matches nothing, an unknown option) ends with one line on stderr saying what is wrong and what to
do, and a non-zero exit status; ``--debug`` shows the traceback instead.

Exit status: 0 success (``diff``: files are the same), 1 ``diff``: files differ, 2 error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, NoReturn, Sequence

EXIT_OK, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2
_OUT_FORMATS = {".safetensors": "safetensors", ".st": "safetensors", ".pt": "torch", ".pth": "torch",
                ".bin": "torch", ".ckpt": "torch", ".npz": "npz"}


class UserError(Exception):
    """A problem the user can fix; its message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        sys.stderr.write(f"weightwise: error: {message} (see 'weightwise {self._sub()}--help')\n")
        raise SystemExit(EXIT_ERROR)

    def _sub(self) -> str:
        parts = self.prog.split()
        return f"{parts[-1]} " if len(parts) > 1 else ""


# -- output ------------------------------------------------------------------------------------
class Console:
    """Where the CLI writes: rich when installed and on a terminal, plain text otherwise."""

    def __init__(self, stream: Any = None, plain: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.rich: Any = None
        if not plain and getattr(self.stream, "isatty", lambda: False)():
            try:
                import rich.console

                self.rich = rich.console.Console(file=self.stream, highlight=False)
            except ImportError:
                pass

    def line(self, text: str = "") -> None:
        if self.rich is not None:
            self.rich.print(text, markup=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def table(self, title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              right: Sequence[int] = ()) -> None:
        if self.rich is not None:
            import rich.table

            if title:
                self.line(title)
            t = rich.table.Table(header_style="bold")
            for i, h in enumerate(headers):
                t.add_column(h, justify="right" if i in right else "left", no_wrap=i == 0)
            for r in rows:
                t.add_row(*(str(c) for c in r))
            self.rich.print(t)
            return
        from .diagnostics._text import text_table

        if title:
            self.line(title)
        self.line(text_table(headers, rows, right))

    def json(self, obj: Any) -> None:
        self.stream.write(json.dumps(_jsonable(obj), indent=2) + "\n")
        self.stream.flush()


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


# -- inspect -------------------------------------------------------------------------------------
def _cmd_inspect(args: argparse.Namespace, out: Console) -> int:
    from .diagnostics._text import NameTree, fmt_bytes, fmt_count, fmt_float
    from .diagnostics.files_report import inspect_file

    _need_file(args.file)
    rep = inspect_file(args.file, with_stats=args.stats, pattern=args.filter)
    if args.json:
        out.json(rep)
        return EXIT_OK
    by_name = {t["name"]: t for t in rep["tensors"]}
    tot = rep["totals"]
    out.line(f"{rep['file']}: {_FORMAT_NAMES.get(rep['format'], rep['format'])}, {fmt_bytes(rep['file_bytes'])}")
    names = [t["name"] for t in rep["tensors"]]
    if rep["format"] == "safetensors":  # stored sorted by dtype then name; show in natural order
        names.sort(key=_natural)
    tree = NameTree(names)
    under = tree.leaves_under()
    headers = ["name", "shape", "dtype", "params", "size"]
    if args.stats:
        headers += ["mean", "std", "min", "max", "norm", "zeros", "nan/inf"]
    rows = []
    for i, (prefix, label, name, _depth) in enumerate(tree.rows()):
        if name is None:
            leaves = [by_name[n] for n in under[i] if by_name[n]["alias_of"] is None]
            count = sum(t["count"] for t in leaves)
            sizes = ([fmt_count(count), fmt_bytes(sum(t["nbytes"] for t in leaves))] if leaves or not under[i]
                     else ["tied", ""])
            rows.append([prefix + label, "", ""] + sizes + [""] * (len(headers) - 5))
            continue
        t = by_name[name]
        tied = t["alias_of"] is not None
        row = [prefix + label, "x".join(map(str, t["shape"])) or "()", t["dtype"],
               f"= {t['alias_of']}" if tied else fmt_count(t["count"]), "" if tied else fmt_bytes(t["nbytes"])]
        if args.stats:
            s = t.get("stats")
            row += ([fmt_float(s[k]) for k in ("mean", "std", "min", "max", "norm")]
                    + [f"{100 * s['zeros']:.1f}%" if s["zeros"] is not None else "-", f"{s['nans']}/{s['infs']}"]
                    if s else [""] * 7)
        rows.append(row)
    out.table(None, headers, rows, right=[3, 4] + list(range(5, 12)))
    dtypes = ", ".join(f"{k} {fmt_count(v)}" for k, v in tot["by_dtype"].items())
    out.line(f"total: {fmt_count(tot['parameters'])} parameters in {tot['stored']} tensors "
             f"({fmt_bytes(tot['nbytes'])}; {dtypes or 'none'}); {tot['names']} names, tied tensors counted once")
    if rep["tie_groups"]:
        out.line("tie groups (one tensor, several names):")
        for g in rep["tie_groups"]:
            out.line("  " + " = ".join(g))
    if rep["metadata"]:
        out.line("metadata:")
        for k, v in rep["metadata"].items():
            out.line(f"  {k}: {_short(v)}")
    if rep["provenance"]:
        out.line("provenance (how each tensor was last initialised):")
        for k, v in rep["provenance"].items():
            out.line(f"  {k}: {_provenance_text(v)}")
    return EXIT_OK


def _natural(name: str) -> list[tuple[int, Any]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in name.split(".")]


_FORMAT_NAMES = {"safetensors": "safetensors", "torch-zip": "PyTorch checkpoint (zip)",
                 "torch-legacy": "PyTorch checkpoint (legacy, before 1.6)", "npz": "NumPy .npz",
                 "npy": "NumPy .npy"}


def _short(v: Any, n: int = 100) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _provenance_text(v: Any) -> str:
    """``xavier_uniform_(gain=1.0)  seed 0, state 1a2b...`` from a provenance record."""
    if not isinstance(v, dict):
        return _short(v, 140)
    fn = v.get("fn") or v.get("name") or "?"
    args = v.get("args") or {}
    arg_text = ", ".join(f"{k}={x}" for k, x in args.items()) if isinstance(args, dict) else str(args)
    tail = []
    if v.get("seed") is not None:
        tail.append(f"seed {v['seed']}")
    if v.get("offset"):
        tail.append(f"generator state {v['offset']}")
    return _short(f"{fn}({arg_text})" + ("  " + ", ".join(tail) if tail else ""), 140)


# -- diff ------------------------------------------------------------------------------------------
def _cmd_diff(args: argparse.Namespace, out: Console) -> int:
    from .diagnostics._text import fmt_float
    from .diagnostics.files_report import diff_files

    _need_file(args.a)
    _need_file(args.b)
    rep = diff_files(args.a, args.b, atol=args.atol, rtol=args.rtol)
    status = EXIT_OK if rep["same"] else EXIT_DIFFERENT
    if args.json:
        out.json(rep)
        return status
    for key, label in (("only_in_a", args.a), ("only_in_b", args.b)):
        if rep[key]:
            out.line(f"only in {label} ({len(rep[key])}): " + ", ".join(rep[key][:20])
                     + (" ..." if len(rep[key]) > 20 else ""))
    for c in rep["changed"]:
        out.line(f"changed {c['name']}: {tuple(c['a']['shape'])} {c['a']['dtype']} -> "
                 f"{tuple(c['b']['shape'])} {c['b']['dtype']}")
    differing = [t for t in rep["tensors"] if not t["equal"]]
    if differing:
        out.table(f"{len(differing)} of {len(rep['tensors'])} common tensors differ:", ["name", "max abs diff", "max rel diff"],
                  [[t["name"], fmt_float(t["max_abs"]), fmt_float(t["max_rel"])] for t in differing], right=[1, 2])
    if rep["ties_differ"]:
        out.line("tie groups differ (which names share one tensor)")
    n_equal = sum(t["equal"] for t in rep["tensors"])
    parts = [f"{n_equal} of {len(rep['tensors'])} comparable tensors equal"
             + (f" (atol={args.atol}, rtol={args.rtol})" if args.atol or args.rtol else "")]
    for key, what in (("changed", "shape/dtype changes"), ("only_in_a", "only in A"), ("only_in_b", "only in B")):
        if rep[key]:
            parts.append(f"{len(rep[key])} {what}")
    out.line(("same: " if rep["same"] else "different: ") + "; ".join(parts))
    return status


# -- convert ---------------------------------------------------------------------------------------
def _cmd_convert(args: argparse.Namespace, out: Console) -> int:
    from .diagnostics._files import open_file
    from .io import save

    _need_file(args.input)
    fmt = args.to or _OUT_FORMATS.get(os.path.splitext(args.output)[1].lower())
    if fmt is None:
        raise UserError(f"cannot tell the output format from {args.output!r}: name it .safetensors, .pt, "
                        ".pth, .bin or .npz, or pass --to safetensors|torch|npz")
    if os.path.abspath(args.input) == os.path.abspath(args.output):
        raise UserError("input and output are the same file; write to a new name")
    with open_file(args.input) as f:
        arrays = f.arrays()
        meta = {k: v for k, v in f.metadata.items() if k != "format"}
        prov = f.provenance
        ties = f.tie_groups()
    from collections import OrderedDict

    metadata: dict[str, Any] = dict(meta)
    if prov:
        metadata["provenance"] = prov
    if fmt == "safetensors":
        save(OrderedDict(arrays), args.output, format="safetensors", metadata=metadata)
    else:
        save(OrderedDict(arrays), args.output, format=fmt)
    note = ""
    if fmt == "npz" and ties:
        note = f"; note: .npz cannot share tensors, so {len(ties)} tie group(s) are stored as copies"
    if fmt != "safetensors" and (meta or prov):
        note += "; metadata and provenance are kept only in safetensors"
    if args.json:
        out.json({"input": args.input, "output": args.output, "format": fmt, "tensors": len(arrays),
                  "tie_groups": ties})
    else:
        out.line(f"wrote {args.output} ({fmt}, {len(arrays)} tensors{note})")
    return EXIT_OK


# -- demo ------------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace, out: Console) -> int:
    from .diagnostics import demo
    from .diagnostics._text import fmt_float

    show = not args.quiet and not args.json
    bar: Any = None
    result: dict[str, Any] = {"epochs": []}
    try:
        for event, data in demo.run(args.out, epochs=args.epochs):
            if event == "init" and show:
                out.line(f"Initialised {data['how']}: "
                         + "; ".join(f"{k} -> {len(v)} tensors" for k, v in data["patterns"].items()))
            elif event == "summary":
                result["params"] = data.total_params
                if show:
                    headers, rows = data.table()
                    out.table("Model: the chapter's MLP with a shared hidden layer (8x8 digits -> 10 classes)",
                              headers, rows, right=[2])
                    for line in data.totals_lines():
                        out.line(line)
            elif event == "progress" and show:
                bar = bar or _Progress(out, data["steps"])
                bar.update(data)
            elif event == "epoch":
                result["epochs"].append(data)
                if show:
                    msg = (f"epoch {data['epoch']}: loss {data['loss']:.4f}, train acc {data['train_acc']:.1%}, "
                           f"test acc {data['test_acc']:.1%} ({_seconds(data['seconds'])})")
                    bar.epoch(msg) if bar is not None else out.line(msg)
            elif event == "trained":
                if bar is not None:
                    bar.close()
                mon = data["monitor"]
                result.update(test_acc=data["test_acc"], seconds=data["seconds"], steps=data["steps"],
                              records=len(mon.records), flags=mon.flags)
                if show:
                    headers, rows = mon.layer_table()
                    out.table(f"Per-layer statistics at step {mon.records[-1]['step']} (recorded every "
                              f"{mon.every} steps by the training monitor)", headers,
                              [[r[0], "x".join(map(str, r[1]))] + [fmt_float(v) for v in r[2:7]]
                               + [", ".join(r[7]) or "-"] for r in rows], right=[2, 3, 4, 5, 6])
                    out.line(f"Trained {data['steps']} steps in {data['seconds']:.1f} s: test accuracy "
                             f"{data['test_acc']:.1%}; {len(mon.flags)} flag(s)"
                             + (": " + "; ".join(f["message"] for f in mon.flags[:3]) if mon.flags else ""))
            elif event == "onnx":
                result["onnx"] = data
                if show:
                    out.line(f"ONNX export checked with onnxruntime on {data['rows']} test images: max |diff| "
                             f"{data['max_abs_diff']:.1e}" if data["status"] == "ok"
                             else f"ONNX export {data['status']}: {data['reason']}")
            elif event == "report":
                result["report"] = data
                if show and data["status"] != "ok":
                    out.line(f"Report skipped: {data['reason']}")
            elif event == "done":
                result["files"] = data["files"]
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        out.json(result)
        return EXIT_OK
    out.line(f"Everything is in {os.path.abspath(args.out)}:")
    for label, path in result["files"].items():
        out.line(f"  {label + ':':13} {path}")
    out.line(f"Next: weightwise inspect {result['files']['model']} --stats")
    return EXIT_OK


class _Progress:
    """A progress bar with loss and throughput: rich on a terminal, one line per epoch otherwise."""

    def __init__(self, out: Console, total: int) -> None:
        self.out, self.total, self.rich = out, total, None
        if out.rich is not None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.rich = Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                                 console=out.rich, transient=False)
            self.rich.start()
            self.task = self.rich.add_task("train", total=total, info="")
        import time

        self._t0 = time.perf_counter()

    def update(self, d: dict[str, Any]) -> None:
        if self.rich is not None:
            import time

            rate = d["step"] / max(time.perf_counter() - self._t0, 1e-9)
            self.rich.update(self.task, completed=d["step"],
                             info=f"epoch {d['epoch']}/{d['epochs']}  loss {d['loss']:.4f}  {rate:.0f} steps/s")

    def epoch(self, msg: str) -> None:
        if self.rich is not None:
            self.rich.console.print(msg, markup=False, highlight=False)
        else:
            self.out.line(msg)

    def close(self) -> None:
        if self.rich is not None:
            self.rich.stop()
            self.rich = None


# -- plumbing --------------------------------------------------------------------------------------
def _need_file(path: str) -> None:
    if not os.path.exists(path):
        raise UserError(f"{path}: no such file; check the path")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; give the checkpoint file inside it")
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: permission denied; check the file's permissions")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="weightwise", description="Inspect, compare and convert checkpoints; run the demo.")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    i = sub.add_parser("inspect", parents=[common], help="list a checkpoint's tensors as a tree, with totals, ties, metadata")
    i.add_argument("file", help="safetensors, PyTorch .pt/.pth/.bin, NumPy .npy/.npz (format read from the bytes)")
    i.add_argument("--stats", action="store_true", help="add per-tensor statistics (reads the data)")
    i.add_argument("--filter", metavar="PATTERN", help="only names matching a glob ('**.weight') or 're:REGEX'")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=_cmd_inspect)

    d = sub.add_parser("diff", parents=[common], help="compare two checkpoints (exit 0 same, 1 different, 2 error)")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0: exact)")
    d.add_argument("--rtol", type=float, default=0.0, help="tolerance relative to max |A| (default 0)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_cmd_diff)

    c = sub.add_parser("convert", parents=[common], help="convert between safetensors, PyTorch .pt and .npz")
    c.add_argument("input")
    c.add_argument("output", help="format from the extension: .safetensors, .pt/.pth/.bin, .npz")
    c.add_argument("--to", choices=["safetensors", "torch", "npz"], help="output format, whatever the extension")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=_cmd_convert)

    m = sub.add_parser("demo", parents=[common], help="the chapter end to end: build, init, train while watching, save, report")
    m.add_argument("--out", default="weightwise-demo", metavar="DIR", help="output folder (default ./weightwise-demo)")
    m.add_argument("--quiet", action="store_true", help="no progress bar or tables; only where the files are")
    m.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    m.add_argument("--json", action="store_true", help="print a JSON summary of the run")
    m.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``weightwise`` console script and ``python -m weightwise``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    out = Console(plain=getattr(args, "json", False))
    try:
        return int(args.func(args, out))
    except KeyboardInterrupt:
        sys.stderr.write("weightwise: interrupted\n")
        return 130
    except BrokenPipeError:  # `weightwise inspect big.pt | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # every failure becomes one line unless --debug
        if args.debug:
            raise
        sys.stderr.write(f"weightwise: error: {_one_line(e)}\n")
        return EXIT_ERROR


def _one_line(e: BaseException) -> str:
    from .diagnostics.files_report import NoMatchError
    from .io.errors import SerializationError

    msg = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, (UserError, NoMatchError)):
        return msg
    if isinstance(e, SerializationError):
        return f"{msg}; this file cannot be read safely (is it a safetensors, PyTorch, .npy or .npz file?)"
    if isinstance(e, PermissionError):
        return f"{e.filename}: permission denied; check the file's permissions"
    if isinstance(e, OSError):
        return f"{e.filename or ''}: {e.strerror or msg}; check the path and the disk".lstrip(": ")
    return f"{type(e).__name__}: {msg} (run with --debug for the traceback)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def _seconds(s: float) -> str:
    """A duration for people: "35 ms" below a second, "1.4 s" above."""
    return f"{s * 1e3:.0f} ms" if s < 1 else f"{s:.1f} s"
