"""The chapter end to end on the shipped digits data; ``weightwise demo`` renders it.

:func:`run` is a generator of ``(event, data)`` pairs so that the command line can print as the
run goes (summary, progress, table) while this module never prints:

- ``("summary", Summary)`` after building and initialising the MLP with a shared layer;
- ``("init", {"patterns": {pattern: [names]}, "how": str})``;
- ``("progress", {"epoch", "epochs", "step", "steps", "loss"})`` after every training step;
- ``("epoch", {"epoch", "loss", "train_acc", "test_acc", "seconds"})``;
- ``("trained", {"monitor": TrainingMonitor, "test_acc", "seconds"})``;
- ``("saved", {"model": path, "checkpoint": path})``;
- ``("onnx", {"status": "ok" | "skipped" | "failed", "path", "max_abs_diff", "reason"})``;
- ``("report", {"status", "html", "pngs", "reason"})``;
- ``("done", {"out": folder, "files": {label: path}})``.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any, Iterator

import numpy as np

__all__ = ["run", "build_model", "initialise"]

HIDDEN = 64


def build_model() -> Any:
    """The chapter's MLP with one shared hidden layer, sized for 8x8 digits (64 -> 10)."""
    from .. import nn

    shared = nn.Linear(HIDDEN, HIDDEN)
    return nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                         nn.Linear(HIDDEN, 10))


def initialise(model: Any) -> dict[str, Any]:
    """Weights Xavier-uniform, biases zero, by pattern (``nn.select.init_``) where it exists."""
    from ..nn import init

    rules = {"**.weight": init.xavier_uniform_, "**.bias": init.zeros_}
    init_: Any = None
    try:
        from ..nn.select import init_
    except ImportError:
        pass
    if init_ is not None:
        report = init_(model, rules)
        return {"how": "by pattern", "patterns": {k: list(v) for k, v in report.assigned.items()},
                "report": str(report)}
    names: dict[str, list[str]] = {k: [] for k in rules}
    for name, p in model.named_parameters():  # a shared layer is initialised once
        key = "**.weight" if name.endswith("weight") else "**.bias"
        rules[key](p)
        names[key].append(name)
    return {"how": "by name suffix (the pattern API is not available)", "patterns": names, "report": ""}


def _digits() -> tuple[Any, Any, Any, Any]:
    try:
        from ..data import digits_split
    except ImportError:
        raise RuntimeError("the digits data set is not available in this installation "
                           "(weightwise.data.digits_split is missing); reinstall weightwise") from None
    return digits_split()  # type: ignore[no-any-return]


def _batches(n: int, batch_size: int, generator: Any) -> list[Any]:
    import weightwise

    order: Any = weightwise.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _accuracy(model: Any, x: Any, y: Any) -> float:
    import weightwise

    with weightwise.no_grad():
        pred = model(x).argmax(dim=1)
    return float((pred == y).float().mean().item())


