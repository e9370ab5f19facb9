"""Backward hooks with several inputs and outputs, global hooks, buffers, pickling: against PyTorch."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
from nn_compare import libs, same_output

import weightwise as ww


def test_full_backward_hook_several_inputs_and_tuple_output() -> None:
    def events(torch: Any, nn: Any) -> None:
        class Two(nn.Module):
            def forward(self, a: Any, b: Any, scale: float) -> Any:
                return a * b * scale, (a + b).sum()

        m = Two()
        seen = []
        m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", [g is None for g in go])))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(
            ("bwd", [None if g is None else g.tolist() for g in gi], [None if g is None else g.tolist() for g in go])))
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        b = torch.tensor([3.0, 4.0], requires_grad=True)
        x, y = m(a, b, 2.0)
        (x.sum() * 2).backward()
        print(seen, a.grad, b.grad)

    same_output(events)


def test_output_grad_fn_name_with_backward_hooks() -> None:
    torch, _ = libs()
    for lib in (torch, ww):
        lin = lib.nn.Linear(2, 2)
        lin.register_full_backward_hook(lambda m, gi, go: None)
        y = lin(lib.ones(1, 2, requires_grad=True))
        name = type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name()
        assert name == "BackwardHookFunctionBackward"


def test_global_forward_hooks() -> None:
    from weightwise.nn.module import register_module_forward_hook, register_module_forward_pre_hook

    seen: list[str] = []
    h1 = register_module_forward_pre_hook(lambda m, a: seen.append("pre " + type(m).__name__))
    h2 = register_module_forward_hook(lambda m, a, o: seen.append("post " + type(m).__name__))
    try:
        ww.nn.Sequential(ww.nn.ReLU())(ww.ones(1))
    finally:
        h1.remove()
        h2.remove()
    assert seen == ["pre Sequential", "pre ReLU", "post ReLU", "post Sequential"]
    ww.nn.ReLU()(ww.ones(1))
    assert len(seen) == 4


def test_buffers_persistent_and_buffer_marker() -> None:
    def cell(torch: Any, nn: Any) -> None:
        m = nn.Module()
        m.register_buffer("a", torch.ones(2))
        m.register_buffer("b", torch.zeros(1), persistent=False)
        m.c = nn.Buffer(torch.full((1,), 3.0))
        m.d = nn.Buffer(torch.full((1,), 4.0), persistent=False)
        print(list(m.state_dict()), [n for n, _ in m.named_buffers()], type(m.c).__name__)
        m.a = torch.full((2,), 7.0)
        print(m.state_dict())
        m.load_state_dict({"a": torch.zeros(2), "c": torch.ones(1)})
        print(m.a, m.c)

    same_output(cell)


def test_pickle_module_and_parameter() -> None:
    ww.manual_seed(0)
    shared = ww.nn.Linear(2, 2)
    net = ww.nn.Sequential(shared, ww.nn.ReLU(), shared)
    back = pickle.loads(pickle.dumps(net))
    assert type(back[0].weight).__name__ == "Parameter" and back[0].weight.requires_grad
    assert back[0].weight is back[2].weight
    np.testing.assert_array_equal(back[0].weight.detach().numpy(), shared.weight.detach().numpy())
    assert repr(back) == repr(net)


def test_hook_handles_remove_and_context_manager() -> None:
    lin = ww.nn.Linear(2, 2)
    calls: list[int] = []
    with lin.register_forward_hook(lambda m, a, o: calls.append(1)):
        lin(ww.ones(1, 2))
    lin(ww.ones(1, 2))
    h = lin.register_forward_pre_hook(lambda m, a: calls.append(2), with_kwargs=False)
    h.remove()
    h.remove()
    lin(ww.ones(1, 2))
    assert calls == [1]
    assert not lin._forward_hooks and not lin._forward_pre_hooks


def test_backward_hook_with_unused_non_leaf_input() -> None:
    def cell(torch: Any, nn: Any) -> None:
        class FirstOnly(nn.Module):
            def forward(self, a: Any, b: Any) -> Any:
                return a * 2

        m = FirstOnly()
        got = []
        m.register_full_backward_hook(lambda mod, gi, go: got.append([g is None for g in gi]))
        a = torch.ones(2, requires_grad=True)
        m(a, a * 3).sum().backward()
        print(a.grad, len(got))

    same_output(cell)


def test_forward_hook_handles_with_kwargs_prepend_always_call() -> None:
    def cell(torch: Any, nn: Any) -> None:
        class Boom(nn.Module):
            def forward(self, x: Any, fail: bool = False) -> Any:
                if fail:
                    raise ValueError("boom")
                return x + 1

        m = Boom()
        events = []
        h_kw = m.register_forward_hook(lambda mod, a, k, o: events.append(("kw", sorted(k))), with_kwargs=True)
        h_first = m.register_forward_hook(lambda mod, a, o: events.append("first"), prepend=True)
        h_always = m.register_forward_hook(lambda mod, a, o: events.append(("always", o)), always_call=True)
        h_plain = m.register_forward_hook(lambda mod, a, o: events.append("plain"))
        print(type(h_kw).__name__, len(m._forward_hooks), len(m._forward_hooks_with_kwargs),
              len(m._forward_hooks_always_called))
        m(torch.ones(1), fail=False)
        print(events)
        events.clear()
        try:
            m(torch.ones(1), fail=True)
        except ValueError as e:
            print("raised", e)
        print(events)
        for h in (h_kw, h_always):
            h.remove()
            h.remove()  # twice is harmless
        print(len(m._forward_hooks), len(m._forward_hooks_with_kwargs), len(m._forward_hooks_always_called))
        events.clear()
        with h_first:
            m(torch.ones(1))
        m(torch.ones(1))
        print(events)
        h_plain.remove()
        print(len(m._forward_hooks))

    same_output(cell)


def test_hook_handles_after_copy_pickle_and_on_plain_dicts() -> None:
    import copy
    import pickle

    from weightwise.nn.hooks import RemovableHandle

    lin = ww.nn.Linear(2, 2)
    calls: list[str] = []
    h = lin.register_forward_hook(lambda m, a, o: calls.append("orig"), with_kwargs=False, always_call=True)
    twin = copy.deepcopy(lin)
    h.remove()                                      # removes from the original only
    assert not lin._forward_hooks and not lin._forward_hooks_always_called
    assert len(twin._forward_hooks) == 1 and len(twin._forward_hooks_always_called) == 1
    state = pickle.loads(pickle.dumps(ww.nn.Linear(2, 2))).__dict__.copy()
    for key in ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called"):
        del state[key]                              # a module pickled without these tables
    old = ww.nn.Linear.__new__(ww.nn.Linear)
    old.__setstate__(state)
    h2 = old.register_forward_hook(lambda m, a, k, o: calls.append("old"), with_kwargs=True)
    old(ww.ones(1, 2))
    h2.remove()
    old(ww.ones(1, 2))
    assert calls == ["old"] and not old._forward_hooks_with_kwargs
    plain: dict = {}                                # a plain dict cannot be weakly referenced
    h3 = RemovableHandle(plain, extra_dict={})
    plain[h3.id] = print
    h3.remove()
    assert plain == {}
