"""A plain MLP on the shipped 8x8 digits: >= 97% test accuracy in a few seconds.

Run: python examples/digits_mlp.py            (a progress bar on a terminal)
     python examples/digits_mlp.py --quiet
"""

from __future__ import annotations

import sys

import weightwise as torch
from weightwise import nn, optim
from weightwise.data import digits_split
from weightwise.training import evaluate, fit
from weightwise.utils.data import DataLoader, TensorDataset


def main(epochs: int = 30, seed: int = 0, progress: bool | None = None) -> float:
    """Train and return the test accuracy."""
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_split()
    net = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    opt = optim.Adam(net.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    history = fit(net, loader, opt, nn.CrossEntropyLoss(), epochs=epochs, scheduler=sched, progress=progress)
    acc = evaluate(net, x_test, y_test)
    if progress is not False:
        print(f"final training loss {history[-1]['loss']:.4f}; test accuracy {acc:.2%} on {len(y_test)} digits")
    return acc


if __name__ == "__main__":
    main(progress=False if "--quiet" in sys.argv else None)
