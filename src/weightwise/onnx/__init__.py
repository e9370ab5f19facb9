"""`weightwise.onnx`: export a model's forward to an ONNX file that any ONNX runtime can run.

`export(model, args, f)` runs the forward once on the example inputs with graph recording on,
walks the recorded autograd graph from the outputs back, and writes one ONNX node (or a few) per
recorded op. Parameters and buffers become initializers named by their dotted names (a tied
parameter is one initializer, used wherever the model uses it); everything computed without the
inputs or parameters is folded into constants. Requires the optional extra:
`pip install 'weightwise[onnx]'`.
"""

from __future__ import annotations

import io
import os
from typing import Any, Mapping, Sequence

import numpy as np

from ..tensor import Tensor
from ._converters import OnnxExporterError, UnsupportedOperatorError, supported_ops

__all__ = ["export", "OnnxExporterError", "UnsupportedOperatorError", "supported_ops"]

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
) -> Any:
    """Trace `model(*args)` and write it as an ONNX model to `f` (a path or a binary file).

    Returns the `onnx.ModelProto`. The model runs in eval mode during the trace (its training
    flags are restored after). `dynamic_axes` maps input/output names to the axes (a list, or a
    dict axis -> name) whose size may change at run time, e.g. `{"input": {0: "batch"}}`.
    Raises `UnsupportedOperatorError` naming the op and module for an op without a converter.
    `do_constant_folding` is accepted for compatibility: ops that depend on neither the inputs
    nor the parameters are always folded, and ops on parameters stay ops so that every
    initializer keeps its parameter's name.
    """
    onnx = _import_onnx()
    from . import _trace
    from ._builder import GraphBuilder
    from ._converters import NodeContext, generic_dyn, lookup

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
    param_of: dict[int, tuple[str, Tensor]] = {}
    array_param: dict[int, tuple[str, Tensor]] = {}
    for n, p in named:
        param_of.setdefault(id(p), (n, p))
        array_param.setdefault(id(p._a), (n, p))
    params = [p for n, p in model.named_parameters()] if hasattr(model, "named_parameters") else []

    # Detached copies of the inputs; floating ones require grad so that everything is recorded.
    inputs = []
    for t in user_inputs:
        c = Tensor._make(np.array(t._a, copy=True))
        if c._a.dtype.kind == "f":
            c.requires_grad = True
        inputs.append(c)

    scope_of: dict[Any, str] = {}
    with _trace.export_mode(model, params), _trace.module_scopes(model, scope_of):
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

        b = GraphBuilder(onnx, int(opset))
        for n in in_names + out_names:
            b.reserve(n)
        for n, _ in named:
            b.reserve(n)

        helper = onnx.helper
        graph_inputs = []
        value_of_tensor: dict[int, str] = {}
        value_of_array: dict[int, str] = {}
        dyn_of_name: dict[str, dict] = {}
        keep_alive: list[Any] = []
        for n, t in zip(in_names, inputs):
            value_of_tensor[id(t)] = n
            value_of_array[id(t._a)] = n
            dyn_of_name[n] = {ax: (sym, 1) for ax, sym in dyn_axes.get(n, {}).items()}
        used_params: dict[str, Tensor] = {}

        def leaf_value(t: Tensor, hint: str) -> str:
            v = value_of_tensor.get(id(t)) or value_of_array.get(id(t._a))
            if v is not None:
                return v
            return array_value(t._a, hint)

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

        value_of_fn: dict[Any, str] = {}
        dyn_of_fn: dict[Any, dict] = {}
        last_is_output = {id(t.grad_fn): i for i, t in enumerate(outputs) if t.grad_fn is not None}
        for fn in order:
            conv = lookup(fn)
            path = scope_of.get(fn, "")
            if conv is None:
                where = f" in module '{path}'" if path else ""
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
                    hit = param_of.get(id(t))
                    if hit is not None:
                        used_params[hit[0]] = hit[1]
                        value_of_tensor[id(t)] = hit[0]
                        ins.append(hit[0])
                    else:
                        ins.append(leaf_value(t, "Constant"))
                    in_dyn.append(dyn_of_name.get(ins[-1], {}))
            out = out_of[fn]
            ctx = NodeContext(b, fn, ins, in_dyn, out, array_value, path, dyn_of_name)
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

        # Graph outputs.
        graph_outputs = []
        for n, t in zip(out_names, outputs):
            if t.grad_fn is not None:
                src, dyn = value_of_fn[t.grad_fn], dyn_of_fn[t.grad_fn]
            else:
                src = leaf_value(t, "Constant")
                dyn = dyn_of_name.get(src, {})
            if src != n:
                b.nodes.append(helper.make_node("Identity", [src], [n], name=b.fresh(f"Identity_{n}")))
            dims: list[Any] = list(t._a.shape)
            for ax, (sym, factor) in dyn.items():
                dims[ax] = sym if factor == 1 else f"{factor}*{sym}"
            for ax, sym in dyn_axes.get(n, {}).items():
                dims[ax] = sym
            graph_outputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(t._a.dtype), dims))

        for n, t in zip(in_names, inputs):
            dims = list(t._a.shape)
            for ax, sym in dyn_axes.get(n, {}).items():
                dims[ax] = sym
            graph_inputs.append(helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(t._a.dtype), dims))

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
