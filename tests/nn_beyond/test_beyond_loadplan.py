"""Load plans: computed without changes, rename rules, every category, all-or-nothing apply."""

from __future__ import annotations

import numpy as np
import pytest

import weightwise as ww
from weightwise import io
from weightwise.nn.container import Sequential
from weightwise.nn.linear import Linear
from weightwise.nn.loadplan import plan_load
from weightwise.nn.ties import tie, tie_groups


def net(out: int = 2) -> Sequential:
    return Sequential(Linear(4, 8), Linear(8, 8), Linear(8, out))


def snapshot(m: Sequential) -> dict[str, np.ndarray]:
    return {k: v._a.copy() for k, v in m.state_dict().items()}


def assert_same(m: Sequential, snap: dict[str, np.ndarray]) -> None:
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v._a, snap[k], err_msg=k)


def test_dataparallel_keys_from_torch() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))
    sd = {"module." + k: v for k, v in tnet.state_dict().items()}   # DataParallel's keys
    m = net()
    snap = snapshot(m)
    plan = plan_load(m, sd)
    assert_same(m, snap)                                 # planning changes nothing
    assert plan.ok and plan.missing == [] and plan.unexpected == []
    assert plan.renamed["module.0.weight"] == "0.weight"
    assert plan.matched[0] == ("0.weight", "module.0.weight")
    text = str(plan)
    assert text.splitlines()[0] == ("load plan for Sequential from state_dict: 6 matched, 0 missing, "
                                    "0 unexpected -> ok")
    assert "module.2.bias" in text
    result = plan.apply()
    assert repr(result) == "<All keys matched successfully>"
    for k, v in tnet.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k]._a, v.numpy())


def test_compile_and_dataparallel_prefixes_together_and_regex_rename() -> None:
    src = net()
    sd = {"_orig_mod.module." + k.replace("2.", "head."): v for k, v in src.state_dict().items()}
    m = net()
    plan = plan_load(m, sd, rename=[(r"^head\.", "2.")])
    assert plan.ok, str(plan)
    assert plan.renamed["_orig_mod.module.head.weight"] == "2.weight"
    plan.apply()
    np.testing.assert_array_equal(m[2].weight._a, src[2].weight._a)
    plan2 = plan_load(net(), {"x." + k: v for k, v in src.state_dict().items()},
                      rename=[lambda k: k.removeprefix("x.")])
    assert plan2.ok


def test_keys_that_are_model_names_are_not_stripped() -> None:
    class Wrapper(Sequential):
        pass

    inner = Sequential(Linear(2, 2))
    w = Wrapper()
    w.add_module("module", inner)
    sd = w.state_dict()
    assert list(sd) == ["module.0.weight", "module.0.bias"]
    plan = plan_load(w, sd)
    assert plan.ok and plan.renamed == {}


def test_every_category_and_no_change_on_failure() -> None:
    src = net(out=3)
    sd = {"module." + k: v for k, v in src.state_dict().items()}
    sd["module.0.bias"] = sd["module.0.bias"].double()
    sd["module.extra"] = ww.zeros(3)
    del sd["module.1.bias"]
    m = net(out=2)
    snap = snapshot(m)
    plan = plan_load(m, sd)
    assert not plan.ok
    assert plan.missing == ["1.bias"]
    assert plan.unexpected == ["module.extra"]
    assert plan.shape_mismatch == [("2.weight", "module.2.weight", (2, 8), (3, 8)),
                                   ("2.bias", "module.2.bias", (2,), (3,))]
    assert plan.casts == [("0.bias", "module.0.bias", "float64", "float32")]
    statuses = [r.status for r in plan.rows]
    assert statuses == ["matched", "cast", "matched", "shape", "shape", "missing", "unexpected"]
    text = str(plan)
    assert "NOT OK (4 problem(s))" in text.splitlines()[0]
    assert "(2, 8) vs file (3, 8)" in text and "float64 -> float32" in text
    assert "problem: missing key(s): 1.bias" in text
    assert "problem: unexpected key(s): module.extra (as 'extra')" in text
    with pytest.raises(RuntimeError, match=r"LoadPlan.apply\(\): cannot load into Sequential"):
        plan.apply()
    assert_same(m, snap)
    assert "NOT OK" in repr(plan)


def test_non_strict_returns_load_state_dicts_keys() -> None:
    src = net()
    sd = {"module." + k: v for k, v in src.state_dict().items() if k != "1.bias"}
    sd["module.extra.w"] = ww.ones(2)
    m = net()
    plan = plan_load(m, sd, strict=False)
    assert plan.ok
    keys = plan.apply()
    ref = net().load_state_dict({**{k: v for k, v in src.state_dict().items() if k != "1.bias"},
                                 "extra.w": ww.ones(2)}, strict=False)
    assert keys.missing_keys == ref.missing_keys == ["1.bias"]
    assert keys.unexpected_keys == ref.unexpected_keys == ["extra.w"]
    np.testing.assert_array_equal(m[0].weight._a, src[0].weight._a)


