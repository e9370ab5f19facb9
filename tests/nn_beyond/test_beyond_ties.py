"""Ties made visible: tie_groups, tie, untie, and ties through deepcopy, to(dtype), load_state_dict."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import weightwise as ww
from weightwise.nn.container import Sequential
from weightwise.nn.linear import Linear
from weightwise.nn.module import Module
from weightwise.nn.parameter import Parameter
from weightwise.nn.ties import tie, tie_groups, tied_with, untie


class TinyLM(Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = Linear(6, 4, bias=False)      # weight (4, 6)
        self.body = Sequential(Linear(4, 4), Linear(4, 4))
        self.head = Linear(4, 6, bias=False)       # weight (6, 4)
        self.proj = Linear(6, 4, bias=False)       # weight (4, 6): same shape as embed


def test_no_ties() -> None:
    assert tie_groups(TinyLM()) == []


def test_assignment_tie_is_listed_in_named_order() -> None:
    net = Sequential(Linear(3, 3), Linear(3, 3), Linear(3, 3))
    net[2].weight = net[0].weight
    assert tie_groups(net) == [["0.weight", "2.weight"]]
    assert tied_with(net) == {"0.weight": ["2.weight"], "2.weight": ["0.weight"]}


def test_shared_module_is_a_tie_of_every_parameter() -> None:
    shared = Linear(2, 2)
    net = Sequential(shared, Linear(2, 2), shared)
    assert tie_groups(net) == [["0.weight", "2.weight"], ["0.bias", "2.bias"]]


def test_parameters_sharing_one_array_are_a_tie() -> None:
    net = Sequential(Linear(2, 2), Linear(2, 2))
    net[1].bias = Parameter(net[0].bias)      # a second Parameter object on the same memory
    assert net[1].bias is not net[0].bias
    assert tie_groups(net) == [["0.bias", "1.bias"]]


def test_tie_across_modules_by_name() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    assert m.proj.weight is m.embed.weight
    assert tie_groups(m) == [["embed.weight", "proj.weight"]]
    # one parameter for optimizers, listed under every path in the state dict
    assert len(list(m.parameters())) == 6
    assert len(m.state_dict()) == 7
    tie(m, "proj.weight", "embed.weight")      # idempotent
    assert tie_groups(m) == [["embed.weight", "proj.weight"]]


def test_tie_shape_and_dtype_errors() -> None:
    m = TinyLM()
    with pytest.raises(ValueError, match=r"tie\(\): cannot tie 'head.weight' \(shape \(6, 4\)\) to 'embed.weight' \(shape \(4, 6\)\)"):
        tie(m, "head.weight", "embed.weight")
    m.proj.double()
    with pytest.raises(ValueError, match=r"dtypes differ"):
        tie(m, "proj.weight", "embed.weight")
    with pytest.raises(AttributeError, match=r"'embed.bias' is not a parameter of TinyLM"):
        tie(m, "embed.bias", "proj.weight")
    with pytest.raises(AttributeError, match=r"no module 'nope'"):
        tie(m, "nope.weight", "proj.weight")
    with pytest.raises(TypeError):
        tie(m, "", "proj.weight")
    assert tie_groups(m) == []


def test_untie_gives_an_own_copy() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    m.embed.weight.requires_grad_(False)
    m.embed.weight._provenance = {"fn": "normal_", "args": {}}
    new = untie(m, "proj.weight")
    assert new is m.proj.weight and new is not m.embed.weight
    assert tie_groups(m) == []
    np.testing.assert_array_equal(new._a, m.embed.weight._a)
    assert not np.shares_memory(new._a, m.embed.weight._a)
    assert new.requires_grad is False and new._provenance == {"fn": "normal_", "args": {}}
    new._provenance["fn"] = "x"
    assert m.embed.weight._provenance["fn"] == "normal_"


def test_untie_array_tie() -> None:
    net = Sequential(Linear(2, 2), Linear(2, 2))
    net[1].bias = Parameter(net[0].bias)
    untie(net, "1.bias")
    assert tie_groups(net) == []


def test_tie_survives_deepcopy() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    c = copy.deepcopy(m)
    assert tie_groups(c) == [["embed.weight", "proj.weight"]]
    assert c.proj.weight is c.embed.weight and c.embed.weight is not m.embed.weight


def test_tie_survives_to_dtype() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    m.to(ww.float64)
    assert m.embed.weight.dtype == ww.float64
    assert tie_groups(m) == [["embed.weight", "proj.weight"]]
    m.half()
    assert m.proj.weight is m.embed.weight and m.proj.weight.dtype == ww.float16


def test_tie_survives_load_state_dict() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    other = TinyLM()
    tie(other, "proj.weight", "embed.weight")
    m.load_state_dict(other.state_dict())
    assert tie_groups(m) == [["embed.weight", "proj.weight"]]
    np.testing.assert_array_equal(m.proj.weight._a, other.embed.weight._a)


def test_tie_survives_load_state_dict_assign() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    m.embed.weight.requires_grad_(False)
    old = m.embed.weight
    sd = {k: v.clone() + 1 for k, v in TinyLM().state_dict().items()}
    sd["proj.weight"] = sd["embed.weight"]
    m.load_state_dict(sd, assign=True)
    assert m.proj.weight is m.embed.weight and m.embed.weight is not old   # one new object
    assert type(m.embed.weight) is Parameter and not m.embed.weight.requires_grad
    assert m.embed.weight._a is sd["embed.weight"]._a                        # assigned, not copied
    assert tie_groups(m) == [["embed.weight", "proj.weight"]]
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in TinyLM().named_parameters()
                                                     if n != "proj.weight"]


def test_load_state_dict_assign_shared_module_and_array_tie() -> None:
    shared = Linear(2, 2)
    net = Sequential(shared, Linear(2, 2), shared)
    net[1].bias = Parameter(net[0].bias)                # a tie on the array, two objects
    sd = OrderedDict((k, ww.full_like(v, float(i))) for i, (k, v) in enumerate(net.state_dict().items()))
    net.load_state_dict(sd, assign=True)
    assert net[0] is net[2]
    # Different values for one tied tensor: the last key wins, as with the copying load.
    copied = Sequential(shared, Linear(2, 2), shared)
    copied[1].bias = Parameter(copied[0].bias)
    copied.load_state_dict(sd)
    for (n, a), (_, b) in zip(net.named_parameters(remove_duplicate=False),
                              copied.named_parameters(remove_duplicate=False)):
        np.testing.assert_array_equal(a._a, b._a, err_msg=n)
    assert net[1].bias is not net[0].bias and net[1].bias._a is net[0].bias._a
    assert tie_groups(net) == [["0.weight", "2.weight"], ["0.bias", "1.bias", "2.bias"]]


def test_load_state_dict_assign_keep_vars_parameters() -> None:
    src = Sequential(Linear(2, 2), Linear(2, 2))
    net = Sequential(Linear(2, 2), Linear(2, 2))
    net[1].weight = net[0].weight
    sd = src.state_dict(keep_vars=True)
    net.load_state_dict(sd, assign=True)
    assert net[0].weight is src[1].weight             # the Parameter itself, as PyTorch; the
    assert net[1].weight is net[0].weight             # tie kept, with the last key's value
    assert net[0].bias is src[0].bias and net[1].bias is src[1].bias


def test_names_with_spaces() -> None:
    net = Sequential(OrderedDict([("block 0", Linear(2, 2)), ("block 1", Linear(2, 2))]))
    tie(net, "block 1.weight", "block 0.weight")
    assert tie_groups(net) == [["block 0.weight", "block 1.weight"]]


def test_tie_groups_count_once_for_summaries() -> None:
    m = TinyLM()
    tie(m, "proj.weight", "embed.weight")
    every = sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False))
    dup = sum(m.get_parameter(n).numel() for g in tie_groups(m) for n in g[1:])
    assert every - dup == sum(p.numel() for p in m.parameters())
