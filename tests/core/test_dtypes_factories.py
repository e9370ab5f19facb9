"""Type promotion against `torch.result_type`, factories, the device API and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import weightwise as ww

from .helpers import DTYPE_NAMES, torch_dtype, ww_dtype

torch = pytest.importorskip("torch")


def _pair(name: str, kind: str, lib: object) -> object:
    """A tensor of dtype `name`: 1-d ('t') or 0-d ('z')."""
    dt = ww_dtype(name) if lib is ww else torch_dtype(name)
    return lib.ones(2, dtype=dt) if kind == "t" else lib.ones((), dtype=dt)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kinds", ["tt", "tz", "zt", "zz"])
def test_promotion_table_tensors(kinds: str) -> None:
    for a, b in itertools.product(DTYPE_NAMES, DTYPE_NAMES):
        want = torch.result_type(_pair(a, kinds[0], torch), _pair(b, kinds[1], torch))
        x, y = _pair(a, kinds[0], ww), _pair(b, kinds[1], ww)
        got = ww.ops._util.result_dtype(x, y)  # type: ignore[attr-defined]
        assert str(got) == str(want), f"{a}({kinds[0]}) with {b}({kinds[1]}): {got} != {want}"
        if "bool" not in (a, b) or a == b:
            assert str((x * y).dtype) == str(want) or (a == b == "bool"), f"{a} * {b}"


@pytest.mark.parametrize("scalar", [True, 2, 2.5])
def test_promotion_with_python_scalars(scalar: object) -> None:
    for a in DTYPE_NAMES:
        for kind in "tz":
            want = torch.result_type(_pair(a, kind, torch), scalar)  # type: ignore[arg-type]
            x = _pair(a, kind, ww)
            got = (x + scalar) if a != "bool" or isinstance(scalar, (int, float)) else x + scalar
            assert str(got.dtype) == str(want), f"{a}({kind}) + {scalar!r}: {got.dtype} != {want}"  # type: ignore[attr-defined]
            tgot = (_pair(a, kind, torch) + scalar)  # type: ignore[operator]
            assert str(tgot.dtype) == str(want)


def test_promote_types() -> None:
    for a, b in itertools.product(DTYPE_NAMES, DTYPE_NAMES):
        assert str(ww.promote_types(ww_dtype(a), ww_dtype(b))) == str(torch.promote_types(torch_dtype(a), torch_dtype(b)))


def test_division_promotes_ints_to_float() -> None:
    for lib in (ww, torch):
        assert str((lib.tensor([1, 2]) / 2).dtype).endswith("float32")
        assert str((lib.tensor([1, 2]) / lib.tensor([2, 4])).dtype).endswith("float32")
        assert str((lib.tensor([True]) + lib.tensor([True])).dtype).endswith("bool")


# ---------------------------------------------------------------------------------------------
# Factories

DATA = [1, 1.5, True, [1, 2], [1.0, 2], [True, False], [[1, 2], [3, 4]], [], [[]], [1, 2.5, True],
        np.array([1, 2], dtype=np.int32), np.array([1.5], dtype=np.float64), np.float32(2.0), np.int16(3)]


@pytest.mark.parametrize("k", range(len(DATA)))
def test_tensor_infers_dtype(k: int) -> None:
    d = DATA[k]
    t, w = torch.tensor(d), ww.tensor(d)
    assert str(w.dtype) == str(t.dtype)
    assert tuple(w.shape) == tuple(t.shape)
    np.testing.assert_array_equal(w.numpy(), t.numpy())


def test_tensor_copies_from_numpy_shares() -> None:
    a = np.zeros(3, dtype=np.float32)
    assert not np.shares_memory(ww.tensor(a)._a, a)
    assert np.shares_memory(ww.from_numpy(a)._a, a)
    assert np.shares_memory(ww.as_tensor(a)._a, a)


FACTORIES = [
    lambda lib: lib.zeros(2, 3), lambda lib: lib.zeros((2, 3)), lambda lib: lib.zeros([2, 3]),
    lambda lib: lib.zeros(size=(2, 3)), lambda lib: lib.ones(4, dtype=lib.int32), lambda lib: lib.ones(()),
    lambda lib: lib.zeros(0, 3), lambda lib: lib.full((2, 2), 7), lambda lib: lib.full((2,), 1.5),
    lambda lib: lib.full((2,), True), lambda lib: lib.arange(5), lambda lib: lib.arange(1, 4, 0.5),
    lambda lib: lib.arange(0.0, 1.0, 0.1), lambda lib: lib.arange(10, 0, -3), lambda lib: lib.arange(3, dtype=lib.float64),
    lambda lib: lib.linspace(0, 1, 5), lambda lib: lib.linspace(-2, 3, 1), lambda lib: lib.linspace(0, 1, 0),
    lambda lib: lib.linspace(-1.5, 7.25, 11), lambda lib: lib.eye(3), lambda lib: lib.eye(2, 4),
    lambda lib: lib.eye(3, dtype=lib.int64), lambda lib: lib.empty(2, 3).zero_(),
    lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.int64)), lambda lib: lib.ones_like(lib.ones(2), dtype=lib.float64),
    lambda lib: lib.full_like(lib.ones(2, 2), 3.5), lambda lib: lib.empty_like(lib.ones(3)).fill_(2),
    lambda lib: lib.zeros(2, requires_grad=True), lambda lib: lib.ones(2, 2, dtype=lib.float64, requires_grad=True),
]


@pytest.mark.parametrize("k", range(len(FACTORIES)))
def test_factories(k: int) -> None:
    w, t = FACTORIES[k](ww), FACTORIES[k](torch)
    assert str(w.dtype) == str(t.dtype)
    assert tuple(w.shape) == tuple(t.shape)
    assert w.requires_grad == t.requires_grad
    np.testing.assert_allclose(w.detach().numpy().astype(float), t.detach().numpy().astype(float), rtol=1e-6, atol=1e-7)


def test_size_and_metadata() -> None:
    x, tx = ww.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert repr(x.shape) == repr(tx.shape) == "torch.Size([2, 3, 4])"
    assert x.size() == tx.size() and x.size(-1) == 4 and x.dim() == x.ndim == 3 and x.numel() == 24
    assert x.shape[1:] == (3, 4) and repr(x.shape[1:]) == "torch.Size([3, 4])"
    assert ww.tensor(2.5).item() == 2.5 and ww.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert x.is_leaf and x.grad is None and x.grad_fn is None
    y = x.float()
    assert y is x  # no-op conversion returns self, as PyTorch
    for conv in ("double", "long", "int", "bool", "half", "float"):
        assert str(getattr(x, conv)().dtype) == str(getattr(tx, conv)().dtype)
    assert x.to(ww.float64).dtype == ww.float64 and x.to("cpu") is x and x.cpu() is x
    assert x.clone() is not x and x.contiguous() is x
    assert not np.shares_memory(x.clone()._a, x._a)


# ---------------------------------------------------------------------------------------------
# Device API


def test_device_api() -> None:
    d = ww.device("cpu")
    assert d.type == "cpu" and str(d) == "cpu" and repr(d) == repr(torch.device("cpu"))
    assert d == "cpu" and ww.zeros(2).device == d and ww.zeros(2, device="cpu").device == d
    assert not ww.cuda.is_available() and ww.cuda.device_count() == 0
    dev = ww.device("cuda" if ww.cuda.is_available() else "cpu")
    assert ww.ones(2).to(dev).device.type == "cpu"
    assert repr(ww.device("cuda:1")) == repr(torch.device("cuda:1"))
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        ww.zeros(2, device="cuda")
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        ww.ones(2).to("cuda")
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        ww.ones(2).cuda()
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        ww.device("tpu")


# ---------------------------------------------------------------------------------------------
# Bad input: PyTorch's exception types, messages naming the op/argument/shapes


BAD = [
    (lambda lib: lib.ones(2, 3) + lib.ones(4), RuntimeError, ["size of tensor a (3)", "tensor b (4)", "dimension 1"]),
    (lambda lib: lib.ones(2, 3) * lib.ones(3, 2), RuntimeError, ["must match the size"]),
    (lambda lib: lib.ones(2, 3) @ lib.ones(2, 3), RuntimeError, ["shapes cannot be multiplied", "2x3 and 2x3"]),
    (lambda lib: lib.mm(lib.ones(2, 3), lib.ones(4, 2)), RuntimeError, ["2x3 and 4x2"]),
    (lambda lib: lib.mm(lib.ones(3), lib.ones(3, 2)), RuntimeError, ["matrix"]),
    (lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(3, 3, 2)), RuntimeError, ["batch"]),
    (lambda lib: lib.ones(6).view(4), RuntimeError, ["shape '[4]' is invalid for input of size 6"]),
    (lambda lib: lib.ones(6).reshape(-1, -1), RuntimeError, ["only one dimension can be inferred"]),
    (lambda lib: lib.ones(2, 3).sum(2), IndexError, ["Dimension out of range", "[-2, 1]", "got 2"]),
    (lambda lib: lib.ones(2, 3).transpose(0, 3), IndexError, ["Dimension out of range"]),
    (lambda lib: lib.ones(2, 3).softmax(-3), IndexError, ["Dimension out of range"]),
    (lambda lib: lib.ones(2, 3)[2], IndexError, ["index 2 is out of bounds for dimension 0 with size 2"]),
    (lambda lib: lib.ones(2, 3)[:, lib.tensor([0, 5])], IndexError, ["out of bounds"]),
    (lambda lib: lib.ones(2, 3)[lib.tensor([0.0])], IndexError, ["tensors used as indices must be long"]),
    (lambda lib: lib.ones(3).item(), RuntimeError, ["a Tensor with 3 elements cannot be converted to Scalar"]),
    (lambda lib: bool(lib.ones(3)), RuntimeError, ["Boolean value of Tensor with more than one value is ambiguous"]),
    (lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]), RuntimeError, ["Sizes of tensors must match except in dimension 0"]),
    (lambda lib: lib.stack([lib.ones(2), lib.ones(3)]), RuntimeError, ["stack expects each tensor to be equal size"]),
    (lambda lib: lib.ones(2, 3).expand(4, 3, 2), RuntimeError, ["expanded size"]),
    (lambda lib: lib.ones(2, 3).permute(0), RuntimeError, ["number of dimensions"]),
    (lambda lib: lib.ones(4).split([1, 2]), RuntimeError, ["split_with_sizes expects split_sizes to sum exactly to 4"]),
    (lambda lib: lib.zeros(2, -1), RuntimeError, ["negative dimension"]),
    (lambda lib: lib.ones(3, dtype=lib.int64).mean(), RuntimeError, ["mean(): could not infer output dtype"]),
    (lambda lib: lib.ones(2) - lib.ones(2, dtype=lib.bool).logical_not().logical_not() if lib is None else
     lib.ones(2, dtype=lib.bool) - lib.ones(2, dtype=lib.bool), RuntimeError, ["Subtraction, the `-` operator, with two bool tensors"]),
    (lambda lib: -lib.ones(2, dtype=lib.bool), RuntimeError, ["Negation, the `-` operator, on a bool tensor"]),
    (lambda lib: lib.ones(2).numpy() if lib is None else lib.ones(2, requires_grad=True).numpy(), RuntimeError, ["Can't call numpy() on Tensor that requires grad"]),
    (lambda lib: lib.arange(0, 10, 0), RuntimeError, ["step must be nonzero"]),
    (lambda lib: lib.tensor([[1, 2], [3]]), ValueError, []),
    (lambda lib: lib.ones(2, 3).t().view(6), RuntimeError, ["view size is not compatible"]),
    (lambda lib: lib.ones(2, 3).squeeze(5), IndexError, ["Dimension out of range"]),
    (lambda lib: lib.ones(2).unsqueeze(3), IndexError, ["Dimension out of range"]),
    (lambda lib: lib.ones(3).max(0)[0].backward(), RuntimeError, ["does not require grad"]),
    (lambda lib: lib.clamp(lib.ones(2)), RuntimeError, ["At least one of 'min' or 'max' must not be None"]),
    (lambda lib: lib.where(lib.ones(2), lib.ones(2), lib.ones(2)), RuntimeError, ["where", "bool"]),
]


@pytest.mark.parametrize("k", range(len(BAD)))
def test_bad_input(k: int) -> None:
    fn, exc, words = BAD[k]
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc) as e:
        fn(ww)
    for w in words:
        assert w in str(e.value), f"{w!r} not in {str(e.value)!r}"


def test_backward_twice_and_grad_of_int() -> None:
    x = ww.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        ww.ones(2, dtype=ww.int64).requires_grad_()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for real scalar outputs"):
        z = ww.ones(1, requires_grad=True)
        ww.autograd.backward(z.long().float() * z, None) if False else ww.autograd.grad((z * 2).long(), z)
