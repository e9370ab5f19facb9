"""`weightwise.onnx`: export a model's forward to an ONNX file that any ONNX runtime can run.

`export(model, args, f)` runs the forward once on the example inputs with graph recording on,
walks the recorded autograd graph from the outputs back, and writes one ONNX node (or a few) per
recorded op. Parameters and buffers become initializers named by their dotted names (a tied
parameter is one initializer, used wherever the model uses it); everything computed without the
inputs or parameters is folded into constants. A second trace on other values of the same
shapes checks that no folded constant was computed from the input (a mask `x > 0`, an index
from `argmax`, an `.item()`), which would make the file right only for the example input.
Requires the optional extra:
`pip install 'weightwise[onnx]'`.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from ..tensor import Tensor
from ._converters import OnnxExporterError, UnsupportedOperatorError, supported_ops

__all__ = ["export", "OnnxExporterError", "TracerWarning", "UnsupportedOperatorError", "supported_ops"]

_MIN_OPSET = 17


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as e:
        raise ImportError(
            "weightwise.onnx.export needs the 'onnx' package, an optional extra; install it with "
            "pip install 'weightwise[onnx]'"
        ) from e
    return onnx


def _as_inputs(args: Any) -> list[Tensor]:
    if isinstance(args, Tensor):
        return [args]
    if not isinstance(args, (tuple, list)):
        raise TypeError(
            f"weightwise.onnx.export: 'args' must be a Tensor or a tuple of Tensors, got {type(args).__name__}"
        )
    items = list(args)
    if items and isinstance(items[-1], dict) and not items[-1]:
        items.pop()  # PyTorch's trailing empty kwargs dict
    for i, a in enumerate(items):
        if not isinstance(a, Tensor):
            raise TypeError(
                f"weightwise.onnx.export: 'args' must contain only Tensors, but args[{i}] is a "
                f"{type(a).__name__} ({a!r:.60}); non-tensor arguments cannot become graph inputs"
            )
    return items


def _names(kind: str, given: Sequence[str] | None, n: int, default: str) -> list[str]:
    if given is None:
        return [default] if n == 1 else [f"{default}_{i}" for i in range(n)]
    given = list(given)
    if any(not isinstance(s, str) or not s for s in given):
        raise TypeError(f"weightwise.onnx.export: {kind} must be a list of non-empty strings, got {given!r}")
    if len(given) > n:
        raise ValueError(f"weightwise.onnx.export: {len(given)} {kind} given for {n} {kind.split('_')[0]}s: {given!r}")
    if len(set(given)) != len(given):
        raise ValueError(f"weightwise.onnx.export: {kind} contains duplicates: {given!r}")
    return given + [f"{default}_{i}" for i in range(len(given), n)]


def _dynamic(dynamic_axes: Mapping[str, Any] | None, shapes: dict[str, tuple[int, ...]]) -> dict[str, dict[int, str]]:
    res: dict[str, dict[int, str]] = {}
    if not dynamic_axes:
        return res
    if not isinstance(dynamic_axes, Mapping):
        raise TypeError(f"weightwise.onnx.export: dynamic_axes must be a dict, got {type(dynamic_axes).__name__}")
    for name, axes in dynamic_axes.items():
        if name not in shapes:
            raise ValueError(
                f"weightwise.onnx.export: dynamic_axes names '{name}', which is not an input or output name "
                f"(names: {sorted(shapes)})"
            )
        nd = len(shapes[name])
        items = axes.items() if isinstance(axes, Mapping) else [(a, None) for a in axes]
        d: dict[int, str] = {}
        for ax, sym in items:
            if not isinstance(ax, (int, np.integer)) or not -nd <= ax < nd:
                raise ValueError(
                    f"weightwise.onnx.export: dynamic axis {ax!r} of '{name}' is out of range for rank {nd}"
                )
            d[int(ax) % nd] = str(sym) if sym is not None else f"{name}_dynamic_axes_{int(ax) % nd + 1}"
        res[name] = d
    return res


class TracerWarning(UserWarning):
    """The traced graph may not hold for inputs other than the example (as PyTorch's)."""


class _Graph:
    """One trace converted to ONNX nodes (before the initializers are attached)."""

    def __init__(self, builder: Any, graph_inputs: list, graph_outputs: list, used: dict[str, Tensor]) -> None:
        self.b, self.graph_inputs, self.graph_outputs, self.used = builder, graph_inputs, graph_outputs, used


def _convert(onnx: Any, model: Any, inputs: list[Tensor], named: list[tuple[str, Tensor]], opset: int,
             input_names: Sequence[str] | None, output_names: Sequence[str] | None,
             dynamic_axes: Mapping[str, Any] | None) -> _Graph:
    """Run the forward once on `inputs` (with recording on) and convert the recorded graph."""
    from . import _trace
    from ._builder import GraphBuilder
    from ._converters import NodeContext, generic_dyn, lookup

    param_of: dict[int, tuple[str, Tensor]] = {}
    array_param: dict[int, tuple[str, Tensor]] = {}
    for n, p in named:
        param_of.setdefault(id(p), (n, p))
        array_param.setdefault(id(p._a), (n, p))

    with _trace.recording(model) as modules:
        result = _trace.run(model, inputs)
    outputs = _trace.flatten_outputs(result)
    if not outputs:
        raise OnnxExporterError("weightwise.onnx.export: the model returned no tensors")
    order, out_of = _trace.topo_order(outputs)

    in_names = _names("input_names", input_names, len(inputs), "input")
    out_names = _names("output_names", output_names, len(outputs), "output")
    clash = set(in_names) & set(out_names)
    if clash:
        raise ValueError(f"weightwise.onnx.export: names used for both an input and an output: {sorted(clash)}")
    shapes = {n: tuple(t._a.shape) for n, t in zip(in_names, inputs)}
    shapes.update({n: tuple(t._a.shape) for n, t in zip(out_names, outputs)})
    dyn_axes = _dynamic(dynamic_axes, shapes)

    b = GraphBuilder(onnx, opset)
    for n in in_names + out_names:
        b.reserve(n)
    for n, _ in named:
        b.reserve(n)

    helper = onnx.helper
    value_of_tensor: dict[int, str] = {}
    value_of_array: dict[int, str] = {}
    dyn_of_name: dict[str, dict] = {}
    keep_alive: list[Any] = []
    for n, t in zip(in_names, inputs):
        value_of_tensor[id(t)] = n
        value_of_array[id(t._a)] = n
        dyn_of_name[n] = {ax: (sym, 1) for ax, sym in dyn_axes.get(n, {}).items()}
    used_params: dict[str, Tensor] = {}

    def array_value(a: np.ndarray, hint: str) -> str:
        v = value_of_array.get(id(a))
        if v is not None:
            return v
        hit = array_param.get(id(a))
        if hit is not None:
            name = hit[0]
            used_params[name] = hit[1]
        else:
            name = b.const(a, hint=hint)
        keep_alive.append(a)
        value_of_array[id(a)] = name
        return name

    def tensor_value(t: Tensor, hint: str) -> str:
        hit = param_of.get(id(t))
        if hit is not None:
            used_params[hit[0]] = hit[1]
            value_of_tensor[id(t)] = hit[0]
            return hit[0]
        v = value_of_tensor.get(id(t))
        return v if v is not None else array_value(t._a, hint)

    value_of_fn: dict[Any, str] = {}
    dyn_of_fn: dict[Any, dict] = {}
    last_is_output = {id(t.grad_fn): i for i, t in enumerate(outputs) if t.grad_fn is not None}
    for fn in order:
        conv = lookup(fn)
        path = str(getattr(fn, "_onnx_scope", ""))
        b.owner = (str(fn.name()), type(fn).__name__, path, type(modules.get(path)).__name__ if path else "")
        if conv is None:
            where = f" in module '{path}' ({b.owner[3]})" if path else ""
            raise UnsupportedOperatorError(
                f"weightwise.onnx.export: unsupported operator '{fn.name()}' ({type(fn).__name__}){where} "
                f"at opset {opset}; supported: {', '.join(supported_ops())}"
            )
        ins, in_dyn = [], []
        for t in fn.inputs:
            if t.grad_fn is not None:
                ins.append(value_of_fn[t.grad_fn])
                in_dyn.append(dyn_of_fn[t.grad_fn])
            else:
                ins.append(tensor_value(t, "Constant"))
                in_dyn.append(dyn_of_name.get(ins[-1], {}))
        out = out_of[fn]
        ctx = NodeContext(b, fn, ins, in_dyn, out, array_value, path, dyn_of_name,
                          module=modules.get(path), resolve_tensor=tensor_value)
        b.scope = path
        n_before = len(b.nodes)
        name = conv(ctx)
        b.scope = ""
        # The output of a graph output's node takes the output's name directly.
        i = last_is_output.pop(id(fn), None)
        if i is not None and len(b.nodes) > n_before and list(b.nodes[-1].output) == [name] and not b.is_const(name):
            b.nodes[-1].output[0] = out_names[i]
            name = out_names[i]
        value_of_fn[fn] = name
        if ctx.out_dyn is None:
            ctx.out_dyn = generic_dyn(in_dyn, [t._a.shape for t in fn.inputs], tuple(out._a.shape))
        dyn_of_fn[fn] = ctx.out_dyn
    b.owner = ("graph output", "", "", "")

    graph_outputs = []
    for n, t in zip(out_names, outputs):
        if t.grad_fn is not None:
            src, dyn = value_of_fn[t.grad_fn], dyn_of_fn[t.grad_fn]
        else:
            src = tensor_value(t, "Constant")
            dyn = dyn_of_name.get(src, {})
        if src != n:
            b.nodes.append(helper.make_node("Identity", [src], [n], name=b.fresh(f"Identity_{n}")))
        dims: list[Any] = list(t._a.shape)
        for ax, (sym, factor) in dyn.items():
            dims[ax] = sym if factor == 1 else f"{factor}*{sym}"
        for ax, sym in dyn_axes.get(n, {}).items():
            dims[ax] = sym
        graph_outputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(t._a.dtype), dims))

    graph_inputs = []
    for n, t in zip(in_names, inputs):
        dims = list(t._a.shape)
        for ax, sym in dyn_axes.get(n, {}).items():
            dims[ax] = sym
        graph_inputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(t._a.dtype), dims))
    return _Graph(b, graph_inputs, graph_outputs, used_params)


