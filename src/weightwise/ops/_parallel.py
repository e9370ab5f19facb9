"""Elementwise NumPy work split over a few threads.

NumPy runs every ufunc on one thread, while PyTorch runs its elementwise CPU kernels on several.
NumPy's ufunc inner loops release the GIL, so large elementwise work can be shared between the
calling thread and a small persistent pool: the arrays are cut into matching flat chunks and
each chunk gets its own ufunc call (or its own short sequence of in-place ufunc calls).

Guarantees:

- Only C-contiguous arrays of the same shape with at least `MIN_SIZE` elements are split;
  everything else is one plain call, exactly as without this module. Callers keep the small
  path free of extra Python calls by testing `a.size < _parallel.MIN_SIZE` themselves.
- Chunk boundaries depend only on the number of elements (fixed multiples of `CHUNK`), never on
  the number of threads or on timing; which thread computes a chunk does not matter, since each
  element is computed by the same ufunc loop either way. Results are therefore bitwise identical
  to the single-threaded call. Reductions are never split here (that would change rounding).
- The calling thread works too, so one thread (`set_num_threads(1)`) means no pool at all.
- NumPy's floating-point error state (`np.errstate`, a context variable) is carried into the
  worker threads, so `with np.errstate(all="ignore")` around a call still silences its chunks.
- The pool is created on first use; after `os.fork` the child starts without it (a new one is
  created there when needed), and idle workers never delay interpreter exit.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

__all__ = ["MIN_SIZE", "CHUNK", "get_num_threads", "set_num_threads", "map_ufunc", "run", "copy"]

# Arrays below this many elements are not worth a thread hand-off. Measured on a 2-vCPU virtual
# machine (waking an idle worker costs 20-70 us there): float32 exp gains about 1.4x at 2**20
# elements and loses below 2**19; memory-bound ufuncs (add, copy, maximum) lose at every size, so
# callers use this only for transcendental ufuncs (exp, tanh, sigmoid, ...).
_THRESHOLD = 1 << 20
# Chunk length in elements (a multiple of 4096, so every chunk after the first starts as aligned
# as the array itself); 128 KiB of float32, which also keeps fused sequences in cache.
CHUNK = 1 << 15
_MAX_THREADS = 8


def _default_threads() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        n = os.cpu_count() or 1
    return max(1, min(n, _MAX_THREADS))


_num_threads = _default_threads()
# Callers compare `a.size < MIN_SIZE` to choose the plain path; one thread disables splitting.
MIN_SIZE = _THRESHOLD if _num_threads > 1 else sys.maxsize
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def get_num_threads() -> int:
    """The number of threads used for large elementwise operations (the caller's included)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use `n` threads (the calling one included) for large elementwise operations; 1 turns
    threading off. Like `torch.set_num_threads`, it raises for `n < 1`."""
    global _num_threads, MIN_SIZE, _pool
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"set_num_threads(): argument 'int' must be int, not {type(n).__name__}")
    if n < 1:
        raise RuntimeError(f"set_num_threads(): expected a positive number of threads, got {n}")
    with _pool_lock:
        old, _pool = _pool, None
        _num_threads = int(n)
        MIN_SIZE = _THRESHOLD if _num_threads > 1 else sys.maxsize
    if old is not None:
        old.shutdown(wait=False)


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_num_threads - 1, thread_name_prefix="weightwise")
        return _pool


def _after_fork_in_child() -> None:
    # The parent's worker threads do not exist in the child: forget the pool (and its lock,
    # which a parent thread may have held at the moment of the fork).
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _splittable(n: int, arrays: tuple[Any, ...]) -> bool:
    """True when `arrays` (ndarrays or None) are C-contiguous, all of `n` elements."""
    if n < MIN_SIZE:
        return False
    for a in arrays:
        if a is not None and (type(a) is not np.ndarray or a.size != n or not a.flags.c_contiguous):
            return False
    return True


def _run_chunks(fn: Callable[..., Any], n: int, arrays: tuple[Any, ...], chunk: int) -> None:
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    nchunks = -(-n // chunk)
    counter = itertools.count()

    def work() -> None:
        while True:
            i = next(counter) * chunk  # itertools.count is atomic under the GIL
            if i >= n:
                return
            j = i + chunk
            fn(*[None if f is None else f[i:j] for f in flat])

    helpers = min(_num_threads, nchunks) - 1
    futures: list[Future] = []
    if helpers > 0:
        pool = _get_pool()
        futures = [pool.submit(contextvars.copy_context().run, work) for _ in range(helpers)]
    try:
        work()
    finally:
        # Wait for every helper before returning (or raising): they write into the arrays.
        err: BaseException | None = None
        for f in futures:
            e = f.exception()
            if e is not None and err is None:
                err = e
        if err is not None:
            raise err


def run(fn: Callable[..., Any], *arrays: np.ndarray | None, chunk: int = CHUNK) -> None:
    """Call `fn(*parts)` on matching flat chunks of `arrays`, in parallel when they are large.

    `fn` must treat each element independently (elementwise ufuncs with `out=`, in place); it
    gets `None` where an array is `None`. When the arrays are small, not C-contiguous or not all
    of the first array's size, `fn(*arrays)` is called once on the arrays as they are.
    `chunk` (elements) must not depend on the number of threads.
    """
    first = arrays[0]
    assert first is not None
    n = first.size
    if not _splittable(n, arrays) or n <= chunk:
        fn(*arrays)
        return
    _run_chunks(fn, n, arrays, chunk)


def map_ufunc(ufunc: np.ufunc, *inputs: Any, out: np.ndarray | None = None, dtype: Any = None) -> np.ndarray:
    """`ufunc(*inputs, out=out)` computed in chunks across threads when the inputs are large.

    Array inputs must share one shape to be split (Python and NumPy scalars may be mixed in);
    the new output has the first array's dtype unless `dtype` is given, so use this only where
    that is the ufunc's own result dtype (float inputs of float ufuncs).
    """
    arrays = [x for x in inputs if type(x) is np.ndarray]
    a = arrays[0]
    n = a.size
    if not _splittable(n, tuple(arrays)) or (out is not None and not _splittable(n, (out,))):
        return ufunc(*inputs) if out is None else ufunc(*inputs, out=out)
    if out is None:
        out = np.empty(a.shape, dtype if dtype is not None else a.dtype)
    if len(arrays) == len(inputs):
        def part(o: np.ndarray, *xs: np.ndarray) -> None:
            ufunc(*xs, out=o)
    else:
        def part(o: np.ndarray, *xs: np.ndarray) -> None:
            it = iter(xs)
            ufunc(*[next(it) if type(x) is np.ndarray else x for x in inputs], out=o)

    _run_chunks(part, n, (out, *arrays), CHUNK)
    return out


def copy(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of a C-contiguous `a` (chunks copied in parallel when large)."""
    if a.size < MIN_SIZE or not a.flags.c_contiguous:
        return a.copy()
    out = np.empty(a.shape, a.dtype)
    _run_chunks(np.copyto, a.size, (out, a), CHUNK)
    return out
