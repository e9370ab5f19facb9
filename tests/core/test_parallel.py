"""The threaded elementwise helper: bitwise equal to one plain call, errstate carried into the
worker threads, thread-count switch, and a pool that survives fork and interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

from weightwise.ops import _parallel as par

SHAPES = [(0,), (1,), (7,), (4096,), (4097,), (3, 5000), (100, 333), (2, 3, 4099), (1 << 15,), (1 << 15 + 1,)]
DTYPES = [np.float32, np.float64, np.float16, np.int32, np.int64]


@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split every array (a size threshold of 0, small chunks) on two or more threads."""
    monkeypatch.setattr(par, "MIN_SIZE", 0)
    monkeypatch.setattr(par, "CHUNK", 1024)
    monkeypatch.setattr(par, "_num_threads", max(par.get_num_threads(), 3))
    monkeypatch.setattr(par, "_pool", None)


def _data(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, size=shape)
    if np.dtype(dtype).kind == "f":
        x.flat[::17] = np.inf
        x.flat[5::23] = np.nan
        x.flat[3::29] = -0.0
        return x.astype(dtype)
    return (x * 100).astype(dtype)


@pytest.mark.usefixtures("split_everything")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_map_ufunc_bitwise(shape: tuple[int, ...], dtype: type) -> None:
    a, b = _data(shape, dtype, 0), _data(shape, dtype, 1)
    kind = np.dtype(dtype).kind
    unary: list[Any] = [np.negative, np.abs] + ([np.exp, np.tanh, np.log, np.sqrt, np.sin, np.cos, np.expm1] if kind == "f" else [])
    binary: list[Any] = [np.add, np.subtract, np.multiply, np.maximum] + ([np.divide] if kind == "f" else [])
    with np.errstate(all="ignore"):
        for uf in unary:
            np.testing.assert_array_equal(par.map_ufunc(uf, a).view(np.uint8), uf(a).view(np.uint8), err_msg=uf.__name__)
        for uf in binary:
            want = uf(a, b)
            assert par.map_ufunc(uf, a, b).tobytes() == want.tobytes(), uf.__name__
            assert par.map_ufunc(uf, a, 2).tobytes() == uf(a, 2).tobytes(), uf.__name__
            out = np.empty_like(want)
            assert par.map_ufunc(uf, a, b, out=out) is out
            assert out.tobytes() == want.tobytes()


@pytest.mark.usefixtures("split_everything")
@pytest.mark.parametrize("shape", SHAPES)
def test_run_fused_sequence_bitwise(shape: tuple[int, ...]) -> None:
    a = _data(shape, np.float32, 2)

    def sigmoid(t: np.ndarray, x: np.ndarray) -> None:
        np.negative(x, out=t)
        np.exp(t, out=t)
        t += 1
        np.divide(1, t, out=t)

    want = np.empty_like(a)
    with np.errstate(all="ignore"):
        sigmoid(want, a)
        got = np.empty_like(a)
        par.run(sigmoid, got, a, chunk=1024)
    assert got.tobytes() == want.tobytes()
    assert par.copy(a).tobytes() == a.tobytes()


@pytest.mark.usefixtures("split_everything")
def test_fallbacks_non_contiguous_and_mismatched() -> None:
    a = _data((300, 200), np.float32, 3)
    np.testing.assert_array_equal(par.map_ufunc(np.exp, a.T), np.exp(a.T))  # not C-contiguous
    row = a[:1]
    np.testing.assert_array_equal(par.map_ufunc(np.add, a, row), a + row)  # broadcasting
    calls = []
    par.run(lambda x, y: calls.append((x.shape, y)), a.T, None)
    assert calls == [((200, 300), None)]
    assert par.copy(a.T).flags.c_contiguous


@pytest.mark.usefixtures("split_everything")
def test_errstate_reaches_worker_threads() -> None:
    a = np.full(50_000, 1000.0, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            assert np.isinf(par.map_ufunc(np.exp, a)).all()
        with np.errstate(over="raise"), pytest.raises(FloatingPointError):
            par.map_ufunc(np.exp, a)


def test_exception_in_chunk_propagates(split_everything: None) -> None:
    a = np.zeros(10_000, np.float32)

    def boom(x: np.ndarray) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        par.run(boom, a, chunk=1024)


def test_set_num_threads() -> None:
    n = par.get_num_threads()
    assert 1 <= n <= 8
    try:
        par.set_num_threads(1)
        assert par.get_num_threads() == 1 and par.MIN_SIZE == sys.maxsize
        a = np.arange(1 << 21, dtype=np.float32)
        assert par.map_ufunc(np.sqrt, a).tobytes() == np.sqrt(a).tobytes()
        par.set_num_threads(2)
        assert par.get_num_threads() == 2 and par.MIN_SIZE < sys.maxsize
        assert par.map_ufunc(np.sqrt, a).tobytes() == np.sqrt(a).tobytes()
        with pytest.raises(RuntimeError, match="set_num_threads"):
            par.set_num_threads(0)
        with pytest.raises(TypeError, match="set_num_threads"):
            par.set_num_threads(2.0)  # type: ignore[arg-type]
    finally:
        par.set_num_threads(n)


_CHILD = """
import os, sys
import numpy as np
from weightwise.ops import _parallel as par
par.MIN_SIZE = 0
par.set_num_threads(2); par.MIN_SIZE = 0
a = np.arange(200_000, dtype=np.float32)
assert par.map_ufunc(np.sqrt, a).tobytes() == np.sqrt(a).tobytes()
pid = os.fork() if hasattr(os, "fork") else -1
if pid == 0:
    ok = par.map_ufunc(np.sqrt, a).tobytes() == np.sqrt(a).tobytes()
    os._exit(0 if ok else 3)
if pid > 0:
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, status
print("done")
"""


def test_fork_and_interpreter_exit() -> None:
    """A forked child builds its own pool; the parent exits promptly with its pool alive."""
    r = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", _CHILD],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "done"
    assert os.getpid() > 0