def _perturbed(inputs: list[Tensor], permute: bool, scale: bool) -> list[Tensor]:
    """Other example inputs of the same shapes: elements permuted and/or floats scaled.

    A permutation keeps every whole-tensor statistic (so loops on `x.abs().sum()` run as
    often) but moves masks such as `x > 0`; a scale of 1 + 2**-6 changes reductions.
    """
    rng = np.random.default_rng(20240607)
    res = []
    for t in inputs:
        a = np.array(t._a, copy=True)
        if permute and a.size > 1:
            flat = a.reshape(-1)
            a = flat[rng.permutation(flat.size)].reshape(a.shape)
        if scale and a.dtype.kind == "f":
            a = (a * a.dtype.type(1 + 2.0**-6)).astype(a.dtype)
        c = Tensor._make(a)
        if a.dtype.kind == "f":
            c.requires_grad = True
        res.append(c)
    return res


def _structure(g: _Graph) -> tuple:
    nodes = []
    for n in g.b.nodes:
        if n.op_type == "Constant":
            continue
        attrs = tuple(sorted((a.name, str(a).replace(a.name, "", 1)) for a in n.attribute))
        nodes.append((n.op_type, attrs))
    return tuple(nodes), tuple(sorted(g.used)), tuple((o, a.shape, a.dtype.str) for o, a in g.b.const_log)