def run(out: str | os.PathLike[str] = "weightwise-demo", epochs: int = 8, seed: int = 0,
        batch_size: int = 32, lr: float = 0.02) -> Iterator[tuple[str, Any]]:
    """Build, initialise, summarise, train while monitoring, save, export and report."""
    import weightwise

    from ..nn import functional as F
    from .monitor import TrainingMonitor
    from .summary import summary

    out = os.fspath(out)
    os.makedirs(out, exist_ok=True)
    weightwise.manual_seed(seed)
    x_train, y_train, x_test, y_test = _digits()
    model = build_model()
    init_info = initialise(model)
    yield "init", init_info
    summ = summary(model, input_size=(1, 64))
    yield "summary", summ

    opt = weightwise.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    files = {"monitor log": os.path.join(out, "monitor.jsonl")}
    monitor = TrainingMonitor(model, opt, every=10, path=files["monitor log"])
    gen = weightwise.Generator().manual_seed(seed)
    n = int(x_train.shape[0])
    steps_per_epoch = -(-n // batch_size)
    t0 = time.perf_counter()
    step = 0
    try:
        for epoch in range(1, epochs + 1):
            te = time.perf_counter()
            model.train()
            losses = []
            for idx in _batches(n, batch_size, gen):
                opt.zero_grad()
                loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
                loss.backward()
                monitor.log(loss=loss)
                opt.step()  # the monitor records every 10 steps through the optimizer's hook
                step += 1
                losses.append(float(loss.item()))
                yield "progress", {"epoch": epoch, "epochs": epochs, "step": step,
                                   "steps": steps_per_epoch * epochs, "loss": losses[-1]}
            model.eval()
            yield "epoch", {"epoch": epoch, "loss": float(np.mean(losses)), "train_acc": _accuracy(model, x_train, y_train),
                            "test_acc": _accuracy(model, x_test, y_test), "seconds": time.perf_counter() - te}
    finally:
        monitor.close()
    test_acc = _accuracy(model, x_test, y_test)
    yield "trained", {"monitor": monitor, "test_acc": test_acc, "seconds": time.perf_counter() - t0,
                      "steps": step}

    from .. import io as wio

    files["model"] = os.path.join(out, "model.safetensors")
    files["checkpoint"] = os.path.join(out, "checkpoint.safetensors")
    meta = {"provenance": _provenance(model)}
    wio.save(model.state_dict(), files["model"], metadata=meta)
    wio.save_checkpoint(files["checkpoint"], model=model, optimizer=opt, step=step)
    yield "saved", {"model": files["model"], "checkpoint": files["checkpoint"]}

    onnx_info = _onnx(model, x_test, os.path.join(out, "model.onnx"))
    if onnx_info["status"] == "ok":
        files["onnx"] = onnx_info["path"]
    yield "onnx", onnx_info

    rep = _report(monitor, str(summ), out)
    if rep["status"] == "ok":
        files["report"] = rep["html"]
        files["plots"] = os.path.join(out, "plots")
    yield "report", rep
    yield "done", {"out": out, "files": files}


def _provenance(model: Any) -> dict[str, Any]:
    """How each parameter was initialised (every name of a tied one), where nn records it."""
    try:
        from ..nn.provenance import provenance
    except ImportError:
        return {}
    return provenance(model, remove_duplicate=False)


def _onnx(model: Any, x: Any, path: str) -> dict[str, Any]:
    try:
        from .. import onnx as wonnx
    except ImportError:
        return {"status": "skipped", "reason": "weightwise.onnx is not part of this installation"}
    for pkg in ("onnx", "onnxruntime"):
        try:
            importlib.import_module(pkg)
        except ImportError:
            return {"status": "skipped", "reason": f"{pkg} is not installed (pip install 'weightwise[onnx]')"}
    import onnxruntime as ort

    import weightwise

    try:
        wonnx.export(model, x[:1], path, input_names=["input"], output_names=["logits"],
                     dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = sess.run(None, {"input": x.numpy()})[0]
        with weightwise.no_grad():
            want = model(x).numpy()
    except Exception as e:  # the demo reports and goes on; `weightwise.onnx` has its own tests
        return {"status": "failed", "reason": f"{type(e).__name__}: {e}"}
    diff = float(np.max(np.abs(got - want)))
    return {"status": "ok" if diff < 1e-4 else "failed", "path": path, "max_abs_diff": diff,
            "rows": int(x.shape[0]), "reason": "" if diff < 1e-4 else f"outputs differ by {diff:.2e}"}


def _report(monitor: Any, summary_text: str, out: str) -> dict[str, Any]:
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return {"status": "skipped", "reason": "matplotlib is not installed (pip install 'weightwise[plot]')"}
    from .plots import write_report

    html = os.path.join(out, "report.html")
    res = write_report(monitor.records, html, title="weightwise demo: an MLP with a shared layer on the digits",
                       summary_text=summary_text, png_dir=os.path.join(out, "plots"))
    return {"status": "ok", **res}
