"""One helper to test an op against PyTorch and against float64 central differences.

`check_op(fn, shapes)` runs `fn` on weightwise tensors and on torch tensors built from the same
values and compares, in order:

1. forward values, shapes and dtypes of every output (tuples of outputs are flattened);
2. `grad_fn` names: PyTorch's `type(y.grad_fn).__name__` against our `y.grad_fn.name()`;
3. gradients for a random upstream gradient: ours (`weightwise.autograd.grad`) against
   `torch.autograd.grad`;
4. our gradients against float64 central finite differences of our own forward.

`fn` gets the library module as its first argument (`lambda lib, x, y: lib.maximum(x, y)`), so
one lambda serves both libraries. NumPy runs with divide/invalid/overflow errors raised inside
our forward and backward, so an op that computes a NaN or Inf it then throws away is caught.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import weightwise as ww

torch = pytest.importorskip("torch")

_DTYPES = {
    "float32": (ww.float32, torch.float32),
    "float64": (ww.float64, torch.float64),
    "float16": (ww.float16, torch.float16),
    "bfloat16": (ww.bfloat16, torch.bfloat16),
    "int64": (ww.int64, torch.int64),
    "int32": (ww.int32, torch.int32),
    "int16": (ww.int16, torch.int16),
    "int8": (ww.int8, torch.int8),
    "uint8": (ww.uint8, torch.uint8),
    "bool": (ww.bool, torch.bool),
}
DTYPE_NAMES = list(_DTYPES)
FLOAT_DTYPES = ["float32", "float64", "float16", "bfloat16"]

# Default tolerances per dtype: (rtol, atol) for forward values and gradients.
_TOL = {
    "float64": (1e-7, 1e-9),
    "float32": (2e-4, 2e-5),
    "float16": (2e-2, 2e-2),
    "bfloat16": (5e-2, 5e-2),
}


def ww_dtype(name: str) -> Any:
    return _DTYPES[name][0]


def torch_dtype(name: str) -> Any:
    return _DTYPES[name][1]


def make_values(shape: Sequence[int], dtype: str, rng: np.random.Generator, low: float = -2.0,
                high: float = 2.0, away: Sequence[float] = (), unique: bool = False) -> np.ndarray:
    """float64 values in [low, high) (rounded to `dtype`), kept 0.1 away from the points `away`.

    `unique` spreads values apart so that max/min/sort-like ops have no ties (stable FD).
    """
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype in ("int64", "int32", "int16", "int8"):
        return rng.integers(int(np.floor(low)), int(np.ceil(high)) + 1, size=shape).astype(dtype)
    if dtype == "uint8":
        return rng.integers(max(0, int(np.floor(low))), max(int(np.ceil(high)) + 1, 4), size=shape).astype(np.uint8)
    if unique and n:
        v = rng.permutation(n).astype(np.float64) / max(n, 1) * (high - low) + low
        v += rng.uniform(0, 0.3 * (high - low) / max(n, 1), size=n)
        v = v.reshape(shape)
    else:
        v = rng.uniform(low, high, size=shape)
    for p in away:
        close = np.abs(v - p) < 0.1
        v = np.where(close, p + 0.1 * np.sign(v - p + 1e-12) + 0.05 * np.sign(v - p + 1e-12), v)
    # Round through the target dtype so both libraries see identical inputs.
    return np.asarray(ww.tensor(v, dtype=ww_dtype(dtype))._a.astype(np.float64))


def _flatten(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        res: list[Any] = []
        for o in out:
            res.extend(_flatten(o))
        return res
    return [out]


def _to_numpy_ww(t: Any) -> np.ndarray:
    return np.asarray(t._a).astype(np.float64) if t._a.dtype != np.bool_ else np.asarray(t._a)


def _to_numpy_torch(t: Any) -> np.ndarray:
    t = t.detach()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    a = t.numpy()
    return a.astype(np.float64) if a.dtype != np.bool_ else a


def assert_close(ours: np.ndarray, theirs: np.ndarray, rtol: float, atol: float, what: str) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch's {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def check_op(
    fn: Callable[..., Any],
    shapes: Sequence[Sequence[int]],
    dtype: str | Sequence[str] = "float32",
    *,
    seed: int = 0,
    low: float = -2.0,
    high: float = 2.0,
    away: Sequence[float] = (),
    unique: bool = False,
    grad: bool = True,
    fd: bool = True,
    fd_eps: float = 1e-6,
    fd_tol: float = 1e-5,
    tol: tuple[float, float] | None = None,
    check_names: bool = True,
    values: Sequence[np.ndarray] | None = None,
    strict: bool = True,
) -> list[Any]:
    """Compare `fn(lib, *tensors)` between weightwise and PyTorch; see the module docstring.

    `dtype` is one name or one per input. Float inputs require grad (when `grad`). Returns our
    outputs (flattened) for extra assertions.
    """
    dtypes = [dtype] * len(shapes) if isinstance(dtype, str) else list(dtype)
    rng = np.random.default_rng(seed)
    vals = list(values) if values is not None else [
        make_values(s, d, rng, low, high, away, unique) for s, d in zip(shapes, dtypes)
    ]
    wants = [grad and d in FLOAT_DTYPES for d in dtypes]

    tin = [torch.tensor(v, dtype=torch_dtype(d), requires_grad=w) for v, d, w in zip(vals, dtypes, wants)]
    win = [ww.tensor(v, dtype=ww_dtype(d), requires_grad=w) for v, d, w in zip(vals, dtypes, wants)]

    with warnings.catch_warnings():  # PyTorch's own warnings (e.g. var with dof <= 0)
        warnings.simplefilter("ignore")
        try:
            tout = _flatten(fn(torch, *tin))
        except Exception as e:  # PyTorch refuses: so must we, with the same exception type
            with pytest.raises(type(e)):
                fn(ww, *win)
            return []
    errs = dict(divide="raise", invalid="raise", over="raise") if strict else dict(all="ignore")
    with np.errstate(**errs):  # type: ignore[arg-type]
        wout = _flatten(fn(ww, *win))
    assert len(tout) == len(wout), f"{len(wout)} outputs, torch gives {len(tout)}"

    # 1. forward values and dtypes
    for k, (w, t) in enumerate(zip(wout, tout)):
        if not isinstance(t, torch.Tensor):
            assert not isinstance(w, ww.Tensor), f"output {k}: torch gives a {type(t).__name__}"
            assert w == t or (w != w and t != t), f"output {k}: {w} != torch's {t}"
            continue
        assert isinstance(w, ww.Tensor), f"output {k}: got {type(w).__name__}, torch gives a Tensor"
        assert isinstance(w._a, np.ndarray), f"output {k}: _a is a {type(w._a).__name__}, not ndarray"
        assert str(w.dtype) == str(t.dtype), f"output {k}: dtype {w.dtype} != torch's {t.dtype}"
        assert tuple(w.shape) == tuple(t.shape), f"output {k}: shape {tuple(w.shape)} != {tuple(t.shape)}"
        rt, at = tol or _TOL.get(str(t.dtype).replace("torch.", ""), (0, 0))
        assert_close(_to_numpy_ww(w), _to_numpy_torch(t), rt, at, f"forward output {k}")
        # 2. grad_fn names
        assert w.requires_grad == t.requires_grad, f"output {k}: requires_grad {w.requires_grad} != {t.requires_grad}"
        if check_names:
            tn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
            wn = w.grad_fn.name() if w.grad_fn is not None else None
            assert wn == tn, f"output {k}: grad_fn {wn} != torch's {tn}"

    if not any(wants):
        return wout
    diff = [(k, w, t) for k, (w, t) in enumerate(zip(wout, tout))
            if isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point]
    if not diff:
        return wout
    # 3. gradients against torch.autograd.grad
    ups = [rng.uniform(-1, 1, size=tuple(t.shape)) for _, _, t in diff]
    t_ins = [x for x, w in zip(tin, wants) if w]
    w_ins = [x for x, w in zip(win, wants) if w]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tg = torch.autograd.grad([t for _, _, t in diff], t_ins,
                                 [torch.tensor(u, dtype=t.dtype) for u, (_, _, t) in zip(ups, diff)],
                                 allow_unused=True)
    with np.errstate(**errs):  # type: ignore[arg-type]
        wg = ww.autograd.grad([w for _, w, _ in diff], w_ins,
                              [ww.tensor(u, dtype=w.dtype) for u, (_, w, _) in zip(ups, diff)],
                              allow_unused=True)
    for i, (a, b, x) in enumerate(zip(wg, tg, w_ins)):
        ours = np.zeros(tuple(x.shape)) if a is None else _to_numpy_ww(a)
        theirs = np.zeros(tuple(x.shape)) if b is None else _to_numpy_torch(b)
        if a is not None:
            assert str(a.dtype) == str(x.dtype), f"grad {i}: dtype {a.dtype} != input's {x.dtype}"
        rt, at = tol or _TOL[str(x.dtype).replace("torch.", "")]
        assert_close(ours, theirs, rt * 5, at * 5, f"gradient of input {i} vs torch")

    # 4. our float64 gradient against central differences of our own forward
    if not fd:
        return wout
    f_dt = ["float64" if d in FLOAT_DTYPES else d for d in dtypes]
    x64 = [ww.tensor(v, dtype=ww_dtype(d), requires_grad=w) for v, d, w in zip(vals, f_dt, wants)]

    def scalar(xs: list[Any]) -> Any:
        outs = _flatten(fn(ww, *xs))
        total = 0.0
        for (k, _, _), u in zip(diff, ups):
            total = (outs[k] * ww.tensor(u, dtype=ww.float64)).sum() + total
        return total

    with np.errstate(**errs):  # type: ignore[arg-type]
        s = scalar(x64)
        ins64 = [x for x, w in zip(x64, wants) if w]
        ag = ww.autograd.grad(s, ins64, allow_unused=True)
        for i, (x, a) in enumerate(zip(ins64, ag)):
            num = np.zeros(x._a.shape)
            flat = x._a.reshape(-1)
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + fd_eps
                with ww.no_grad():
                    up = float(scalar(x64))
                flat[j] = old - fd_eps
                with ww.no_grad():
                    dn = float(scalar(x64))
                flat[j] = old
                num.reshape(-1)[j] = (up - dn) / (2 * fd_eps)
            ours = np.zeros(x._a.shape) if a is None else a._a
            np.testing.assert_allclose(ours, num, rtol=fd_tol, atol=fd_tol,
                                       err_msg=f"gradient of input {i} vs central differences")
    return wout