def _check_constants(model: Any, inputs: list[Tensor], first: _Graph, convert: Any, first_state: Any) -> None:
    """Trace again on other inputs; a folded constant that changes was computed from the input."""
    from .. import random as _random

    gen = _random.default_generator
    compared = False
    for permute, scale in ((True, True), (True, False), (False, True)):
        if not any(t._a.dtype.kind == "f" for t in inputs) and not permute:
            continue
        state = gen.get_state()
        try:
            gen.set_state(first_state)
            other = convert(_perturbed(inputs, permute, scale))
        except Exception:  # noqa: BLE001 - the model may refuse other values; try the next variant
            continue
        finally:
            gen.set_state(state)
        if _structure(other) != _structure(first):
            continue
        compared = True
        for (owner, a), (_, a2) in zip(first.b.const_log, other.b.const_log):
            if not np.array_equal(a, a2, equal_nan=a.dtype.kind in "fc"):
                op, cls, path, mod = owner
                where = f" in module '{path}' ({mod})" if path else " in the model's own forward"
                raise OnnxExporterError(
                    f"weightwise.onnx.export: operator '{op}' ({cls}){where} uses a constant of shape "
                    f"{list(a.shape)} and dtype {a.dtype} that changes with the input values: it was computed "
                    "from the input outside the recorded graph (a comparison mask such as `x > 0`, an integer "
                    "cast, `.item()`, `.detach()` or `.numpy()`), so the exported model would be right only "
                    "for the example input. Compute it with differentiable ops on the input instead (e.g. "
                    "`relu`, `clamp`, `maximum`, arithmetic), or pass check_trace=False to export it anyway."
                )
        break
    if not compared:
        warnings.warn(
            "weightwise.onnx.export: the traced graph changes with the input values (Python control flow "
            f"on tensor values in {type(model).__name__}.forward?); it is exported as traced for the example "
            "input and may be wrong for other inputs, and its constants could not be checked",
            TracerWarning,
            stacklevel=3,
        )