def test_cast_applies_in_model_dtype() -> None:
    src = net().double()
    m = net()
    plan = plan_load(m, src.state_dict())
    assert len(plan.casts) == 6 and plan.ok
    plan.apply()
    assert m[0].weight.dtype == ww.float32
    np.testing.assert_allclose(m[0].weight._a, src[0].weight._a.astype(np.float32))


def test_tied_model_filled_from_one_key_and_ties_kept() -> None:
    a = Sequential(Linear(8, 8), Linear(8, 8))
    b = Sequential(Linear(8, 8), Linear(8, 8))
    tie(a, "1.weight", "0.weight")
    tie(b, "1.weight", "0.weight")
    sd = {k: v for k, v in a.state_dict().items() if k != "1.weight"}  # a deduplicated file
    plan = plan_load(b, sd)
    assert plan.ok and plan.missing == [] and plan.filled_by_tie == {"1.weight": "0.weight"}
    assert plan.model_ties == [["0.weight", "1.weight"]]
    assert "tied with 0.weight: gets its value from '0.weight'" in str(plan)
    assert repr(plan.apply()) == "<All keys matched successfully>"
    assert tie_groups(b) == [["0.weight", "1.weight"]]
    np.testing.assert_array_equal(b[1].weight._a, a[0].weight._a)


def test_tie_conflict_is_a_problem() -> None:
    a = Sequential(Linear(8, 8), Linear(8, 8))
    tie(a, "1.weight", "0.weight")
    sd = {k: v.clone() for k, v in a.state_dict().items()}
    sd["1.weight"] = sd["1.weight"] + 1
    plan = plan_load(a, sd)
    assert not plan.ok
    assert any("tie conflict: 0.weight and 1.weight" in p for p in plan.problems)
    same = {k: v for k, v in a.state_dict().items()}
    same["1.weight"] = same["0.weight"].clone()           # equal values: no conflict
    assert plan_load(a, same).ok


def test_from_file_with_file_ties_and_checkpoint_dict(tmp_path: object) -> None:
    import os

    a = Sequential(Linear(8, 8), Linear(8, 8))
    tie(a, "1.weight", "0.weight")
    path = os.path.join(str(tmp_path), "tied.safetensors")
    io.save(a.state_dict(), path)
    plain = Sequential(Linear(8, 8), Linear(8, 8))
    plan = plan_load(plain, path)
    assert plan.ok and plan.source == path
    assert plan.file_ties == [["0.weight", "1.weight"]]
    assert "tied in the file; separate in the model (each gets a copy)" in str(plan)
    tied = Sequential(Linear(8, 8), Linear(8, 8))
    tie(tied, "1.weight", "0.weight")
    assert "tied in the file and in the model" in str(plan_load(tied, path))
    plan.apply()
    np.testing.assert_array_equal(plain[1].weight._a, a[0].weight._a)
    ck = os.path.join(str(tmp_path), "ck.safetensors")
    io.save_checkpoint(ck, model=a, step=3, rng=False)
    p2 = plan_load(Sequential(Linear(8, 8), Linear(8, 8)), ck)
    assert p2.ok and p2.source.endswith("['model']")


def test_model_changed_since_plan() -> None:
    m = net()
    plan = plan_load(m, net().state_dict())
    from weightwise.nn.parameter import Parameter

    m[0].weight = Parameter(ww.zeros(8, 4))
    with pytest.raises(RuntimeError, match="changed since the plan was made"):
        plan.apply()
    assert (m[0].weight._a == 0).all()


def test_bad_input() -> None:
    m = net()
    with pytest.raises(TypeError, match="source must be a state dict"):
        plan_load(m, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rename rule must be"):
        plan_load(m, {}, rename=[("a",)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="invalid regular expression"):
        plan_load(m, {}, rename=[("(", "x")])
    sd = net().state_dict()
    sd2 = {"module.0.weight": sd["0.weight"], "0.weight": sd["0.weight"]}
    plan = plan_load(m, sd2, strict=False)
    assert not plan.ok and "rename collision" in plan.problems[0]
    plan = plan_load(m, {**net().state_dict(), "0.bias": "text"})
    assert not plan.ok and "'0.bias' (for 0.bias) is a str, not a tensor" in plan.problems[0]


def test_numpy_values_and_state_dict_view() -> None:
    src = net()
    sd = {k: v._a for k, v in src.state_dict().items()}
    m = net()
    plan = plan_load(m, sd)
    assert plan.ok and list(plan.state_dict()) == list(sd)
    plan.apply()
    np.testing.assert_array_equal(m[2].bias._a, src[2].bias._a)
