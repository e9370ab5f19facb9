"""Provenance: record_init is transparent, records name/args/seed/offset; saved and loaded by io."""

from __future__ import annotations

import inspect as pyinspect
import math
import os

import numpy as np
import pytest

import weightwise as ww
from weightwise import io
from weightwise.nn import init
from weightwise.nn.container import Sequential
from weightwise.nn.linear import LazyLinear, Linear
from weightwise.nn.loadplan import plan_load
from weightwise.nn.parameter import Parameter
from weightwise.nn.provenance import (
    provenance,
    record_default_init,
    record_init,
    state_hash,
)
from weightwise.nn.select import init_
from weightwise.nn.ties import tie
from weightwise.random import Generator

NAMES = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
         "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
         "sparse_"]
R = {name: record_init(getattr(init, name)) for name in NAMES}


def test_every_init_function_is_decorated_once() -> None:
    for name in NAMES:
        fn, rec = getattr(init, name), R[name]
        assert rec.__name__ == name and rec.__doc__ == fn.__doc__
        assert pyinspect.signature(rec) == pyinspect.signature(fn)
        # nn.init's functions are already decorated, so decorating again returns them as they are.
        assert rec is fn and callable(rec.__wrapped__)  # type: ignore[attr-defined]
        assert not hasattr(rec.__wrapped__, "__wrapped__")  # type: ignore[attr-defined]
    assert record_init(R["uniform_"]) is R["uniform_"]  # applying twice is a no-op


@pytest.mark.parametrize("name, args", [
    ("uniform_", (-1.0, 1.0)), ("normal_", (0.5, 2.0)), ("trunc_normal_", ()), ("xavier_uniform_", ()),
    ("xavier_normal_", (2.0,)), ("kaiming_uniform_", (math.sqrt(5),)), ("kaiming_normal_", ()),
    ("orthogonal_", ()), ("sparse_", (0.5,)),
])
def test_same_numbers_same_stream(name: str, args: tuple) -> None:
    ww.manual_seed(7)
    a = getattr(init, name)(ww.empty(6, 5), *args)
    after_a = ww.random.default_generator.get_state().copy()
    ww.manual_seed(7)
    b = R[name](ww.empty(6, 5), *args)
    np.testing.assert_array_equal(a._a, b._a)
    np.testing.assert_array_equal(ww.random.default_generator.get_state(), after_a)  # no extra draws
    assert b._provenance["fn"] == name and b._provenance["random"] is True


def test_record_contents() -> None:
    ww.manual_seed(42)
    offset = state_hash()
    w = R["kaiming_uniform_"](Parameter(ww.empty(4, 3)), a=math.sqrt(5))
    assert w._provenance == {"fn": "kaiming_uniform_",
                             "args": {"a": math.sqrt(5), "mode": "fan_in", "nonlinearity": "leaky_relu"},
                             "seed": 42, "offset": offset, "generator": "default", "random": True}
    assert state_hash() != offset                                # the call did draw
    b = R["zeros_"](Parameter(ww.empty(3)))
    assert b._provenance["fn"] == "zeros_" and b._provenance["random"] is False
    assert b._provenance["args"] == {}


def test_explicit_generator_and_offsets_locate_the_stream() -> None:
    g = Generator().manual_seed(123)
    first = R["normal_"](ww.empty(3), generator=g)._provenance
    second = R["normal_"](ww.empty(3), generator=g)._provenance
    assert first["seed"] == second["seed"] == 123 and first["generator"] == "explicit"
    assert first["offset"] != second["offset"]
    assert first["offset"] == state_hash(Generator().manual_seed(123))
    assert "generator" not in first["args"]


def test_nested_initializers_record_the_outermost() -> None:
    uniform = R["uniform_"]
    rec_xavier = record_init(lambda t, gain=1.0: uniform(t, -gain, gain))
    t = rec_xavier(ww.empty(2, 2), gain=0.5)
    assert t._provenance["fn"] == "<lambda>" and t._provenance["args"] == {"gain": 0.5}


def test_errors_pass_through_and_record_nothing() -> None:
    t = ww.empty(3)
    with pytest.raises(ValueError, match="Fan in and fan out"):
        R["xavier_uniform_"](t)
    assert "_provenance" not in t.__dict__
    with pytest.raises(TypeError):
        R["uniform_"](ww.empty(3), 0.0, 1.0, 2.0, 3.0)
    t2 = R["uniform_"](ww.empty(2))  # depth counter reset after the errors
    assert t2._provenance["fn"] == "uniform_"


