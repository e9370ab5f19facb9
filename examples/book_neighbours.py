"""The chapter's neighbouring sections of Dive into Deep Learning, run as one reader would.

Model construction (custom `Module`s, `MySequential`, `FixedHiddenMLP`/FancyMLP, nested blocks),
deferred initialisation (`LazyLinear`), custom layers, reading and writing files, and the device
API on a CPU-only machine. `python examples/book_neighbours.py [--torch] [--dir DIR]` prints the
same text with weightwise and with PyTorch.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any


def run(torch: Any, nn: Any, F: Any, folder: str, show: Any = print) -> None:
    """Every cell of the neighbouring sections, printing what the book prints (fixed seed)."""
    torch.manual_seed(0)
    X = torch.rand(2, 20)

    # --- Model construction ---------------------------------------------------------------
    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(20, 256)
            self.out = nn.Linear(256, 10)

        def forward(self, X: Any) -> Any:
            return self.out(F.relu(self.hidden(X)))

    net = MLP()
    show(net(X).shape, net)

    class MySequential(nn.Module):
        def __init__(self, *args: Any) -> None:
            super().__init__()
            for idx, module in enumerate(args):
                self._modules[str(idx)] = module

        def forward(self, X: Any) -> Any:
            for block in self._modules.values():
                X = block(X)
            return X

    net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    show(net(X))

    class FixedHiddenMLP(nn.Module):  # the FancyMLP of exercise 1
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

    net = FixedHiddenMLP()
    show(net(X))
    show(*[(name, p.shape) for name, p in net.named_parameters()])

    class NestMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
            self.linear = nn.Linear(32, 16)

        def forward(self, X: Any) -> Any:
            return self.linear(self.net(X))

    chimera = nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())
    show(chimera(X))
    show(chimera)

    # --- Deferred initialisation ----------------------------------------------------------
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    show(net[0].weight)
    show(net)
    net(X)
    show(net[0].weight.shape, net)

    # --- Custom layers ----------------------------------------------------------------------
    class CenteredLayer(nn.Module):
        def forward(self, X: Any) -> Any:
            return X - X.mean()

    layer = CenteredLayer()
    show(layer(torch.tensor([1.0, 2, 3, 4, 5])))
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
    Y = net(torch.rand(4, 8))
    show(Y.mean().abs() < 1e-6)

    class MyLinear(nn.Module):
        def __init__(self, in_units: int, units: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(in_units, units))
            self.bias = nn.Parameter(torch.randn(units,))

        def forward(self, X: Any) -> Any:
            linear = torch.matmul(X, self.weight.data) + self.bias.data
            return F.relu(linear)

    linear = MyLinear(5, 3)
    show(linear.weight)
    show(linear(torch.rand(2, 5)))
    net = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))
    show(net(torch.rand(2, 64)))

    # --- Reading and writing files ------------------------------------------------------------
    x = torch.arange(4)
    torch.save(x, os.path.join(folder, "x-file"))
    x2 = torch.load(os.path.join(folder, "x-file"))
    show(x2)
    y = torch.zeros(4)
    torch.save([x, y], os.path.join(folder, "x-files"))
    x2, y2 = torch.load(os.path.join(folder, "x-files"))
    show((x2, y2))
    mydict = {"x": x, "y": y}
    torch.save(mydict, os.path.join(folder, "mydict"))
    show(torch.load(os.path.join(folder, "mydict")))

    class MLP2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Linear(20, 256)
            self.output = nn.Linear(256, 10)

        def forward(self, x: Any) -> Any:
            return self.output(F.relu(self.hidden(x)))

    net = MLP2()
    Y = net(X)
    torch.save(net.state_dict(), os.path.join(folder, "mlp.params"))
    clone = MLP2()
    show(clone.load_state_dict(torch.load(os.path.join(folder, "mlp.params"))))
    show(clone.eval())
    show(clone(X) == Y)

    # --- GPUs (on a CPU-only machine) --------------------------------------------------------
    show(torch.device("cpu"), torch.cuda.device_count(), torch.cuda.is_available())

    def try_gpu(i: int = 0) -> Any:
        if torch.cuda.device_count() >= i + 1:
            return torch.device(f"cuda:{i}")
        return torch.device("cpu")

    def try_all_gpus() -> Any:
        devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
        return devices if devices else [torch.device("cpu")]

    show(try_gpu(), try_gpu(10), try_all_gpus())
    x = torch.tensor([1, 2, 3])
    show(x.device)
    X = torch.ones(2, 3, device=try_gpu())
    show(X)
    net = nn.Sequential(nn.Linear(3, 1))
    net = net.to(device=try_gpu())
    show(net(X).shape, net[0].weight.data.device)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if "--torch" in args:
        import torch
        import torch.nn.functional as F
        from torch import nn
    else:
        import weightwise as torch  # type: ignore[no-redef]
        import weightwise.nn.functional as F  # type: ignore[no-redef]
        from weightwise import nn  # type: ignore[no-redef]
    with tempfile.TemporaryDirectory() as folder:
        run(torch, nn, F, folder)


if __name__ == "__main__":
    main()
