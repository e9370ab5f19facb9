"""The parameter-management chapter, cell by cell: the same printed text as PyTorch."""

from __future__ import annotations

from typing import Any

from nn_compare import libs, same_output


def _net(torch: Any, nn: Any) -> tuple[Any, Any]:
    torch.manual_seed(42)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    X = torch.rand(size=(2, 4))
    return net, X


def _rgnet(torch: Any, nn: Any) -> tuple[Any, Any]:
    _, X = _net(torch, nn)

    def block1() -> Any:
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2() -> Any:
        net = nn.Sequential()
        for i in range(4):
            net.add_module(f"block {i}", block1())
        return net

    return nn.Sequential(block2(), nn.Linear(4, 1)), X


def test_cell1_forward_repr_names_addmm() -> None:
    out = same_output(lambda torch, nn: print(_net(torch, nn)[0](_net(torch, nn)[1])))
    assert "grad_fn=<AddmmBackward0>" in out


def test_cell2_layer_state_dict() -> None:
    out = same_output(lambda torch, nn: print(_net(torch, nn)[0][2].state_dict()))
    assert out.startswith("OrderedDict([('weight', tensor([[")


def test_cell3_parameter_type_repr_and_data() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net, _ = _net(torch, nn)
        print(net[2].bias)
        print(net[2].bias.data)

    out = same_output(cell)
    assert out.startswith("Parameter containing:\ntensor([")
    torch, ww = libs()
    t_cls = type(_net(torch, torch.nn)[0][2].bias)
    w_cls = type(_net(ww, ww.nn)[0][2].bias)
    assert w_cls.__name__ == t_cls.__name__ == "Parameter"
    assert w_cls.__module__.endswith("nn.parameter") and t_cls.__module__.endswith("nn.parameter")
    assert str(w_cls) == "<class 'weightwise.nn.parameter.Parameter'>"  # documented difference


def test_cell4_grad_is_none() -> None:
    assert same_output(lambda torch, nn: print(_net(torch, nn)[0][2].weight.grad == None)) == "True\n"  # noqa: E711


def test_cell5_named_parameters() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net, _ = _net(torch, nn)
        print(*[(name, param.shape) for name, param in net[0].named_parameters()])
        print(*[(name, param.shape) for name, param in net.named_parameters()])

    out = same_output(cell)
    assert "('0.weight', torch.Size([8, 4])) ('0.bias', torch.Size([8]))" in out


def test_cell6_state_dict_key() -> None:
    same_output(lambda torch, nn: print(_net(torch, nn)[0].state_dict()["2.bias"].data))


def test_cell7_8_9_nested_blocks() -> None:
    def cell(torch: Any, nn: Any) -> None:
        rgnet, X = _rgnet(torch, nn)
        print(rgnet(X))
        print(rgnet)
        print(rgnet[0][1][0].bias.data)
        print([n for n, _ in rgnet.named_parameters()][:3])

    out = same_output(cell)
    assert "    (block 3): Sequential(\n      (0): Linear(in_features=4, out_features=8, bias=True)" in out


def test_cell10_to_13_initialisers() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net, _ = _net(torch, nn)

        def init_normal(m: Any) -> None:
            if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
                nn.init.normal_(m.weight, mean=0, std=0.01)
                nn.init.zeros_(m.bias)

        net.apply(init_normal)
        print(net[0].weight.data[0], net[0].bias.data[0])

        def init_constant(m: Any) -> None:
            if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
                nn.init.constant_(m.weight, 1)
                nn.init.zeros_(m.bias)

        net.apply(init_constant)
        print(net[0].weight.data[0], net[0].bias.data[0])

        def xavier(m: Any) -> None:
            if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
                nn.init.xavier_uniform_(m.weight)

        def init_42(m: Any) -> None:
            if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
                nn.init.constant_(m.weight, 42)

        net[0].apply(xavier)
        net[2].apply(init_42)
        print(net[0].weight.data[0])
        print(net[2].weight.data)

        def my_init(m: Any) -> None:
            if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
                print("Init", *[(name, param.shape) for name, param in m.named_parameters()][0])
                nn.init.uniform_(m.weight, -10, 10)
                m.weight.data *= m.weight.data.abs() >= 5

        net.apply(my_init)
        print(net[0].weight[:2])
        net[0].weight.data[:] += 1
        net[0].weight.data[0, 0] = 42
        print(net[0].weight.data[0])

    out = same_output(cell)
    assert "Init weight torch.Size([8, 4])\nInit weight torch.Size([1, 8])\n" in out
    assert "grad_fn=<SliceBackward0>" in out
    assert "tensor([[42., 42., 42., 42., 42., 42., 42., 42.]])" in out


def _tied(torch: Any, nn: Any) -> tuple[Any, Any]:
    _, X = _net(torch, nn)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    return net, X


def test_cell15_tied_parameters() -> None:
    def cell(torch: Any, nn: Any) -> None:
        net, X = _tied(torch, nn)
        print(net(X))
        print(net[2].weight.data[0] == net[4].weight.data[0])
        net[2].weight.data[0, 0] = 100
        print(net[2].weight.data[0] == net[4].weight.data[0])
        print(net[2].weight is net[4].weight)
        print([n for n, _ in net.named_parameters()])
        print(list(net.state_dict().keys()))
        print(net)

    out = same_output(cell)
    assert "'4.weight'" in out  # state_dict lists the shared layer under both paths
    assert "'4.weight'" not in out.splitlines()[4]  # named_parameters lists it once


def test_tied_gradients_are_summed() -> None:
    """Both uses of the shared layer add into one .grad; values match PyTorch's."""
    torch, ww = libs()
    net, X = _tied(ww, ww.nn)
    net(X).sum().backward()
    t_net, t_X = _tied(torch, torch.nn)
    t_net(t_X).sum().backward()
    import numpy as np

    for (n, p), (tn, tp) in zip(net.named_parameters(), t_net.named_parameters()):
        assert n == tn
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)