def export(
    model: Any,
    args: Any,
    f: Any,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset_version: int | None = 17,
    dynamic_axes: Mapping[str, Any] | None = None,
    do_constant_folding: bool = True,
    export_params: bool = True,
    verbose: bool = False,
    check_trace: bool = True,
) -> Any:
    """Trace `model(*args)` and write it as an ONNX model to `f` (a path or a binary file).

    Returns the `onnx.ModelProto`. The model runs in eval mode during the trace (its training
    flags are restored after). `dynamic_axes` maps input/output names to the axes (a list, or a
    dict axis -> name) whose size may change at run time, e.g. `{"input": {0: "batch"}}`.
    Raises `UnsupportedOperatorError` naming the op and module for an op without a converter.

    With `check_trace` (the default) the forward is traced a second time on other values of the
    same shapes (the example's elements permuted, floats scaled by 1 + 2**-6, with the same
    random state): a folded constant that differs between the traces was computed from the
    input outside the recorded graph, and `OnnxExporterError` names the op and module. When the
    graph itself differs (Python control flow on tensor values), a `TracerWarning` says so and the
    graph is exported as traced for the example (as PyTorch's tracer).
    `do_constant_folding` is accepted for compatibility: ops that depend on neither the inputs
    nor the parameters are always folded, and ops on parameters stay ops so that every
    initializer keeps its parameter's name.
    """
    onnx = _import_onnx()
    from . import _trace

    opset = 17 if opset_version is None else opset_version
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool):
        raise TypeError(f"weightwise.onnx.export: opset_version must be an int, got {opset!r}")
    max_opset = onnx.defs.onnx_opset_version()
    if not _MIN_OPSET <= opset <= max_opset:
        raise ValueError(
            f"weightwise.onnx.export: opset_version must be between {_MIN_OPSET} and {max_opset} "
            f"(the installed onnx's newest), got {opset}"
        )
    if not callable(model):
        raise TypeError(f"weightwise.onnx.export: 'model' must be callable (a Module), got {type(model).__name__}")
    user_inputs = _as_inputs(args)

    # Parameters and buffers, by identity of the tensor and of its array (first dotted name wins).
    named: list[tuple[str, Tensor]] = []
    if hasattr(model, "named_parameters"):
        named += list(model.named_parameters())
    if hasattr(model, "named_buffers"):
        named += [(n, b) for n, b in model.named_buffers() if b is not None]
    params = [p for n, p in model.named_parameters()] if hasattr(model, "named_parameters") else []

    # Detached copies of the inputs; floating ones require grad so that everything is recorded.
    inputs = _perturbed(user_inputs, False, False)

    def convert(xs: list[Tensor]) -> _Graph:
        return _convert(onnx, model, xs, named, int(opset), input_names, output_names, dynamic_axes)

    from .. import random as _random

    with _trace.export_mode(model, params):
        first_state = _random.default_generator.get_state()
        g = convert(inputs)
        if check_trace:
            _check_constants(model, inputs, g, convert, first_state)
    b, graph_inputs, graph_outputs, used_params = g.b, g.graph_inputs, g.graph_outputs, g.used
    helper = onnx.helper

    # Initializers in the model's own order (parameters, then buffers).
    initializers = []
    for n, p in named:
        if n in used_params and used_params[n] is p:
            arr = np.asarray(p._a, order="C")
            if export_params:
                initializers.append(onnx.numpy_helper.from_array(arr, n))
            else:
                graph_inputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(arr.dtype), list(arr.shape)))
            used_params.pop(n)

    graph = helper.make_graph(b.nodes, type(model).__name__, graph_inputs, graph_outputs, initializer=initializers)
    from .. import __version__ as ww_version

    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", int(opset))], producer_name="weightwise",
        producer_version=str(ww_version),
    )
    proto.ir_version = min(proto.ir_version, _max_ir_version(onnx, int(opset)))
    if verbose:
        print(helper.printable_graph(graph))
    _write(proto, f)
    return proto


def _max_ir_version(onnx: Any, opset: int) -> int:
    """The IR version that goes with `opset` (runtimes reject IR versions newer than they know)."""
    table = getattr(onnx.helper, "VERSION_TABLE", [])
    for row in table:
        if row[2] == opset:
            return int(row[1])
    return int(onnx.IR_VERSION)


def _write(proto: Any, f: Any) -> None:
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
        return
    write = getattr(f, "write", None)
    if write is None:
        raise TypeError(f"weightwise.onnx.export: 'f' must be a path or a binary file object, got {type(f).__name__}")
    if isinstance(f, io.TextIOBase):
        raise TypeError("weightwise.onnx.export: 'f' is a text file; open it in binary mode ('wb')")
    write(data)
