"""scatter, scatter_add (out of place and in place) and tile against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import weightwise as ww

from .helpers import check_op

torch = pytest.importorskip("torch")

IDX = np.array([[0, 1, 2, 0], [2, 0, 0, 1]])
UNIQUE = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])  # no place written twice: scatter's result is defined


def _idx(lib, a):  # type: ignore[no-untyped-def]
    return lib.tensor(a)


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_src(dim):
    index = UNIQUE if dim == 0 else np.array([[3, 0, 1], [2, 1, 0]])
    # src the size of index: PyTorch's backward refuses a larger src (its gradient has index's shape)
    check_op(lambda lib, x, s: x.scatter(dim, _idx(lib, index), s), [(3, 4), index.shape], "float64")


def test_scatter_value_and_scatter_add():
    check_op(lambda lib, x: x.scatter(0, _idx(lib, UNIQUE), 2.5), [(3, 4)], "float64")
    check_op(lambda lib, x, s: x.scatter_add(0, _idx(lib, IDX), s), [(3, 4), (2, 4)], "float64")
    check_op(lambda lib, x, s: lib.scatter_add(x, 1, _idx(lib, IDX[:, :3]), s), [(3, 4), (2, 3)], "float64")


def test_larger_src_uses_its_corner():
    for lib in (ww, torch):
        out = lib.zeros(3, 4).scatter_add(0, lib.tensor(IDX), lib.arange(10.0).reshape(2, 5))
        if lib is ww:
            got = out.numpy()
        else:
            np.testing.assert_array_equal(got, out.numpy())


def test_in_place_forms():
    for lib in (ww, torch):
        x = lib.zeros(3, 4)
        x.scatter_(0, lib.tensor(UNIQUE), lib.ones(2, 4))
        x.scatter_add_(0, lib.tensor(IDX), lib.ones(2, 4))
        if lib is ww:
            got = x.numpy()
        else:
            np.testing.assert_array_equal(got, x.numpy())


@pytest.mark.parametrize("call", [
    lambda lib: lib.zeros(3, 4).scatter(0, lib.tensor([[5, 0, 0, 0]]), lib.ones(2, 4)),
    lambda lib: lib.zeros(3, 4).scatter(0, lib.tensor(IDX), lib.ones(1, 1)),
    lambda lib: lib.zeros(3, 4).scatter(0, lib.tensor([0, 1]), lib.ones(2, 4)),
    lambda lib: lib.zeros(3, 4).scatter(0, lib.tensor([[0.5]]), lib.ones(2, 4)),
])
def test_errors_as_torch(call):
    with pytest.raises(Exception) as et:
        call(torch)
    with pytest.raises(Exception) as ew:
        call(ww)
    assert type(ew.value) is type(et.value)


@pytest.mark.parametrize("shape, dims", [((3,), (2,)), ((2, 3), (2,)), ((2, 3), (2, 1, 2)), ((2,), (1, 3))])
def test_tile(shape, dims):
    check_op(lambda lib, x: lib.tile(x, dims), [shape], "float64")
    check_op(lambda lib, x: x.tile(dims), [shape], "float64")
