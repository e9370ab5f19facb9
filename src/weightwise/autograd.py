"""Reverse-mode automatic differentiation: the `Function` base and the backward engine.

The graph is dynamic: every differentiable op creates one `Function` node holding its inputs and
whatever it saved. `backward` walks the nodes iteratively in topological order (no recursion, so
a chain of 100,000 ops is fine) and sums the gradients of every use of a leaf into `.grad`, which
is what makes tied parameters correct. Backward math runs on NumPy arrays, never on Tensors.
The grad modes (`no_grad`, `inference_mode`, `detect_anomaly`, ...) live in `_grad_mode.py`
and are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from ._grad_mode import (  # noqa: F401  (re-exported)
    _check_finite,
    _state,
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)

if TYPE_CHECKING:
    from .tensor import Tensor

# ---------------------------------------------------------------------------------------------
# Function: one node of the graph


class Function:
    """One differentiable op: `forward` on arrays, `backward` on arrays, side by side.

    Subclasses set `saved_inputs` (indices of inputs whose arrays backward reads) and
    `saves_output`, so the engine can raise PyTorch's error when one of them was modified in
    place after the forward. `backward(grad)` returns one gradient (or None) per tensor input.
    """

    saved_inputs: tuple[int, ...] = ()
    saves_output = False
    is_view = False  # the output shares memory (and so the version counter) with input 0
    # Per-node state, with class-level defaults so that creating a node costs no stores.
    inputs: tuple[Tensor, ...] = ()
    needs_input_grad: tuple[bool, ...] = ()
    _versions: tuple[int, ...] = ()
    _out: list[int] | None = None
    _out_version = 0
    _retain: Any = None
    _hooks: list[Callable] | None = None
    _freed = False
    _next: tuple[Any, ...] = ()
    # The node that produced each input when this node was recorded (None for a leaf or a
    # tensor without grad). Bound then, as PyTorch's edges are: an in-place op that later gives
    # an input a new node must not re-route gradients recorded before it.
    _edges: tuple[Any, ...] = ()

    def forward(self, *args: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> Any:
        raise NotImplementedError

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        out: list[tuple[Any, int]] = []
        if self._freed:  # released after backward: the edges were kept
            for e in self._next:
                out.append((AccumulateGrad(e) if isinstance(e, _Tensor) else e, 0))
            return tuple(out)
        for t, e in zip(self.inputs, _edges_of(self)):
            if e is not None:
                out.append((e, 0))
            elif t.requires_grad:
                out.append((AccumulateGrad(t), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def register_hook(self, fn: Callable) -> None:
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs: Any) -> Tensor:
        """Run the forward on the inputs' arrays and record a node when a gradient is needed.

        This is the hottest path of the library: it avoids helper calls and attribute lookups.
        """
        fn = _new(cls)
        try:
            out = fn.forward(*[t._a for t in inputs], **kwargs)
        except ValueError as e:  # NumPy's broadcasting error, as PyTorch's RuntimeError
            raise _shape_error(cls.name(), [t._a.shape for t in inputs], e) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)  # NumPy returns scalars from 0-d arithmetic
        if _state["anomaly"]:
            _check_finite(cls.name(), out, "forward")
        r = _new(_Tensor)
        r._a = out
        r._grad = None
        r.grad_fn = None
        r._hooks = None
        r._retains_grad = False
        if cls.is_view:
            base = inputs[0]
            r._vc = base._vc
            r._base = base._base if base._base is not None else base
        else:
            r._vc = [0]
            r._base = None
        if _state["grad"]:
            need = tuple([t.requires_grad for t in inputs])
            if True in need and out.dtype.kind in "fcV":  # integer and bool results are never differentiable
                r.requires_grad = True
                fn.inputs = inputs
                fn._edges = tuple([t.grad_fn for t in inputs])
                fn.needs_input_grad = need
                if cls.saved_inputs:
                    fn._versions = tuple([inputs[i]._vc[0] for i in cls.saved_inputs])
                if cls.saves_output:
                    fn._out = r._vc
                    fn._out_version = r._vc[0]
                r.grad_fn = fn
                return r
        r.requires_grad = False
        return r


def _shape_error(op: str, shapes: list[tuple[int, ...]], e: Exception) -> RuntimeError:
    """PyTorch's message for operands that do not broadcast, naming the op and the shapes."""
    if len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        for i in range(1, min(len(a), len(b)) + 1):
            if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
                return RuntimeError(
                    f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) at "
                    f"non-singleton dimension {max(len(a), len(b)) - i} ({op}: shapes {list(a)} and {list(b)})"
                )
    return RuntimeError(f"{op}: invalid input shapes {[list(s) for s in shapes]}: {e}")


