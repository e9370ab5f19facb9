"""DataLoader order against PyTorch after the same seed, collation, random_split, nn.utils."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import weightwise as ww
import weightwise.nn.utils as wu
from weightwise.utils import data as wd

torch = pytest.importorskip("torch")
td = torch.utils.data


def _epochs(lib, mod, n=23, bs=5, drop_last=False, use_gen=False, epochs=2, seed=7):
    lib.manual_seed(seed)
    x = lib.arange(n * 2).reshape(n, 2).float()
    y = lib.arange(n)
    gen = lib.Generator().manual_seed(seed + 1) if use_gen else None
    loader = mod.DataLoader(mod.TensorDataset(x, y), batch_size=bs, shuffle=True, drop_last=drop_last, generator=gen)
    out = [[(bx.numpy().tolist(), by.numpy().tolist()) for bx, by in loader] for _ in range(epochs)]
    after = lib.rand(3).numpy().tolist()  # the default generator must be in the same state afterwards
    return out, after, len(loader)


@pytest.mark.parametrize("use_gen", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffle_order_matches_torch(use_gen, drop_last):
    assert _epochs(ww, wd, drop_last=drop_last, use_gen=use_gen) == _epochs(torch, td, drop_last=drop_last, use_gen=use_gen)


def test_sequential_and_len():
    x = ww.arange(10)
    batches = [b[0].numpy().tolist() for b in wd.DataLoader(wd.TensorDataset(x), batch_size=4)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(wd.DataLoader(wd.TensorDataset(x), batch_size=4, drop_last=True)) == 2


class Pairs(wd.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "n": i, "f": i / 2, "t": (ww.tensor([i, i]), "s%d" % i)}


def test_default_collate_like_torch():
    wb = next(iter(wd.DataLoader(Pairs(), batch_size=3)))
    tb = next(iter(td.DataLoader(TorchPairs(), batch_size=3)))
    assert wb["x"].numpy().tolist() == tb["x"].numpy().tolist() and wb["x"].dtype.name == "float32"
    assert wb["n"].dtype.name == "int64" and wb["n"].numpy().tolist() == tb["n"].tolist()
    assert wb["f"].dtype.name == "float64" and wb["f"].numpy().tolist() == tb["f"].tolist()
    assert isinstance(wb["t"], list) and isinstance(tb["t"], list)
    assert wb["t"][0].numpy().tolist() == tb["t"][0].tolist() and wb["t"][1] == tb["t"][1]


class TorchPairs(td.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "n": i, "f": i / 2, "t": (torch.tensor([i, i]), "s%d" % i)}


def test_collate_namedtuple_and_unequal():
    P = namedtuple("P", "a b")
    out = wd.default_collate([P(1, 2.0), P(3, 4.0)])
    assert isinstance(out, P) and out.a.numpy().tolist() == [1, 3]
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        wd.default_collate([[1, 2], [1]])


def test_random_split_matches_torch():
    for lengths in ([7, 3, 13], [0.5, 0.3, 0.2]):
        w = wd.random_split(wd.TensorDataset(ww.arange(23)), lengths, generator=ww.Generator().manual_seed(4))
        t = td.random_split(td.TensorDataset(torch.arange(23)), lengths, generator=torch.Generator().manual_seed(4))
        assert [list(s.indices) for s in w] == [list(s.indices) for s in t]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        wd.random_split(wd.TensorDataset(ww.arange(5)), [2, 2])


def test_bad_loader_args():
    ds = wd.TensorDataset(ww.arange(4))
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        wd.DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        wd.DataLoader(ds, sampler=wd.SequentialSampler(ds), shuffle=True)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        wd.TensorDataset(ww.zeros(3), ww.zeros(4))


# --------------------------------------------------------------------------------------------- nn.utils


def _grads(lib, seed=0):
    rng = np.random.default_rng(seed)
    ps = [lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in [(3, 4), (4,), (2, 2)]]
    sum(((p * p * (i + 1)).sum() for i, p in enumerate(ps))).backward()
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1000.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    pw, pt = _grads(ww), _grads(torch)
    nw = wu.clip_grad_norm_(pw, max_norm, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(pt, max_norm, norm_type)
    np.testing.assert_allclose(nw.numpy(), nt.numpy(), rtol=1e-6)
    for a, b in zip(pw, pt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


def test_clip_grad_value_and_vectors():
    pw, pt = _grads(ww), _grads(torch)
    wu.clip_grad_value_(pw, 0.7)
    torch.nn.utils.clip_grad_value_(pt, 0.7)
    for a, b in zip(pw, pt):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    v = wu.parameters_to_vector(pw)
    assert v.shape == (20,) and v.grad_fn.name() == "CatBackward0"
    wu.vector_to_parameters(ww.arange(20).float(), pw)
    assert pw[2].detach().numpy().tolist() == [[16, 17], [18, 19]]
    with pytest.raises(RuntimeError, match="non-finite"):
        pw[0].grad._a[0, 0] = np.inf
        wu.clip_grad_norm_(pw, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("bad", [np.inf, np.nan, None])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), -1.0])
def test_clip_grad_norm_non_finite_and_zero_gradients_as_torch(bad, norm_type):
    # inf/nan gradients scale everything by 0 or nan, zero gradients under a negative norm give an
    # infinite norm: PyTorch's values, without NumPy warnings (warnings are errors in the tests)
    libs = []
    for lib in (ww, torch):
        g = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32) if bad is not None else np.zeros((2, 2), np.float32)
        if bad is not None:
            g[0, 1] = bad
        p = lib.nn.Parameter(lib.tensor(np.zeros((2, 2), np.float32)))
        p.grad = lib.tensor(g)
        norm = (wu if lib is ww else torch.nn.utils).clip_grad_norm_([p], 1.0, norm_type)
        libs.append((norm.numpy(), p.grad.numpy()))
    (nw, gw), (nt, gt) = libs
    np.testing.assert_allclose(nw, nt, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(gw, gt, rtol=1e-6, equal_nan=True)


def test_parameters_to_vector_empty_is_a_value_error_as_torch():
    with pytest.raises(ValueError):
        torch.nn.utils.parameters_to_vector([])
    with pytest.raises(ValueError, match="non-empty list"):
        wu.parameters_to_vector([])


def test_no_batching_converts_as_torch_default_convert():
    # batch_size=None: tuples become lists, NumPy arrays and scalars tensors, namedtuples and dicts keep their type
    P = namedtuple("P", "a b")
    items = [(np.ones(2, np.float32), 3), np.float32(1.5), P(np.int64(3), [np.zeros(1)]), {"k": np.ones(1)},
             np.array(["a", "b"])]

    def norm(o):  # type: ignore[no-untyped-def]
        if hasattr(o, "detach"):
            return ("T", str(o.dtype).split(".")[-1], o.detach().numpy().tolist())
        if isinstance(o, np.ndarray):
            return ("nd", o.tolist())
        if isinstance(o, (list, tuple)):
            return (type(o).__name__, [norm(x) for x in o])
        if isinstance(o, dict):
            return {k: norm(v) for k, v in o.items()}
        return o

    got = [norm(b) for b in wd.DataLoader(items, batch_size=None)]
    want = [norm(b) for b in td.DataLoader(items, batch_size=None)]
    assert got == want