def test_provenance_of_model_with_init_by_pattern_and_ties() -> None:
    net = Sequential(Linear(4, 4), Linear(4, 4))
    tie(net, "1.weight", "0.weight")
    ww.manual_seed(0)
    init_(net, {"**.weight": R["xavier_uniform_"], "**.bias": R["zeros_"]})
    prov = provenance(net)
    assert list(prov) == ["0.weight", "0.bias", "1.bias"]
    assert prov["0.weight"]["fn"] == "xavier_uniform_" and prov["0.weight"]["seed"] == 0
    assert list(provenance(net, remove_duplicate=False)) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_linear_default_init_recorded_when_init_is_decorated(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the lead's wiring gives: nn.init functions decorated in place; Linear calls them.
    for name in NAMES:
        monkeypatch.setattr(init, name, R[name])
    ww.manual_seed(5)
    lin = Linear(3, 2)
    ww.manual_seed(5)
    ref_w = init.kaiming_uniform_.__wrapped__(ww.empty(2, 3), a=math.sqrt(5))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(lin.weight._a, ref_w._a)                 # same numbers as undecorated
    w, b = lin.weight._provenance, lin.bias._provenance
    assert w["fn"] == "kaiming_uniform_" and w["args"]["a"] == pytest.approx(math.sqrt(5)) and w["seed"] == 5
    bound = 1 / math.sqrt(3)
    assert b["fn"] == "uniform_" and b["args"] == {"a": -bound, "b": bound}
    assert w["offset"] != b["offset"]


def test_record_default_init() -> None:
    ww.manual_seed(9)
    net = Sequential(Linear(3, 2), LazyLinear(4))
    assert net[0].weight._provenance["fn"] == "kaiming_uniform_"  # nn.init records the default init
    for p in net[0].parameters():  # as if the layer had initialised without nn.init
        p.__dict__.pop("_provenance", None)
    net[0].bias._provenance = {"fn": "custom", "args": {}}
    done = record_default_init(net)
    assert list(done) == ["0.weight"]                     # the lazy layer and existing records left alone
    assert done["0.weight"]["fn"] == "kaiming_uniform_" and done["0.weight"]["default"] is True
    assert done["0.weight"]["seed"] == 9 and done["0.weight"]["offset"] is None
    record_default_init(net, overwrite=True)
    assert net[0].bias._provenance["fn"] == "uniform_"
    assert net[0].bias._provenance["args"]["b"] == pytest.approx(1 / math.sqrt(3))


def test_saved_and_loaded_through_io(tmp_path: object) -> None:
    net = Sequential(Linear(4, 4), Linear(4, 2))
    ww.manual_seed(3)
    init_(net, {"**.weight": R["xavier_normal_"], "**.bias": R["zeros_"]})
    expected = provenance(net)
    path = os.path.join(str(tmp_path), "m.safetensors")
    io.save(net.state_dict(keep_vars=True), path)       # tensors carry their _provenance
    path2 = os.path.join(str(tmp_path), "m2.safetensors")
    io.save(net.state_dict(), path2, metadata={"provenance": provenance(net)})  # or passed explicitly
    for p in (path, path2):
        with io.open_checkpoint(p) as ck:
            assert ck.provenance == expected
        fresh = Sequential(Linear(4, 4), Linear(4, 2))
        io.load_into(fresh, p)
        assert provenance(fresh) == expected
        np.testing.assert_array_equal(fresh[0].weight._a, net[0].weight._a)


def test_load_plan_apply_sets_provenance(tmp_path: object) -> None:
    net = Sequential(Linear(2, 2))
    ww.manual_seed(1)
    init_(net, {"**": R["normal_"]})
    path = os.path.join(str(tmp_path), "m.safetensors")
    io.save(net.state_dict(keep_vars=True), path)
    fresh = Sequential(Linear(2, 2))
    plan_load(fresh, path).apply()
    assert provenance(fresh) == provenance(net)                # the file's records
    other = Sequential(Linear(2, 2))
    plan_load(other, {"module." + k: v for k, v in Sequential(Linear(2, 2)).state_dict().items()}).apply()
    assert provenance(other)["0.weight"] == {"fn": "load_state_dict",
                                             "args": {"source": "state_dict", "key": "module.0.weight"}}


def test_state_dict_carries_provenance_like_metadata() -> None:
    import copy
    import pickle

    from weightwise.nn.batchnorm import BatchNorm1d
    from weightwise.nn.module import Module

    net = Sequential(Linear(3, 3), BatchNorm1d(3), Linear(3, 3))
    net[2].weight = net[0].weight                                   # a tie: listed under both keys
    for p in net.parameters():
        p.__dict__.pop("_provenance", None)
    for b in net.buffers():
        b.__dict__.pop("_provenance", None)
    sd = net.state_dict()
    assert not hasattr(sd, "_provenance") and hasattr(sd, "_metadata")  # no record, no dict
    ww.manual_seed(1)
    R["xavier_uniform_"](net[0].weight)
    R["zeros_"](net[1].running_mean)                                 # buffers too
    sd = net.state_dict()
    assert list(sd._provenance) == ["0.weight", "1.running_mean", "2.weight"]
    assert sd._provenance["2.weight"] is net[0].weight._provenance
    assert sd._provenance["0.weight"]["fn"] == "xavier_uniform_" and sd._provenance["0.weight"]["seed"] == 1
    assert list(net.state_dict(keep_vars=True)._provenance) == list(sd._provenance)
    assert list(net.state_dict(prefix="m.")._provenance) == ["m.0.weight", "m.1.running_mean", "m.2.weight"]
    assert pickle.loads(pickle.dumps(sd))._provenance == sd._provenance   # travels like _metadata
    assert copy.deepcopy(sd)._provenance == sd._provenance

    class Custom(Module):                                            # overridden state_dict/_save
        def __init__(self) -> None:
            super().__init__()
            self.inner = Sequential(Linear(2, 2))
            self.own = Parameter(ww.zeros(2))

        def _save_to_state_dict(self, destination, prefix, keep_vars):  # type: ignore[no-untyped-def]
            super()._save_to_state_dict(destination, prefix, keep_vars)

    class Outer(Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = Custom()

    class Wrapped(Sequential):
        def state_dict(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return super().state_dict(*args, **kwargs)

    o = Outer()
    o.c.inner = Wrapped(Linear(2, 2))
    for p in o.parameters():
        p.__dict__.pop("_provenance", None)
    R["ones_"](o.c.own)
    R["zeros_"](o.c.inner[0].bias)
    assert list(o.state_dict()._provenance) == ["c.own", "c.inner.0.bias"]


def test_record_binding_fast_path_matches_inspect() -> None:
    from weightwise.nn.provenance import deterministic

    def fill(t, val, scale=2.0, *, shift=0.0, generator=None):  # type: ignore[no-untyped-def]
        t._a[...] = val * scale + shift
        return t

    rec = record_init(fill)
    sig = pyinspect.signature(fill)
    for args, kwargs in [((1.0,), {}), ((1.0, 3.0), {}), ((), {"val": 1.0, "shift": 1.0}),
                         ((1.0,), {"scale": 0.5, "shift": -1.0}), ((1.0,), {"generator": None})]:
        t = rec(ww.empty(2), *args, **kwargs)
        bound = sig.bind(t, *args, **kwargs)
        bound.apply_defaults()
        want = {k: v for k, v in list(bound.arguments.items())[1:] if k != "generator"}
        assert t._provenance["args"] == want and list(t._provenance["args"]) == list(want)
        assert t._provenance["random"] is False
    t = rec(t=ww.empty(2), val=4.0)
    assert t._provenance["args"] == {"val": 4.0, "scale": 2.0, "shift": 0.0}
    for args, kwargs in [((), {}), ((1.0,), {"val": 1.0}), ((1.0, 2.0, 3.0), {}), ((1.0,), {"bogus": 1})]:
        t = ww.empty(2)
        with pytest.raises(TypeError):
            rec(t, *args, **kwargs)
        assert "_provenance" not in t.__dict__
    # Arguments as JSON values; an initializer marked deterministic skips the second state read.
    t = rec(ww.empty(2), ww.tensor(1.5), (1, 2), shift=float("inf"))  # type: ignore[arg-type]
    assert t._provenance["args"] == {"val": 1.5, "scale": [1, 2], "shift": "inf"}
    marked = record_init(deterministic(lambda t: t))
    assert marked(ww.empty(1))._provenance["random"] is False
    drew = record_init(lambda t: t.uniform_())
    assert drew(ww.empty(1))._provenance["random"] is True


def test_state_hash_cache_follows_refills_and_generators() -> None:
    g = Generator().manual_seed(7)
    h0 = state_hash(g)
    g._random(624)                                   # a whole refill: same position, new words
    h1 = state_hash(g)
    assert h1 != h0 and state_hash(g) == h1
    assert state_hash(Generator().manual_seed(7)) == h0    # another engine, same state
    g2 = Generator().manual_seed(7)
    g2._random(624)
    assert state_hash(g2) == h1
