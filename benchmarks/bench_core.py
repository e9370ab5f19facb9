"""Core benchmarks: per-op forward+backward on (2, 4) and (512, 512), and one training step of
the chapter's MLP `Sequential(Linear(4, 8), ReLU(), Linear(8, 1))` with MSE and SGD.

Each row is weightwise's median time over PyTorch's, measured alternately in one process.
Targets: MLP step <= 0.5, 512x512 ops <= 1.0.  Run: `python benchmarks/bench_core.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import clean_blas_env, compare, print_table  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402

import weightwise as ww  # noqa: E402
from weightwise.ops.linalg import linear as ww_linear  # noqa: E402

# op name -> (f(lib, x, y) -> tensor, needs y)
OPS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add": lambda lib, x, y: x + y,
    "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / y,
    "mul scalar": lambda lib, x, y: x * 2.0,
    "pow 2": lambda lib, x, y: x**2,
    "matmul": lambda lib, x, y: x @ y,
    "relu": lambda lib, x, y: lib.relu(x),
    "sigmoid": lambda lib, x, y: x.sigmoid(),
    "tanh": lambda lib, x, y: x.tanh(),
    "exp": lambda lib, x, y: x.exp(),
    "sum": lambda lib, x, y: x.sum(),
    "mean": lambda lib, x, y: x.mean(),
    "sum dim": lambda lib, x, y: x.sum(1),
    "softmax": lambda lib, x, y: x.softmax(-1),
    "log_softmax": lambda lib, x, y: x.log_softmax(-1),
    "transpose": lambda lib, x, y: x.t(),
    "reshape": lambda lib, x, y: x.reshape(-1),
    "slice": lambda lib, x, y: x[:, 1:],
    "cat": lambda lib, x, y: lib.cat([x, y]),
}


def op_case(lib: Any, name: str, shape: tuple[int, int]) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    n = shape[1]
    x = lib.tensor(rng.uniform(0.5, 1.5, size=shape).astype(np.float32), requires_grad=True)
    y = lib.tensor(rng.uniform(0.5, 1.5, size=(n, n) if name == "matmul" else shape).astype(np.float32),
                   requires_grad=True)
    f = OPS[name]
    out = f(lib, x, y)
    g = lib.ones(tuple(out.shape))

    def run() -> None:
        x.grad = None
        y.grad = None
        f(lib, x, y).backward(g)

    return run


def mlp_raw(lib: Any) -> Callable[[], None]:
    """The chapter's MLP step with raw tensors: linear, relu, MSE, manual SGD."""
    lib.manual_seed(0)
    lin = ww_linear if lib is ww else torch.nn.functional.linear
    w1 = (lib.randn(8, 4) * 0.5).requires_grad_()
    b1 = lib.zeros(8, requires_grad=True)
    w2 = (lib.randn(1, 8) * 0.3).requires_grad_()
    b2 = lib.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    x, t = lib.randn(2, 4), lib.randn(2, 1)
    lr = 0.01

    def step() -> None:
        y = lin(lib.relu(lin(x, w1, b1)), w2, b2)
        loss = ((y - t) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None

    return step


def has_nn() -> bool:
    try:
        from weightwise import nn, optim
    except ImportError:
        return False
    return all(hasattr(nn, a) for a in ("Sequential", "Linear", "ReLU", "MSELoss")) and hasattr(optim, "SGD")


def mlp_module(lib: Any) -> Callable[[], None]:
    """The same step written as in the chapter: nn.Sequential, MSELoss, optim.SGD."""
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 1))
    loss_fn = lib.nn.MSELoss()
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    x, t = lib.randn(2, 4), lib.randn(2, 1)

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    torch.set_grad_enabled(True)
    quick = "--quick" in sys.argv
    budget = 0.1 if quick else 0.4
    rows = [("MLP step, raw tensors", *compare(mlp_raw(ww), mlp_raw(torch), budget_s=2 * budget))]
    if has_nn():
        rows.append(("MLP step, nn + optim", *compare(mlp_module(ww), mlp_module(torch), budget_s=2 * budget)))
    else:
        print("(weightwise.nn / optim not available yet: module version of the MLP step skipped)")
    print_table("Chapter MLP training step (target ratio <= 0.5)", rows)
    for shape in ((2, 4), (512, 512)):
        rows = []
        for name in OPS:
            rows.append((f"{name} {shape[0]}x{shape[1]}", *compare(op_case(ww, name, shape), op_case(torch, name, shape),
                                                               budget_s=budget)))
        target = "overhead" if shape == (2, 4) else "target ratio <= 1.0"
        print_table(f"Forward + backward, float32 {shape[0]}x{shape[1]} ({target})", rows)


if __name__ == "__main__":
    main()