_new = object.__new__
_Tensor: Any = None  # set by weightwise.tensor once the class exists (no import cycle)


class AccumulateGrad:
    """Stand-in node for a leaf, as in PyTorch's `next_functions`."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    @staticmethod
    def name() -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


# ---------------------------------------------------------------------------------------------
# The engine


def _version_error(fn: Function, t: Tensor, expected: int, output: bool) -> RuntimeError:
    kind = f"output 0 of {fn.name()}" if output else f"an input of {fn.name()}"
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.type()} {list(t.shape)}], which is {kind}, is at version {t._vc[0]}; "
        f"expected version {expected} instead. Hint: the backtrace further above can point to "
        "the operation that failed to compute its gradient; avoid modifying in place a tensor "
        "that an operation saved for backward."
    )


def _check_versions(fn: Function) -> None:
    for i, v in zip(fn.saved_inputs, fn._versions):
        t = fn.inputs[i]
        if t._vc[0] != v:
            raise _version_error(fn, t, v, output=False)
    out = fn._out
    if out is not None and out[0] != fn._out_version:
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: output 0 of {fn.name()} is at version {out[0]}; expected version "
            f"{fn._out_version} instead."
        )


def _collect(roots: Sequence[Function]) -> tuple[dict[Function, int], dict[int, int]]:
    """Count, for every node reachable from the roots, how many edges lead into it; and, for
    every leaf that requires grad (by id), how many edges lead into it."""
    deps: dict[Function, int] = {}
    leaves: dict[int, int] = {}
    stack = list(roots)
    seen = set(roots)
    while stack:
        fn = stack.pop()
        for t, g in zip(fn.inputs, fn._edges or _edges_of(fn)):
            if g is not None:
                if g in deps:
                    deps[g] += 1
                else:
                    deps[g] = 1
                    if g not in seen:
                        seen.add(g)
                        stack.append(g)
            elif t.requires_grad:
                i = id(t)
                leaves[i] = leaves.get(i, 0) + 1
    return deps, leaves


_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the "
    "graph are freed when you call .backward() or autograd.grad(). Specify "
    "retain_graph=True if you need to backward through the graph a second time or if "
    "you need to access saved tensors after calling backward."
)


def _release_node(fn: Function, inputs: tuple[Tensor, ...]) -> None:
    """Drop what a node holds once its backward ran (retain_graph=False): its inputs and every
    array its forward saved, as PyTorch frees saved tensors. What stays is the edge list (for
    `next_functions`) and the flag that makes a second backward raise PyTorch's error."""
    edges = fn._edges or _edges_of(fn)
    fn.__dict__.clear()
    fn._freed = True
    fn._next = tuple([e if e is not None else (t if t.requires_grad else None) for t, e in zip(inputs, edges)])


# Gradients of several uses are summed; inf + (-inf) is nan there, silently, as in PyTorch. The
# sums run NumPy directly and only when it objects (under -W error) finish quietly.
_FP_ERRORS = (RuntimeWarning, FloatingPointError)


def _sum2(a: Any, b: Any) -> Any:
    try:
        return a + b
    except _FP_ERRORS:
        with np.errstate(all="ignore"):
            return a + b


def _add_into(out: np.ndarray, g: np.ndarray) -> None:
    try:
        np.add(out, g, out=out, casting="unsafe")
    except _FP_ERRORS:  # NumPy has written the whole (IEEE) sum before objecting
        pass


def _edges_of(fn: Function) -> tuple[Any, ...]:
    """The producer node of each input, as bound when the node was recorded (nodes built by
    hand, without `apply`, bind late: to the inputs' nodes now)."""
    return fn._edges or tuple([t.grad_fn for t in fn.inputs])


