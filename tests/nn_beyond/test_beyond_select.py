"""One pattern language: select, init_, freeze/unfreeze, param_groups, inspect."""

from __future__ import annotations

import functools
import re
from collections import OrderedDict

import numpy as np
import pytest

import weightwise as ww
from weightwise.nn import init
from weightwise.nn.container import ModuleDict, Sequential
from weightwise.nn.linear import Bilinear, Linear
from weightwise.nn.select import (
    Selector,
    freeze,
    init_,
    inspect,
    match_names,
    param_groups,
    select,
    unfreeze,
)
from weightwise.nn.ties import tie


def make() -> Sequential:
    ww.manual_seed(0)
    net = Sequential(OrderedDict([
        ("block 0", Sequential(Linear(4, 8), Linear(8, 8))),
        ("block 1", Linear(8, 8)),
        ("heads", ModuleDict({"cls": Linear(8, 3), "bil": Bilinear(8, 8, 2)})),
    ]))
    return net


ALL = ["block 0.0.weight", "block 0.0.bias", "block 0.1.weight", "block 0.1.bias", "block 1.weight",
       "block 1.bias", "heads.cls.weight", "heads.cls.bias", "heads.bil.weight", "heads.bil.bias"]


@pytest.mark.parametrize("pattern, expected", [
    ("**", ALL),
    ("**.weight", [n for n in ALL if n.endswith("weight")]),
    ("*.weight", ["block 1.weight"]),
    ("block 0.*", []),
    ("block 0.*.bias", ["block 0.0.bias", "block 0.1.bias"]),
    ("block 0.**", ALL[:4]),
    ("block ?.bias", ["block 1.bias"]),
    ("heads.**.bias", ["heads.cls.bias", "heads.bil.bias"]),
    ("**.b*", [n for n in ALL if n.endswith("bias")]),
    ("re:^heads\\.", ALL[6:]),
    (re.compile(r"\d\.weight$"), ["block 0.0.weight", "block 0.1.weight", "block 1.weight"]),
    (Linear, ALL[:8]),
    (Bilinear, ALL[8:]),
    ((Linear, "bias"), ["block 0.0.bias", "block 0.1.bias", "block 1.bias", "heads.cls.bias"]),
    ((ModuleDict, "cls.*"), ["heads.cls.weight", "heads.cls.bias"]),
    (lambda n, p: p.dim() == 3, ["heads.bil.weight"]),
])
def test_patterns(pattern: object, expected: list[str]) -> None:
    assert select(make(), pattern, allow_empty=True).names() == expected


def test_glob_does_not_cross_parts_and_is_full_match() -> None:
    net = make()
    assert select(net, "block 0.0.weigh", allow_empty=True).names() == []
    assert select(net, "**weight").names() == [n for n in ALL if n.endswith("weight")]


def test_union_in_named_order_and_report() -> None:
    sel = select(make(), "heads.**", "**.bias")
    assert sel.names() == [n for n in ALL if n.endswith("bias") or n.startswith("heads")]
    assert sel.report["heads.**"] == ALL[6:]
    assert sel.report.matched["**.bias"] == [n for n in ALL if n.endswith("bias")]
    text = str(sel.report)
    assert "heads.**" in text and "**.bias" in text
    assert len(sel) == 7 and sel[0][0] == "block 0.0.bias"
    assert all(p is make_p for (_, p), make_p in zip(sel, sel.params()))


def test_tied_parameters_once_unless_asked() -> None:
    net = make()
    tie(net, "block 1.weight", "block 0.1.weight")
    assert select(net, "**.weight").names().count("block 1.weight") == 0
    assert select(net, "block 1.*").names() == ["block 1.weight", "block 1.bias"]  # alias matched alone
    assert "block 1.weight" in select(net, "**.weight", remove_duplicate=False).names()


def test_empty_pattern_error_names_pattern_and_close_names() -> None:
    with pytest.raises(ValueError) as e:
        select(make(), "heads.cls.wieght")
    msg = str(e.value)
    assert "select(): pattern 'heads.cls.wieght' matched no parameter of Sequential" in msg
    assert "heads.cls.weight" in msg and "allow_empty=True" in msg
    assert select(make(), "nothing.*", allow_empty=True).names() == []


