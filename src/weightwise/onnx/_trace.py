"""Tracing: run the forward with graph recording on, then walk the recorded graph.

Every op on a tensor that requires grad records one `Function` node holding its inputs, so
running the model on inputs that require grad (and with every parameter requiring grad) records
exactly the computation from inputs and parameters to the outputs. Ops on constants alone are
not recorded: they reach the graph as constants (folded).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from ..autograd import Function, enable_grad
from ..tensor import Tensor


def flatten_outputs(out: Any) -> list[Tensor]:
    """A model's output as a flat list of tensors (a tensor, or nested tuples/lists/dicts)."""
    res: list[Tensor] = []
    stack = [out]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            res.append(o)
        elif isinstance(o, (tuple, list)):
            stack.extend(reversed(o))
        elif isinstance(o, dict):
            stack.extend(reversed(list(o.values())))
        else:
            raise TypeError(
                f"weightwise.onnx.export: the model returned a {type(o).__name__}; only tensors and "
                "tuples, lists or dicts of tensors can be exported"
            )
    return res


def _modules(model: Any) -> list[tuple[str, Any]]:
    named = getattr(model, "named_modules", None)
    if named is None:
        return []
    try:
        return list(named())
    except TypeError:
        return []


@contextmanager
def export_mode(model: Any, params: Sequence[Tensor]) -> Iterator[None]:
    """Eval mode and parameters that require grad for the trace; everything restored after."""
    mods = _modules(model)
    training = [(m, getattr(m, "training", None)) for _, m in mods]
    flags = [(p, p.requires_grad) for p in params]
    try:
        if hasattr(model, "eval") and mods:
            model.eval()
        for p in params:
            if p._a.dtype.kind == "f":
                p.requires_grad = True
        yield
    finally:
        for p, rg in flags:
            p.requires_grad = rg
        for m, tr in training:
            if tr is not None:
                m.training = tr


_apply_lock = threading.RLock()


@contextmanager
def recording(model: Any) -> Iterator[dict[str, Any]]:
    """Keep each recorded node's keyword arguments and the path of the module that made it.

    Some ops keep their arguments only as `forward` keywords (the scalar of `x + 1`, the eps
    of a layer norm, the running mean of a batch norm in eval mode), so during the trace
    `Function.apply` is wrapped to store them on the node as `_onnx_kw`; the module path comes
    from forward pre-hooks and hooks (a stack of the modules running), stored as `_onnx_scope`.
    Everything is restored on exit. Yields {path: module}.
    """
    stack: list[str] = []
    modules: dict[str, Any] = {}
    handles = []
    for name, m in _modules(model):
        modules[name] = m
        if not name:
            continue
        pre = getattr(m, "register_forward_pre_hook", None)
        post = getattr(m, "register_forward_hook", None)
        if pre is None or post is None:
            continue

        def push(mod: Any, args: Any, _name: str = name) -> None:
            stack.append(_name)

        def pop(mod: Any, args: Any, output: Any, _name: str = name) -> None:
            if stack and stack[-1] == _name:
                stack.pop()

        try:
            handles.append(pre(push))
            handles.append(post(pop))
        except Exception:  # noqa: BLE001 - a module that refuses hooks only loses error context
            continue

    original = Function.__dict__["apply"]
    raw = original.__func__

    def apply(cls: Any, *inputs: Tensor, **kwargs: Any) -> Tensor:
        out = raw(cls, *inputs, **kwargs)
        fn = out.grad_fn
        if fn is not None and type(fn) is cls and "_onnx_kw" not in fn.__dict__:
            fn._onnx_kw = kwargs
            fn._onnx_scope = stack[-1] if stack else ""
        return out

    with _apply_lock:
        Function.apply = classmethod(apply)  # type: ignore[method-assign, assignment]
        try:
            yield modules
        finally:
            Function.apply = original  # type: ignore[method-assign]
            for h in handles:
                h.remove()


def run(model: Any, inputs: Sequence[Tensor]) -> Any:
    with enable_grad():
        return model(*inputs)


def topo_order(outputs: Sequence[Tensor]) -> tuple[list[Any], dict[Any, Tensor]]:
    """Recorded nodes reachable from the outputs, inputs before users; and each node's output."""
    order: list[Any] = []
    out_of: dict[Any, Tensor] = {}
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = []
    for t in reversed(list(outputs)):
        if t.grad_fn is not None:
            out_of.setdefault(t.grad_fn, t)
            stack.append((t.grad_fn, False))
    while stack:
        fn, done = stack.pop()
        if done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        for t in reversed(fn.inputs):
            g = t.grad_fn
            if g is not None:
                out_of.setdefault(g, t)
                if id(g) not in visited:
                    stack.append((g, False))
    return order, out_of
