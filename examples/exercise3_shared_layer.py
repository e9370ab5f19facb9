"""Exercise 3 of the chapter: an MLP with a shared (tied) hidden layer, trained on the digits,
watching the parameters and gradients of every layer while it trains.

The watching is the built-in `TrainingMonitor`: every few steps it records, per parameter, the
statistics of the values and of the gradient and the update-to-weight ratio, and per ReLU the
fraction of dead units. The shared layer is one parameter (listed once, as "2.weight", shared
with "4.weight"), and its gradient is the sum of the gradients of both uses.

Run: python examples/exercise3_shared_layer.py [--quiet]
"""

from __future__ import annotations

import sys

import weightwise as torch
from weightwise import nn, optim
from weightwise.data import digits_split
from weightwise.diagnostics import TrainingMonitor
from weightwise.diagnostics._text import fmt_float, text_table
from weightwise.training import evaluate, fit
from weightwise.utils.data import DataLoader, TensorDataset


def build() -> nn.Module:
    shared = nn.Linear(64, 64)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(64, 10))


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return fmt_float(v)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return ", ".join(v)  # flags
    return str(v)


def main(epochs: int = 10, seed: int = 0, progress: bool | None = None, every: int = 5) -> tuple[float, TrainingMonitor]:
    """Train; return the test accuracy and the monitor holding every record."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_split()
    net = build()
    opt = optim.Adam(net.parameters(), lr=1e-3)
    monitor = TrainingMonitor(net, opt, every=every)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    fit(net, loader, opt, nn.CrossEntropyLoss(), epochs=epochs, progress=progress,
        on_step=lambda step, loss: monitor.log(loss=loss))
    monitor.close()
    acc = evaluate(net, x_test, y_test)
    assert net[2].weight is net[4].weight  # still one tensor after training
    if progress is not False:
        headers, rows = monitor.layer_table()
        print(text_table(headers, [[_cell(v) for v in row] for row in rows], right=range(2, 7)))
        print(f"tie groups: {nn.tie_groups(net)}")
        print(f"test accuracy {acc:.2%}")
    return acc, monitor


if __name__ == "__main__":
    main(progress=False if "--quiet" in sys.argv else None)
