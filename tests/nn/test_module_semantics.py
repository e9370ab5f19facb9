"""Module semantics against PyTorch itself: keys, order, dedup, apply order, hooks, repr, errors."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
from nn_compare import libs, same_error, same_output


def _fancy(torch: Any, nn: Any) -> Any:
    F = nn.functional

    class FancyMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rand_weight = torch.rand((20, 20), requires_grad=False)
            self.linear = nn.Linear(20, 20)

        def forward(self, X: Any) -> Any:
            X = self.linear(X)
            X = F.relu(torch.mm(X, self.rand_weight) + 1)
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class NestMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
            self.linear = nn.Linear(32, 16)

        def forward(self, X: Any) -> Any:
            return self.linear(self.net(X))

    torch.manual_seed(0)
    return nn.Sequential(NestMLP(), nn.Linear(16, 20), FancyMLP())


def test_fancy_mlp_repr_params_and_output() -> None:
    def cell(torch: Any, nn: Any) -> None:
        chimera = _fancy(torch, nn)
        X = torch.rand(2, 20)
        print(chimera)
        print(chimera(X))
        print([(n, tuple(p.shape)) for n, p in chimera.named_parameters()])
        print(list(chimera.state_dict()))
        print(chimera[2].linear.bias.data[:4])

    out = same_output(cell)
    assert "(2): FancyMLP(\n    (linear): Linear(in_features=20, out_features=20, bias=True)\n  )" in out


def test_custom_extra_repr_multiline_and_none_child() -> None:
    def cell(torch: Any, nn: Any) -> None:
        class A(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.register_module("empty", None)
                self.inner = nn.Sequential(nn.Linear(2, 2), nn.Tanh())

            def extra_repr(self) -> str:
                return "line one\nline two"

        class B(nn.Module):
            def extra_repr(self) -> str:
                return "k=3"

        print(A())
        print(B())
        print(nn.Sequential())
        print(nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]))
        print(nn.ModuleList())
        print(nn.ModuleDict({"a": nn.ReLU(), "b": nn.Sigmoid()}))
        pl = nn.ParameterList([nn.Parameter(torch.zeros(2, 3)), torch.ones(4)])
        print(pl)
        pd = nn.ParameterDict({"w": nn.Parameter(torch.zeros(2)), "v": torch.zeros(1, 2)})
        print(pd)

    same_output(cell)


def test_layer_reprs() -> None:
    def cell(torch: Any, nn: Any) -> None:
        for m in [nn.Identity(), nn.Linear(3, 2, bias=False), nn.Bilinear(2, 3, 4), nn.Flatten(), nn.Flatten(0, 2),
                  nn.Unflatten(1, (2, 2)), nn.ReLU(), nn.ReLU(inplace=True), nn.LeakyReLU(0.2, inplace=True),
                  nn.ELU(), nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Sigmoid(), nn.Tanh(), nn.Softmax(dim=1),
                  nn.LogSoftmax(1), nn.Softmax(), nn.Dropout(), nn.Dropout(0.1, True), nn.Embedding(5, 3),
                  nn.Embedding(5, 3, padding_idx=-1, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True),
                  nn.LayerNorm(4), nn.LayerNorm([3, 4], elementwise_affine=False), nn.LayerNorm(3, bias=False),
                  nn.BatchNorm1d(3), nn.BatchNorm1d(3, momentum=None, affine=False, track_running_stats=False),
                  nn.LazyLinear(5)]:
            print(m)

    same_output(cell)


def test_state_dict_order_ties_metadata_and_dedup() -> None:
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(1)
        shared = nn.Linear(2, 2)
        bn = nn.BatchNorm1d(2)
        inner = nn.Sequential(shared, bn)
        net = nn.Sequential(inner, shared, nn.Sequential(inner))
        net.register_buffer("scale", torch.ones(1))
        net.register_buffer("tmp", torch.ones(1), persistent=False)
        sd = net.state_dict()
        print(list(sd))
        print(sorted(sd._metadata.items()))
        print([n for n, _ in net.named_parameters()])
        print([n for n, _ in net.named_parameters(remove_duplicate=False)])
        print([n for n, _ in net.named_buffers()])
        print([n for n, _ in net.named_buffers(prefix="model", recurse=True)])
        print([n for n, _ in net[0].named_parameters(prefix="x", recurse=False)])
        print([n for n, _ in net.named_modules()])
        print([n for n, _ in net.named_modules(remove_duplicate=False)])
        print([n for n, _ in net.named_modules(prefix="root")])
        print([n for n, _ in net.named_children()])
        print(len(list(net.modules())), len(list(net.children())), len(list(net.parameters())))
        print(sd["0.0.weight"] is sd["1.weight"], sd["1.weight"].requires_grad)
        kv = net.state_dict(keep_vars=True)
        print(type(kv["1.weight"]).__name__, kv["1.weight"] is shared.weight)
        print(list(net.state_dict(prefix="p.")))

    same_output(cell)


def test_apply_order_children_first_and_returns_self() -> None:
    def cell(torch: Any, nn: Any) -> None:
        shared = nn.Linear(2, 2)
        net = nn.Sequential(nn.Sequential(shared, nn.ReLU()), shared, shared, nn.Sequential(nn.Tanh()))
        seen = []
        r = net.apply(lambda m: seen.append(type(m).__name__))
        print(seen, r is net)

    same_output(cell)


def test_repr_never_shows_module_paths() -> None:
    # Class paths differ from PyTorch's (weightwise.nn.linear.Linear); printed models never show
    # them, whatever the layer, container or custom module (and a lazy parameter in a list).
    def cell(torch: Any, nn: Any) -> None:
        class Custom(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.p = nn.Parameter(torch.zeros(2))
                self.register_buffer("b", torch.zeros(1))
                self.inner = nn.ModuleDict({"act": nn.GELU("tanh"), "lin": nn.LazyLinear(3)})

        net = nn.Sequential(
            nn.Identity(), nn.Linear(2, 3), nn.Bilinear(2, 2, 1), nn.Flatten(), nn.Unflatten(1, (2, 2)),
            nn.LeakyReLU(), nn.ELU(), nn.SiLU(), nn.Softmax(), nn.LogSoftmax(1), nn.Dropout(),
            nn.Embedding(3, 2), nn.LayerNorm(2), nn.BatchNorm1d(2), nn.ModuleList([nn.Tanh()]),
            nn.ParameterList([nn.Parameter(torch.zeros(2, 3)), torch.zeros(3), nn.UninitializedParameter()]),
            nn.ParameterDict({"a": nn.Parameter(torch.zeros(2, dtype=torch.float64))}), Custom(), nn.Module())
        text = repr(net)
        print(text, str(net) == text, "weightwise" in text, "torch.nn" in text)

    same_output(cell)


def test_apply_visits_a_module_shared_by_two_parents_twice() -> None:
    # PyTorch's `apply` recurses through each parent's distinct `children()`: a module listed
    # twice in one parent is visited once there, but a module under two different parents is
    # visited once under each (unlike `modules()`, which lists it once). weightwise keeps that.
    def cell(torch: Any, nn: Any) -> None:
        shared = nn.Linear(2, 2)
        twice_in_one = nn.Sequential(shared, shared)
        two_parents = nn.Sequential(nn.Sequential(shared), nn.Sequential(shared))
        for net in (twice_in_one, two_parents):
            visits = []
            net.apply(lambda m: visits.append(m is shared))
            print(sum(visits), len(list(net.modules())), [m is shared for m in net.modules()].count(True))

        class OwnChildren(nn.Sequential):
            def children(self):  # type: ignore[no-untyped-def]
                return iter([self[0]])

        net = OwnChildren(nn.ReLU(), nn.Tanh())
        seen = []
        net.apply(lambda m: seen.append(type(m).__name__))
        print(seen)

    same_output(cell)


def test_hooks_order_and_results() -> None:
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(0)
        lin = nn.Linear(3, 2)
        events = []
        h1 = lin.register_forward_pre_hook(lambda m, a: events.append("pre1"))
        lin.register_forward_pre_hook(lambda m, a: events.append("pre0"), prepend=True)
        lin.register_forward_pre_hook(lambda m, a, k: events.append(("prekw", sorted(k))), with_kwargs=True)
        lin.register_forward_hook(lambda m, a, o: events.append(("fwd", tuple(o.shape))))
        lin.register_forward_hook(lambda m, a, o: o * 2)
        lin.register_full_backward_pre_hook(lambda m, go: events.append(("bpre", tuple(go[0].shape))))
        lin.register_full_backward_hook(
            lambda m, gi, go: events.append(("bwd", [None if g is None else tuple(g.shape) for g in gi])))
        x = torch.ones(4, 3, requires_grad=True)
        y = lin(x)
        print(y.grad_fn.name() if hasattr(y.grad_fn, "name") else y.grad_fn)
        y.sum().backward()
        print(events)
        print(x.grad)
        h1.remove()
        events.clear()
        lin(torch.ones(1, 3, requires_grad=True)).sum().backward()
        print(events)

    same_output(cell)


def test_backward_hook_replaces_grad_input_and_pre_hook_replaces_grad_output() -> None:
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(0)
        lin = nn.Linear(3, 2)
        lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 1,))
        x = torch.ones(2, 3, requires_grad=True)
        lin(x).sum().backward()
        print(x.grad)
        print(lin.weight.grad)

    same_output(cell)


def test_forward_pre_hook_changes_args_and_kwargs() -> None:
    def cell(torch: Any, nn: Any) -> None:
        class M(nn.Module):
            def forward(self, x: Any, scale: float = 1.0) -> Any:
                return x * scale

        m = M()
        m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
        m.register_forward_pre_hook(lambda mod, args, kw: (args, {"scale": 10.0}), with_kwargs=True)
        m.register_forward_hook(lambda mod, args, kw, out: out + kw["scale"], with_kwargs=True)
        print(m(torch.ones(2)))

    same_output(cell)


def test_train_eval_zero_grad_requires_grad() -> None:
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(2)))
        print(net.training, net[2][0].training)
        print(net.eval() is net, net.training, net[1].training, net[2][0].training)
        net.train()
        print(net[2][0].training)
        net(torch.ones(3, 2)).sum().backward()
        print(net[0].weight.grad is None)
        net.zero_grad(set_to_none=False)
        print(net[0].weight.grad)
        net.zero_grad()
        print(net[0].weight.grad)
        net.requires_grad_(False)
        print([p.requires_grad for p in net.parameters()])

    same_output(cell)


def test_to_dtype_keeps_ties_and_identity() -> None:
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(0)
        shared = nn.Linear(2, 2)
        net = nn.Sequential(shared, nn.BatchNorm1d(2), shared)
        w = shared.weight
        net.double()
        print(shared.weight.dtype, net[1].num_batches_tracked.dtype, net[1].running_mean.dtype)
        print(shared.weight is w, net[0].weight is net[2].weight, type(net[0].weight).__name__)
        net.to(torch.float32)
        print(shared.weight.dtype, net.float() is net)
        net.half()
        print(net[0].bias.dtype)
        print(net.to("cpu") is net, net.cpu() is net)

    same_output(cell)


def test_get_submodule_parameter_buffer() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
        print(net.get_submodule("0.1"))
        print(tuple(net.get_parameter("0.0.weight").shape))
        print(net.get_buffer("0.1.running_mean"))
        print(net.get_submodule("") is net)

    same_output(cell)
    same_error(lambda torch, nn: nn.Sequential(nn.Linear(2, 2)).get_submodule("0.x"))
    same_error(lambda torch, nn: nn.Sequential(nn.Linear(2, 2)).get_submodule("1"))
    same_error(lambda torch, nn: nn.Sequential(nn.Linear(2, 2)).get_parameter("0.in_features"))
    same_error(lambda torch, nn: nn.Sequential(nn.BatchNorm1d(2)).get_buffer("0.weight"))


def test_getattr_delattr_dir() -> None:
    def cell(torch: Any, nn: Any) -> None:
        lin = nn.Linear(2, 2)
        lin.register_buffer("buf", torch.zeros(1))
        lin.child = nn.ReLU()
        print([k for k in dir(lin) if k in ("weight", "bias", "buf", "child", "in_features")])
        del lin.weight
        del lin.buf
        del lin.child
        print(list(lin._parameters), list(lin._buffers), list(lin._modules))
        print(hasattr(lin, "weight"))

    same_output(cell)
    same_error(lambda torch, nn: nn.Linear(2, 2).nothing)


# ------------------------------------------------------------------ registration errors

def _fix(msg: str) -> str:
    return msg


@pytest.mark.parametrize("case", [
    lambda torch, nn: nn.Linear(2, 2).register_parameter("", None),
    lambda torch, nn: nn.Linear(2, 2).register_parameter("a.b", None),
    lambda torch, nn: nn.Linear(2, 2).register_parameter(3, None),
    lambda torch, nn: nn.Linear(2, 2).register_parameter("in_features", None),
    lambda torch, nn: nn.Linear(2, 2).register_parameter("p", torch.zeros(2)),
    lambda torch, nn: nn.Linear(2, 2).register_parameter("p", nn.Parameter(torch.zeros(2)) * 2),
    lambda torch, nn: nn.Linear(2, 2).register_buffer("", None),
    lambda torch, nn: nn.Linear(2, 2).register_buffer("a.b", None),
    lambda torch, nn: nn.Linear(2, 2).register_buffer("weight", torch.zeros(1)),
    lambda torch, nn: nn.Linear(2, 2).register_buffer("b", [1, 2]),
    # Messages with a class path: torch.nn.modules.linear.Linear here reads weightwise.nn.linear.Linear.
    lambda torch, nn: nn.Module().register_parameter("w", nn.Linear(1, 1)),
    lambda torch, nn: nn.Module().register_buffer("b", nn.ReLU()),
    lambda torch, nn: setattr(nn.Linear(1, 1), "weight", nn.ReLU()),
    lambda torch, nn: nn.Linear(2, 2).add_module("", nn.ReLU()),
    lambda torch, nn: nn.Linear(2, 2).add_module("a.b", nn.ReLU()),
    lambda torch, nn: nn.Linear(2, 2).add_module("weight", nn.ReLU()),
    lambda torch, nn: nn.Linear(2, 2).add_module(1, nn.ReLU()),
    lambda torch, nn: nn.Linear(2, 2).add_module("x", 3),
    lambda torch, nn: nn.Sequential().add_module("x", torch.zeros(1)),
    lambda torch, nn: setattr(nn.Linear(2, 2), "weight", torch.zeros(2, 2)),
    lambda torch, nn: setattr(nn.Linear(2, 2), "weight", 3.0),
    lambda torch, nn: setattr(nn.Sequential(nn.ReLU()), "0", "relu"),
    lambda torch, nn: (lambda m: (m.register_buffer("b", torch.zeros(1)), setattr(m, "b", 5)))(nn.Linear(2, 2)),
    lambda torch, nn: nn.Sequential(nn.ReLU())[1],
    lambda torch, nn: nn.Sequential(nn.ReLU())[-2],
    lambda torch, nn: nn.ModuleList([nn.ReLU()])[3],
    lambda torch, nn: nn.Sequential(nn.ReLU()).insert(5, nn.ReLU()),
    lambda torch, nn: nn.Sequential(nn.ReLU()) + nn.ModuleList(),
    lambda torch, nn: nn.ParameterDict()[3],
    lambda torch, nn: nn.Module()(1),
    lambda torch, nn: nn.Linear(2, 2, foo=1),
])
def test_registration_and_indexing_errors(case: Any) -> None:
    same_error(case, _fix)


def test_parameter_assignment_before_init() -> None:
    def case(torch: Any, nn: Any) -> None:
        class Bad(nn.Module):
            def __init__(self) -> None:
                self.w = nn.Parameter(torch.zeros(1))

        Bad()

    same_error(case)


# ------------------------------------------------------------------ containers

def test_sequential_indexing_and_mutation() -> None:
    def cell(torch: Any, nn: Any) -> None:
        seq = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Tanh()), ("c", nn.Sigmoid())]))
        print(seq[-1], seq[1:], seq[::2], len(seq), [type(m).__name__ for m in seq])
        seq = nn.Sequential(*seq)
        seq.append(nn.Identity())
        seq.insert(1, nn.ELU())
        seq.insert(-1, nn.GELU())
        print(seq)
        seq.extend([nn.SiLU()])
        print(seq.pop(0), seq)
        del seq[1:3]
        print(seq)
        seq[0] = nn.Linear(1, 1)
        print(seq, list(seq._modules))
        print(seq + nn.Sequential(nn.ReLU()))
        print(nn.Sequential(nn.ReLU()) * 2)
        ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
        ml.append(nn.Sigmoid())
        ml.insert(0, nn.ELU())
        ml += [nn.Identity()]
        print(ml, ml[1:3], ml[-1], len(ml))
        del ml[0]
        print(list(ml._modules))
        md = nn.ModuleDict([("x", nn.ReLU())])
        md["y"] = nn.Tanh()
        md.update({"z": nn.Identity()})
        print(list(md), "y" in md, md.pop("x"), list(md.keys()), len(md))
        pl = nn.ParameterList([nn.Parameter(torch.ones(1))])
        pl.append(torch.zeros(2))
        print(type(pl[1]).__name__, pl[1].requires_grad, len(pl), [n for n, _ in pl.named_parameters()])
        pd = nn.ParameterDict()
        pd["a"] = torch.zeros(1)
        pd.update([("b", nn.Parameter(torch.ones(2)))])
        print(list(pd), [n for n, _ in pd.named_parameters()], type(pd["a"]).__name__)
        print(pd.pop("a"), list(pd.keys()))

    same_output(cell)


# ------------------------------------------------------------------ load_state_dict

def _pair(torch: Any, nn: Any) -> tuple[Any, Any]:
    torch.manual_seed(0)
    shared = nn.Linear(3, 3)
    net = nn.Sequential(nn.Linear(2, 3), shared, nn.Sequential(shared, nn.BatchNorm1d(3)))
    return net, shared


def test_load_state_dict_roundtrip_keeps_ties() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net, shared = _pair(torch, nn)
        torch.manual_seed(5)
        other, _ = _pair(torch, nn)
        with torch.no_grad():
            for p in other.parameters():
                p.add_(1)
        w = shared.weight
        r = net.load_state_dict(other.state_dict())
        print(r)
        print(shared.weight is w, net[1].weight is net[2][0].weight)
        print(net[2][0].weight, net[2][1].num_batches_tracked)

    same_output(cell)


def test_load_state_dict_non_strict_reports_keys() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net, _ = _pair(torch, nn)
        sd = net.state_dict()
        del sd["0.bias"]
        del sd["2.1.running_var"]
        sd["extra"] = torch.zeros(1)
        sd["2.1.nope"] = torch.zeros(1)
        sd["0.weight.deep"] = torch.zeros(1)
        sd["5.x"] = torch.zeros(1)
        r = net.load_state_dict(sd, strict=False)
        print(r.missing_keys, r.unexpected_keys)
        print(r)

    same_output(cell)


def test_load_state_dict_error_text_and_model_unchanged() -> None:
    torch, ww = libs()

    def bad(torch: Any, nn: Any) -> Any:
        net, _ = _pair(torch, nn)
        sd = net.state_dict()
        del sd["0.bias"]
        sd["extra"] = torch.zeros(1)
        sd["1.weight"] = torch.zeros(4, 3)
        sd["2.0.bias"] = [1, 2, 3]
        return net, sd

    msg = same_error(lambda torch, nn: (lambda n, s: n.load_state_dict(s))(*bad(torch, nn)))
    assert msg.startswith("Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: \"0.bias\". ")
    assert "size mismatch for 1.weight: copying a param with shape torch.Size([4, 3]) from checkpoint" in msg
    net, sd = bad(ww, ww.nn)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    sd["0.weight"] = ww.ones(3, 2)
    with pytest.raises(RuntimeError):
        net.load_state_dict(sd)
    after = net.state_dict()
    assert all(ww.equal(before[k], after[k]) for k in before)


def test_load_state_dict_type_error_and_scalar_compat() -> None:
    same_error(lambda torch, nn: nn.Linear(2, 2).load_state_dict([1, 2]))

    def cell(torch: Any, nn: Any) -> None:
        m = nn.Module()
        m.register_buffer("s", torch.tensor(1.0))
        m.load_state_dict({"s": torch.tensor([7.0])})
        print(m.s)

    same_output(cell)


def test_load_state_dict_assign() -> None:
    def cell(torch: Any, nn: Any) -> None:
        lin = nn.Linear(2, 2)
        new = {"weight": torch.ones(2, 2, dtype=torch.float64), "bias": torch.zeros(2)}
        lin.load_state_dict(new, assign=True)
        print(type(lin.weight).__name__, lin.weight.dtype, lin.weight.requires_grad, lin.weight)
        lin2 = nn.Linear(2, 2)
        lin2.load_state_dict(new)
        print(lin2.weight.dtype)

    same_output(cell)


def test_load_state_dict_assign_tied_model_values() -> None:
    # What PyTorch defines for a tied model under assign=True: the values at every path, the
    # shared module still shared, Parameters where Parameters were. (PyTorch then holds two
    # Parameter objects for `3.weight`/`0.weight`; weightwise keeps the one object: see
    # tests/nn_beyond/test_beyond_ties.py.)
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(0)
        shared = nn.Linear(2, 2)
        net = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(2, 2))
        net[3].weight = net[0].weight
        net[3].bias.requires_grad_(False)
        sd = {k: v * 2 for k, v in net.state_dict().items()}
        net.load_state_dict(sd, assign=True)
        print(net[0] is net[2], type(net[3].weight).__name__, net[3].bias.requires_grad)
        for name, p in net.named_parameters(remove_duplicate=False):
            print(name, p)

    same_output(cell)


def test_lazy_linear_materialises_and_becomes_linear() -> None:
    def cell(torch: Any, nn: Any) -> None:
        torch.manual_seed(3)
        net = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(1))
        print(net, net[0].weight)
        print([n for n, _ in net.named_parameters()])
        y = net(torch.rand(2, 5))
        print(net)
        print(y, net[0].weight.shape, type(net[0]).__name__)

    same_output(cell)
    same_error(lambda torch, nn: nn.LazyLinear(3).weight.shape)

    def load(torch: Any, nn: Any) -> None:
        lazy = nn.LazyLinear(2)
        lazy.load_state_dict(nn.Linear(3, 2).state_dict())
        print(lazy.weight.shape)

    same_output(load)


def test_deepcopy_keeps_ties_inside_the_copy() -> None:
    torch, ww = libs()
    for lib in (torch, ww):
        net, shared = _pair(lib, lib.nn)
        net[0].weight.grad = lib.ones(3, 2)
        cp = copy.deepcopy(net)
        assert cp[1].weight is cp[2][0].weight
        assert cp[1].weight is not net[1].weight
        assert type(cp[1].weight).__name__ == "Parameter" and cp[1].weight.requires_grad
        assert np.array_equal(cp[1].weight.detach().numpy(), net[1].weight.detach().numpy())
        assert [n for n, _ in cp.named_parameters()] == [n for n, _ in net.named_parameters()]
        assert cp[0].weight.grad is None and cp[2][1].running_var is not net[2][1].running_var


def test_parameter_basics() -> None:
    def cell(torch: Any, nn: Any) -> None:
        p = nn.Parameter(torch.zeros(2, 2))
        print(p, p.requires_grad, p.is_leaf)
        q = nn.Parameter(torch.ones(1), requires_grad=False)
        print(q)
        print(nn.Parameter())
        t = torch.zeros(3)
        r = nn.Parameter(t)
        r.data[0] = 5
        print(t)
        print(p * 2)
        m = nn.Module()
        m.register_buffer("b", None)
        m.register_parameter("p", None)
        print(list(m.state_dict()), list(m._buffers), list(m._parameters))
        print(nn.UninitializedParameter())

    same_output(cell)