def run_backward(
    roots: Sequence[tuple[Function, np.ndarray]],
    retain_graph: bool,
    capture: dict[int, Tensor] | None = None,
) -> dict[int, np.ndarray] | None:
    """Propagate `roots` (node, gradient of its output) to the leaves.

    Without `capture`, the gradient of every leaf is summed over all its uses in this pass, its
    hooks run once on that total, and the result is added into `.grad`. With `capture`
    (id -> tensor), only those tensors' gradients are collected and returned (autograd.grad).
    The walk is iterative: a node (or leaf) runs once every edge into it has delivered.
    """
    deps, leaf_left = _collect([fn for fn, _ in roots])
    grads: dict[Function, np.ndarray] = {}
    # Arrays a `.grad` may not take without a copy: the caller's root gradients, and arrays
    # already taken by another `.grad` in this pass (all alive anyway, so ids stay unique).
    given: dict[int, np.ndarray] = {}
    # Leaves with several uses: [partial sum, whether the sum is an array of our own].
    pending: dict[int, list[Any]] = {}
    ready: list[Function] = []
    for fn, g0 in roots:
        if fn in grads:
            grads[fn] = _sum2(grads[fn], g0)
        else:
            grads[fn] = g0
            given[id(g0)] = g0
        if fn not in deps and fn not in ready:
            ready.append(fn)
    captured: dict[int, np.ndarray] = {}
    anomaly = _state["anomaly"]
    while ready:
        fn = ready.pop()
        g: Any = grads.pop(fn, None)
        inputs = fn.inputs
        if g is None:
            # No edge into this node delivered a gradient (every consumer returned None): it
            # passes None on, so that the nodes and leaves below still count their edges.
            in_grads: Any = (None,) * len(inputs)
        else:
            if fn._freed:
                raise RuntimeError(_SECOND_BACKWARD)
            if fn._hooks:
                for hook in fn._hooks:
                    r = hook(_Tensor._make(g))
                    if r is not None:
                        g = r._a
            if fn._retain is not None:
                t = fn._retain()
                if t is not None:
                    if capture is None:
                        _accumulate(t, g, given)
                    elif id(t) in capture:
                        captured[id(t)] = g
            if fn._versions:
                for i, v in zip(fn.saved_inputs, fn._versions):
                    if inputs[i]._vc[0] != v:
                        _check_versions(fn)
            if fn._out is not None and fn._out[0] != fn._out_version:
                _check_versions(fn)
            in_grads = fn.backward(g)
            g = None
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
        edges = fn._edges or (_edges_of(fn) if not fn._freed else ())
        if not retain_graph and not fn._freed:
            _release_node(fn, inputs)
        k = -1
        for t, gi, nxt in zip(inputs, in_grads, edges):
            k += 1
            if nxt is None:
                if not t.requires_grad:
                    continue
                i = id(t)
                if capture is not None and i not in capture:
                    continue
                n = leaf_left.get(i, 1) - 1
                leaf_left[i] = n
                if gi is not None:
                    gi = _checked(fn, k, t, gi, anomaly)
                    p = pending.get(i)
                    if p is None:
                        if n <= 0:
                            _leaf_done(t, gi, given, capture, captured)
                            continue
                        pending[i] = [gi, False]
                    elif p[1]:
                        _add_into(p[0], gi)
                    else:
                        p[0] = np.asarray(_sum2(p[0], gi))  # 0-d sums come back as NumPy scalars
                        p[1] = True
                if n <= 0 and i in pending:
                    _leaf_done(t, pending.pop(i)[0], given, capture, captured)
                continue
            if gi is not None and t.requires_grad:
                gi = _checked(fn, k, t, gi, anomaly)
                if nxt in grads:
                    grads[nxt] = _sum2(grads[nxt], gi)
                else:
                    grads[nxt] = gi
            n = deps[nxt] - 1
            deps[nxt] = n
            if n == 0:
                ready.append(nxt)
        in_grads = gi = None  # nothing of this node's stays referenced during the next one
    return captured if capture is not None else None


def _checked(fn: Function, k: int, t: Tensor, gi: Any, anomaly: bool) -> np.ndarray:
    """The gradient `fn` returned for its input `k`, as an array of `t`'s shape and dtype."""
    ta = t._a
    if type(gi) is not np.ndarray:
        gi = np.asarray(gi)
    if gi.shape != ta.shape:
        raise RuntimeError(
            f"Function {fn.name()} returned an invalid gradient at index {k} - got "
            f"{list(gi.shape)} but expected shape compatible with {list(ta.shape)}"
        )
    if gi.dtype != ta.dtype:
        gi = gi.astype(ta.dtype)
    if anomaly:
        _check_finite(fn.name(), gi, "backward", k)
    return gi


def _leaf_done(
    t: Tensor,
    g: np.ndarray,
    given: dict[int, np.ndarray],
    capture: dict[int, Tensor] | None,
    captured: dict[int, np.ndarray],
) -> None:
    """A leaf's gradient of this pass is complete: run its hooks once on it, then keep it."""
    hooks = t._hooks
    if hooks:
        for hook in list(hooks):
            r = hook(_Tensor._make(g))
            if r is not None:
                g = r._a
    if capture is None:
        _accumulate(t, g, given)
    else:
        captured[id(t)] = g


