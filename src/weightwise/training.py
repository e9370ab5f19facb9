"""A small training loop (`fit`, `evaluate`) with a progress bar showing loss and throughput.

The bar is drawn only on a terminal: `progress=None` (the default) shows it when the stream is
a TTY and stays silent otherwise (pipes, CI logs, tests); `progress=False` silences it always.
With the optional `rich` extra installed it is a rich progress bar; otherwise one plain line
redrawn with a carriage return.

Example:
    >>> history = fit(net, loader, optim.Adam(net.parameters()), nn.CrossEntropyLoss(), epochs=5)
    >>> history[-1]["loss"], history[-1]["samples_per_s"]
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterable, TextIO

from .autograd import no_grad
from .tensor import Tensor

__all__ = ["ProgressBar", "evaluate", "fit"]


class ProgressBar:
    """Progress over `total` batches with the running loss and samples per second.

    Args:
        total: number of batches (None if unknown).
        desc: label at the left of the bar.
        enabled: True/False forces it; None shows it only when `stream` is a terminal.
        stream: where to draw (default: sys.stderr).
        use_rich: None uses rich when it is installed; False always draws the plain line.
    """

    def __init__(self, total: int | None, desc: str = "", enabled: bool | None = None, stream: TextIO | None = None,
                 use_rich: bool | None = None, min_interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled, self.total, self.desc, self.min_interval = enabled, total, desc, min_interval
        self.count = self.samples = 0
        self.loss = float("nan")
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._rich: Any = None
        if enabled and use_rich is not False:
            self._rich = _rich_progress(self.stream, desc, total)

    @property
    def rate(self) -> float:
        elapsed = time.perf_counter() - self._start
        return self.samples / elapsed if elapsed > 0 else 0.0

    def update(self, batches: int = 1, samples: int = 0, loss: float | None = None) -> None:
        self.count += batches
        self.samples += samples
        if loss is not None:
            self.loss = loss
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last_draw < self.min_interval and self.count != self.total:
            return
        self._last_draw = now
        self._draw()

    def _draw(self) -> None:
        if self._rich is not None:
            progress, task = self._rich
            progress.update(task, completed=self.count, loss=self.loss, rate=self.rate)
            return
        total = self.total
        if total:
            filled = int(30 * self.count / total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{total}"
        else:
            bar = f"{self.count} batches"
        self.stream.write(f"\r{self.desc} {bar} loss {self.loss:.4f} {self.rate:,.0f} samples/s")
        self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        self._draw()
        if self._rich is not None:
            self._rich[0].stop()
        else:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rich_progress(stream: TextIO, desc: str, total: int | None) -> Any:
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        return None
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[rate]:,.0f} samples/s"),
        TimeRemainingColumn(), console=Console(file=stream),
    )
    task = progress.add_task(desc, total=total, loss=float("nan"), rate=0.0)
    progress.start()
    return progress, task


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return int(first.shape[0]) if isinstance(first, Tensor) and first.dim() else 1


def fit(model: Any, loader: Iterable[Any], optimizer: Any, loss_fn: Callable[[Tensor, Tensor], Tensor], *,
        epochs: int = 1, scheduler: Any = None, progress: bool | None = None, stream: TextIO | None = None,
        on_step: Callable[[int, float], None] | None = None) -> list[dict[str, float]]:
    """Train `model` for `epochs` passes over `loader` of (inputs, targets) batches.

    Each step: `zero_grad`, `loss_fn(model(x), y).backward()`, `optimizer.step()`, then
    `on_step(step, loss)` if given. `scheduler.step()` runs once per epoch.

    Returns:
        One dict per epoch: `epoch`, `loss` (mean over samples), `samples`, `seconds`, `samples_per_s`.
    """
    history = []
    step = 0
    for epoch in range(epochs):
        if hasattr(model, "train"):
            model.train()
        total_loss, seen = 0.0, 0
        start = time.perf_counter()
        try:
            n_batches: int | None = len(loader)  # type: ignore[arg-type]
        except TypeError:
            n_batches = None
        with ProgressBar(n_batches, f"epoch {epoch + 1}/{epochs}", enabled=progress, stream=stream) as bar:
            for x, y in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                value = float(loss.item())
                n = _batch_size((x,))
                total_loss += value * n
                seen += n
                step += 1
                bar.update(1, n, value)
                if on_step is not None:
                    on_step(step, value)
        if scheduler is not None:
            scheduler.step()
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch + 1, "loss": total_loss / max(seen, 1), "samples": seen, "seconds": seconds,
                        "samples_per_s": seen / seconds if seconds > 0 else 0.0})
    return history


def evaluate(model: Any, x: Tensor, y: Tensor, batch_size: int = 1024) -> float:
    """Classification accuracy of `model` on inputs `x` (N, ...) and int64 labels `y` (N,), without a graph."""
    import numpy as np

    if hasattr(model, "eval"):
        model.eval()
    correct = 0
    with no_grad():
        for i in range(0, int(x.shape[0]), batch_size):
            out = model(x[i:i + batch_size])  # type: ignore[index]
            correct += int((np.argmax(out._a, axis=1) == y._a[i:i + batch_size]).sum())
    if hasattr(model, "train"):
        model.train()
    return correct / max(int(x.shape[0]), 1)
