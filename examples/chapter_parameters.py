"""The *Parameter Management* chapter of Dive into Deep Learning, cell by cell.

Run it with weightwise (`python examples/chapter_parameters.py`) or with PyTorch
(`python examples/chapter_parameters.py --torch`): the printed text is the same.
"""

from __future__ import annotations

import sys
from typing import Any


def run(torch: Any, nn: Any, show: Any = print) -> None:
    """Every cell of the chapter, printing what the book prints (after a fixed seed)."""
    torch.manual_seed(42)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    X = torch.rand(size=(2, 4))
    show(net(X))

    # Parameter access
    show(net[2].state_dict())
    show(type(net[2].bias).__name__)
    show(net[2].bias)
    show(net[2].bias.data)
    show(net[2].weight.grad is None)
    show(*[(name, param.shape) for name, param in net[0].named_parameters()])
    show(*[(name, param.shape) for name, param in net.named_parameters()])
    show(net.state_dict()["2.bias"].data)

    # Nested blocks
    def block1() -> Any:
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2() -> Any:
        net = nn.Sequential()
        for i in range(4):
            net.add_module(f"block {i}", block1())
        return net

    rgnet = nn.Sequential(block2(), nn.Linear(4, 1))
    show(rgnet(X))
    show(rgnet)
    show(rgnet[0][1][0].bias.data)

    # Built-in initialisation
    def init_normal(m: Any) -> None:
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.zeros_(m.bias)

    net.apply(init_normal)
    show(net[0].weight.data[0], net[0].bias.data[0])

    def init_constant(m: Any) -> None:
        if type(m) == nn.Linear:
            nn.init.constant_(m.weight, 1)
            nn.init.zeros_(m.bias)

    net.apply(init_constant)
    show(net[0].weight.data[0], net[0].bias.data[0])

    def xavier(m: Any) -> None:
        if type(m) == nn.Linear:
            nn.init.xavier_uniform_(m.weight)

    def init_42(m: Any) -> None:
        if type(m) == nn.Linear:
            nn.init.constant_(m.weight, 42)

    net[0].apply(xavier)
    net[2].apply(init_42)
    show(net[0].weight.data[0])
    show(net[2].weight.data)

    # Custom initialisation
    def my_init(m: Any) -> None:
        if type(m) == nn.Linear:
            show("Init", *[(name, param.shape) for name, param in m.named_parameters()][0])
            nn.init.uniform_(m.weight, -10, 10)
            m.weight.data *= m.weight.data.abs() >= 5

    net.apply(my_init)
    show(net[0].weight[:2])
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    show(net[0].weight.data[0])

    # Tied parameters
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    net(X)
    show(net[2].weight.data[0] == net[4].weight.data[0])
    net[2].weight.data[0, 0] = 100
    show(net[2].weight.data[0] == net[4].weight.data[0])
    show([name for name, _ in net.named_parameters()])
    show(list(net.state_dict().keys()))
    net(X).sum().backward()
    show(net[2].weight.grad[0])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if "--torch" in args:
        import torch
        from torch import nn
    else:
        import weightwise as torch  # type: ignore[no-redef]
        from weightwise import nn  # type: ignore[no-redef]
    run(torch, nn)


if __name__ == "__main__":
    main()