def _copy(g: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `g`. A large transposed matrix whose rows are a multiple of 1 KiB
    apart (512 float32 columns, ...) copies about five times faster through a staging buffer with
    padded rows: reading its columns directly maps them all onto the same few cache sets."""
    if g.ndim == 2 and g.size >= 65536 and not g.flags.c_contiguous and g.flags.f_contiguous:
        src = g.T
        n, m = src.shape
        if (m * g.itemsize) % 1024 == 0:
            staged = np.empty((n, m + 64 // g.itemsize), g.dtype)[:, :m]
            np.copyto(staged, src)
            out = np.empty(g.shape, g.dtype)
            np.copyto(out, staged.T)
            return out
    return g.copy()


def _accumulate(t: Tensor, g: np.ndarray, given: dict[int, np.ndarray]) -> None:
    """Sum `g` into `t.grad`; a new `.grad` takes `g` itself unless it may be shared (a view, a
    read-only array, an array the caller passed in or another `.grad` already took)."""
    tg = t._grad
    if tg is None:
        if g.base is not None or id(g) in given or not g.flags.writeable:
            g = _copy(g)
        given[id(g)] = g
        t._grad = _Tensor._make(g)
    else:
        ga = tg._a
        if ga.shape == g.shape:
            _add_into(ga, g)
        else:
            tg._a = ga + g


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Iterable[Tensor] | None = None,
) -> None:
    """Compute the sum of gradients of `tensors` with respect to graph leaves (into `.grad`)."""
    if create_graph:
        raise NotImplementedError("backward(): create_graph=True (higher-order gradients) is not supported by weightwise")
    ts = [tensors] if isinstance(tensors, _Tensor) else list(tensors)
    gs = _grads_for(ts, grad_tensors, "backward")
    roots = []
    for t, g in zip(ts, gs):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if t.grad_fn is None:
            _leaf_done(t, g.copy(), {}, None, {})
            continue
        roots.append((t.grad_fn, g))
    if inputs is not None:
        wanted = list(inputs)
        res = run_backward(roots, bool(retain_graph), capture={id(t): t for t in wanted})
        assert res is not None
        for t in wanted:
            if id(t) in res:
                _accumulate(t, res[id(t)], {})
        return
    if roots:
        run_backward(roots, bool(retain_graph))


def _grads_for(ts: list[Tensor], grad_tensors: Any, api: str) -> list[np.ndarray]:
    if grad_tensors is None:
        gl: list[Any] = [None] * len(ts)
    elif isinstance(grad_tensors, _Tensor):
        gl = [grad_tensors]
    else:
        gl = list(grad_tensors)
    if len(gl) != len(ts):
        raise RuntimeError(f"{api}(): got {len(gl)} gradients for {len(ts)} tensors")
    out = []
    for t, g in zip(ts, gl):
        if g is None:
            if t._a.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t._a.dtype.kind not in "fV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {t.dtype}")
            out.append(np.ones(t._a.shape, t._a.dtype))
        else:
            ga = g._a if isinstance(g, _Tensor) else np.asarray(g, dtype=t._a.dtype)
            if ga.shape != t._a.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of torch.Size({list(ga.shape)}) and "
                    f"output[0] has a shape of torch.Size({list(t._a.shape)})."
                )
            out.append(ga)
    return out


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return the gradients of `outputs` with respect to `inputs` without touching `.grad`."""
    if create_graph:
        raise NotImplementedError("grad(): create_graph=True (higher-order gradients) is not supported by weightwise")
    outs = [outputs] if isinstance(outputs, _Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, _Tensor) else list(inputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    gs = _grads_for(outs, grad_outputs, "grad")
    roots = []
    direct: dict[int, np.ndarray] = {}
    for t, g in zip(outs, gs):
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if t.grad_fn is None:
            direct[id(t)] = direct[id(t)] + g if id(t) in direct else g
        else:
            roots.append((t.grad_fn, g))
    capture = {id(t): t for t in ins}
    # Non-leaf inputs are captured at their grad_fn through the retain slot.
    import weakref

    patched = []
    for t in ins:
        if t.grad_fn is not None and t.grad_fn._retain is None:
            t.grad_fn._retain = weakref.ref(t)
            patched.append(t.grad_fn)
    try:
        saved_grads = {id(t): t._grad for t in ins if t.grad_fn is not None}
        res = run_backward(roots, bool(retain_graph), capture=capture) if roots else {}
        assert res is not None
        for t in ins:
            if t.grad_fn is not None:
                t._grad = saved_grads[id(t)]
    finally:
        for fn in patched:
            fn._retain = None
    result: list[Tensor | None] = []
    for t in ins:
        g = res.get(id(t))  # type: ignore[assignment]
        if id(t) in direct:
            g = direct[id(t)] if g is None else g + direct[id(t)]
        if g is None:
            if materialize_grads:
                result.append(_Tensor._make(np.zeros_like(t._a)))
                continue
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            result.append(None)
        else:
            result.append(_Tensor._make(np.array(g, copy=True)))
    return tuple(result)
