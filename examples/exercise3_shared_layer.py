"""Exercise 3 of the chapter: an MLP with a shared (tied) hidden layer, trained on the digits,
watching the parameters and gradients of every layer while it trains.

The watching is done with hooks:
- a forward hook on every Linear records the mean and std of its output (the shared layer
  reports once per use, under both of its positions);
- an optimizer step pre-hook records, for every parameter, its norm and the norm of its
  gradient: the gradient as the optimizer will use it, so the tied layer's is the sum of the
  gradients of both uses;
- a step post-hook records the update-to-weight ratio ||delta w|| / ||w|| of each parameter.

Run: python examples/exercise3_shared_layer.py [--quiet]
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

import numpy as np

import weightwise as torch
from weightwise import nn, optim
from weightwise.data import digits_split
from weightwise.training import evaluate, fit
from weightwise.utils.data import DataLoader, TensorDataset


def build() -> nn.Module:
    shared = nn.Linear(64, 64)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(64, 10))


class Recorder:
    """Per-layer statistics collected through module and optimizer hooks: {name: [values per step]}."""

    def __init__(self, net: nn.Module, opt: optim.Optimizer) -> None:
        self.stats: defaultdict[str, list[float]] = defaultdict(list)
        self.params = dict(net.named_parameters())  # the tied layer appears once ("2.weight")
        self._before: dict[str, np.ndarray] = {}
        # A shared module has several names ("2" and "4"); its hook fires once per use, in order.
        names: dict[int, list[str]] = defaultdict(list)
        modules = {}
        for name, module in net.named_modules(remove_duplicate=False):
            if isinstance(module, nn.Linear):
                names[id(module)].append(name)
                modules[id(module)] = module
        for key, module in modules.items():
            module.register_forward_hook(self._forward_hook(names[key]))
        opt.register_step_pre_hook(self._pre_step)
        opt.register_step_post_hook(self._post_step)

    def _forward_hook(self, names: list[str]) -> Any:
        calls = [0]

        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            name = names[calls[0] % len(names)]
            calls[0] += 1
            if module.training:
                a = output.detach().numpy()
                self.stats[f"{name}.out_mean"].append(float(a.mean()))
                self.stats[f"{name}.out_std"].append(float(a.std()))

        return hook

    def _pre_step(self, opt: optim.Optimizer, args: Any, kwargs: Any) -> None:
        for name, p in self.params.items():
            self._before[name] = p.detach().numpy().copy()
            self.stats[f"{name}.norm"].append(float(np.linalg.norm(self._before[name])))
            g = p.grad
            self.stats[f"{name}.grad_norm"].append(float(np.linalg.norm(g.numpy())) if g is not None else 0.0)

    def _post_step(self, opt: optim.Optimizer, args: Any, kwargs: Any) -> None:
        for name, p in self.params.items():
            w = p.detach().numpy()
            delta = np.linalg.norm(w - self._before[name])
            self.stats[f"{name}.update_ratio"].append(float(delta / (np.linalg.norm(w) + 1e-12)))

    def summary(self) -> str:
        rows = [f"{'parameter':<12} {'|w| first':>10} {'|w| last':>10} {'|g| mean':>10} {'upd/w mean':>11}"]
        for name in self.params:
            n, g, u = self.stats[f"{name}.norm"], self.stats[f"{name}.grad_norm"], self.stats[f"{name}.update_ratio"]
            rows.append(f"{name:<12} {n[0]:>10.4f} {n[-1]:>10.4f} {np.mean(g):>10.4f} {np.mean(u):>11.2e}")
        return "\n".join(rows)


def main(epochs: int = 10, seed: int = 0, progress: bool | None = None) -> tuple[float, Recorder]:
    """Train; return the test accuracy and the recorder holding every statistic."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_split()
    net = build()
    opt = optim.Adam(net.parameters(), lr=1e-3)
    rec = Recorder(net, opt)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    fit(net, loader, opt, nn.CrossEntropyLoss(), epochs=epochs, progress=progress)
    acc = evaluate(net, x_test, y_test)
    assert net[2].weight is net[4].weight  # still one tensor after training
    if progress is not False:
        print(rec.summary())
        print(f"test accuracy {acc:.2%}")
    return acc, rec


if __name__ == "__main__":
    main(progress=False if "--quiet" in sys.argv else None)