def test_bad_patterns() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        select(make(), "re:(")
    with pytest.raises(TypeError, match="a pattern must be"):
        select(make(), 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a pattern must be"):
        select(make(), int)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one pattern"):
        Selector()


def test_selector_is_reusable() -> None:
    sel = Selector("**.bias")
    assert sel(make()).names() == [n for n in ALL if n.endswith("bias")]
    assert sel(Sequential(Linear(2, 2))).names() == ["0.bias"]
    assert "**.bias" in repr(sel)


def test_init_by_pattern_first_match_wins() -> None:
    net = make()
    report = init_(net, {"heads.cls.weight": init.ones_, "**.weight": functools.partial(init.constant_, val=2.0),
                         "**.bias": init.zeros_})
    assert (net.get_parameter("heads.cls.weight")._a == 1).all()
    assert (net.get_parameter("block 0.0.weight")._a == 2).all()
    for n in ALL:
        if n.endswith("bias"):
            assert (net.get_parameter(n)._a == 0).all()
    assert report.assigned["**.weight"] == [n for n in ALL if n.endswith("weight") and n != "heads.cls.weight"]
    assert report.matched["**.weight"] == [n for n in ALL if n.endswith("weight")]
    assert "initialized" in str(report)


def test_init_draws_in_model_order_whatever_the_spec_order() -> None:
    a, b = make(), make()
    ww.manual_seed(1)
    init_(a, {"**.weight": init.xavier_uniform_, "**.bias": init.normal_})
    ww.manual_seed(1)
    init_(b, [("**.bias", init.normal_), ("**.weight", init.xavier_uniform_)])
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p._a, q._a, err_msg=n)
    ww.manual_seed(1)
    c = make()
    ww.manual_seed(1)
    for n, p in c.named_parameters():
        (init.xavier_uniform_ if n.endswith("weight") else init.normal_)(p)
    for (n, p), (_, q) in zip(a.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(p._a, q._a, err_msg=n)


def test_init_tied_once_and_errors() -> None:
    net = make()
    tie(net, "block 1.weight", "block 0.1.weight")
    calls: list[tuple[int, ...]] = []
    init_(net, {"**.weight": lambda t: calls.append(tuple(t.shape))})
    assert len(calls) == 4  # five weights, two of them one tensor
    with pytest.raises(ValueError, match="matched no parameter"):
        init_(net, {"**.weight": init.zeros_, "nope.**": init.ones_})
    with pytest.raises(ValueError, match=r"'heads.\*\*' \(entry 1\) matched only parameters already taken"):
        init_(net, {"**": init.zeros_, "heads.**": init.ones_})
    init_(net, {"**": init.zeros_, "heads.**": init.ones_}, allow_empty=True)
    with pytest.raises(TypeError, match="must be callable"):
        init_(net, {"**": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="Fan in and fan out"):
        init_(net, {"**.bias": init.xavier_uniform_})


def test_freeze_unfreeze() -> None:
    net = make()
    r = freeze(net, "block 0.**", Bilinear)
    assert [n for n, p in net.named_parameters() if not p.requires_grad] == ALL[:4] + ALL[8:]
    assert r.matched["Bilinear"] == ALL[8:] and "frozen" in str(r)
    unfreeze(net, "**.bias")
    assert [n for n, p in net.named_parameters() if not p.requires_grad] == [
        "block 0.0.weight", "block 0.1.weight", "heads.bil.weight"]
    with pytest.raises(ValueError, match=r"freeze\(\): pattern 'blok 0.\*\*' matched no parameter"):
        freeze(net, "blok 0.**")
    with pytest.raises(ValueError, match="at least one pattern"):
        freeze(net)


def test_freeze_tied_under_either_name() -> None:
    net = make()
    tie(net, "block 1.weight", "block 0.1.weight")
    freeze(net, "block 1.weight")
    assert net.get_parameter("block 0.1.weight").requires_grad is False


def test_param_groups_structure() -> None:
    net = make()
    tie(net, "block 1.weight", "block 0.1.weight")
    groups = param_groups(net, [{"params": "**.bias", "weight_decay": 0.0},
                                {"params": ["heads.**", Bilinear], "lr": 0.5},
                                {"params": "**", "lr": 0.1}])
    assert [sorted(g) for g in groups] == [["params", "weight_decay"], ["lr", "params"], ["lr", "params"]]
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(net.parameters()))
    assert len(groups[0]["params"]) == 5
    assert groups[1]["params"] == [net.get_parameter("heads.cls.weight"), net.get_parameter("heads.bil.weight")]
    assert groups.report.assigned["**"] == ["block 0.0.weight", "block 0.1.weight"]
    assert groups.report.unassigned == []


def test_param_groups_with_sgd() -> None:
    optim = pytest.importorskip("weightwise.optim")
    net = make()
    groups = param_groups(net, [{"params": "**.bias", "weight_decay": 0.0, "lr": 0.0},
                                {"params": "**", "weight_decay": 0.5}])
    opt = optim.SGD(groups, lr=0.1)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.5]
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.1]
    before = {n: p._a.copy() for n, p in net.named_parameters()}
    x = ww.randn(5, 4)
    y = net[1](net[0](x)).sum()
    y.backward()
    opt.step()
    for n, p in net.named_parameters():
        if n.endswith("bias"):
            np.testing.assert_array_equal(p._a, before[n])           # lr 0
        elif n.startswith("block"):
            assert not np.array_equal(p._a, before[n])
        else:  # no grad, weight decay alone does not apply without a gradient
            np.testing.assert_array_equal(p._a, before[n])


def test_param_groups_errors_and_unassigned() -> None:
    net = make()
    with pytest.raises(ValueError, match=r"param_groups\(\): pattern 'nothing' matched no parameter"):
        param_groups(net, [{"params": "nothing"}])
    with pytest.raises(ValueError, match="matched only parameters already taken"):
        param_groups(net, [{"params": "**"}, {"params": "**.bias", "lr": 1.0}])
    with pytest.raises(ValueError, match="must be a dict with a 'params' pattern"):
        param_groups(net, [{"lr": 0.1}])
    g = param_groups(net, [{"params": "heads.**"}])
    assert g.report.unassigned == ALL[:6]
    g = param_groups(net, [{"params": "**"}, {"params": "**.bias"}], allow_empty=True)
    assert g[1]["params"] == []


def test_inspect_rows_and_table() -> None:
    net = make()
    tie(net, "block 1.weight", "block 0.1.weight")
    freeze(net, "heads.bil.*")
    rows = inspect(net)
    assert [r.name for r in rows] == ALL
    r = rows[4]
    assert (r.name, r.shape, r.dtype, r.numel, r.requires_grad, r.tied_with) == (
        "block 1.weight", (8, 8), "torch.float32", 64, True, ("block 0.1.weight",))
    assert rows[8].requires_grad is False and rows[8].shape == (2, 8, 8)
    text = str(inspect(net, "block 1.*"))
    lines = text.splitlines()
    assert lines[0].split() == ["name", "shape", "dtype", "numel", "grad", "tied", "with"]
    assert lines[1].startswith("block 1.weight") and "block 0.1.weight" in lines[1]
    assert "(8,)" in lines[2] and "float32" in lines[2]
    with pytest.raises(ValueError, match=r"inspect\(\): pattern"):
        inspect(net, "zzz")


@pytest.mark.parametrize("pattern", ["**", "**.weight", "*.weight", "block 0.*", "block 0.*.bias",
                                     "block ?.bias", "heads.**.bias", "**.b*", "re:^heads\\.",
                                     re.compile(r"\d\.weight$"), ["**.bias", "re:cls"]])
def test_match_names_agrees_with_select(pattern: object) -> None:
    net = make()
    got, report = match_names(pattern, ALL, allow_empty=True)
    pats = pattern if isinstance(pattern, list) else [pattern]
    sel = select(net, *pats, allow_empty=True, remove_duplicate=False)
    assert got == sel.names()
    assert report.matched == sel.report.matched and report.unassigned == sel.report.unassigned


def test_match_names_report_errors_and_cli_pattern() -> None:
    from weightwise.nn.select import _Pattern

    keys = ["embed.weight", "fc.weight", "fc.bias", "fc.bias"]          # plain names, kept as given
    got, report = match_names(["**.bias", "re:^embed", lambda n, p: p is None and n == "fc.weight"], keys)
    assert got == keys
    assert report.matched == {"**.bias": ["fc.bias", "fc.bias"], "re:^embed": ["embed.weight"],
                              "<lambda>": ["fc.weight"]}
    assert str(report).splitlines()[0].split() == ["pattern", "matched", "selected", "names"]
    with pytest.raises(ValueError, match=r"match_names\(\): pattern '\*\*.wieght' matched no name; "
                                         r"close names: fc.weight, embed.weight"):
        match_names("**.wieght", keys)
    with pytest.raises(ValueError, match=r"--filter\(\): pattern 'x' matched no name; there are no names"):
        match_names("x", [], api="--filter")
    assert match_names(["x", "fc.*"], keys, allow_empty=True)[1].matched["x"] == []
    with pytest.raises(TypeError, match="module type, which needs a model"):
        match_names(Linear, keys)
    with pytest.raises(TypeError, match="names must be an iterable of strings"):
        match_names("**", "fc.weight")
    with pytest.raises(TypeError, match="names must be strings"):
        match_names("**", [1])
    with pytest.raises(ValueError, match="invalid regular expression"):
        match_names("re:(", keys)
    with pytest.raises(ValueError, match="at least one pattern"):
        match_names([], keys)
    # The compiled pattern the CLI uses directly still works on plain names.
    assert _Pattern("fc.*", "--filter").match_all(keys, [None] * 4, None) == [False, True, True, True]  # type: ignore[arg-type]
