"""``TrainingMonitor``: watch the parameters and gradients of every layer while a model trains.

Every ``every`` steps (and at the first step) it records, per parameter: statistics of the values
and of the gradient (mean, std, min, max, L2 norm, fraction of zeros, NaN/Inf counts), the
update-to-weight ratio ``||W_after - W_before|| / ||W_before||`` of that step, and histograms; per
ReLU module, the fraction of dead units (zero for every sample of the batch). It raises flags for
dead ReLUs, vanishing or exploding gradients and NaN/Inf. Records are kept in memory
(``monitor.records``) and, with ``path``, appended to a JSON Lines file, one record per line.

Cost: between recorded steps the monitor does nothing but count (its ReLU hooks are attached only
for the forward pass of a recorded step); on a recorded step it makes a few NumPy/BLAS passes over
each parameter and gradient. The update of a recorded step is measured by the optimizer itself when
it is one of weightwise's (two dot products per slice it updates, while the slice is in cache);
otherwise the step before copies the weights into reused buffers and the update is measured in
place, without a temporary. Histograms use a strided view of at most
``hist_sample`` elements per tensor and are binned all together in one vectorised pass.

Example::

    monitor = TrainingMonitor(model, optimizer, every=10, path="run.jsonl")
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        monitor.log(loss=loss.item())     # scalars for the next record (optional)
        optimizer.step()                  # the monitor steps with the optimizer
    monitor.close()
    monitor.flags                         # [{"step": 40, "kind": "dead_relu", "name": "1", ...}]

Without an optimizer, call ``monitor.step()`` after each ``optimizer.step()``.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Callable

import numpy as np

from ._fast import HistJob, _fast_stats, _hist_job, _histograms, fast_stats
from .stats import array_of, memory_key

__all__ = ["TrainingMonitor", "fast_stats"]


class TrainingMonitor:
    """Record per-layer statistics of parameters, gradients and updates while a model trains.

    Args:
        model: the ``nn.Module`` being trained.
        optimizer: optional; when given, the monitor steps each time ``optimizer.step()`` runs
            and records the learning rates. Without it, call :meth:`step` after each update.
        every: record every ``every`` steps (and at step 1).
        path: a JSON Lines file to write records to (created or truncated).
        bins: histogram bins. hist_sample: at most this many elements per histogram (a strided
            sample: 2048 values give about 70 per bin, and keep a record cheap).
        dead_relu: flag a ReLU when at least this fraction of its units is dead.
        vanish, explode: flag a gradient whose L2 norm is below / above these.
    """

    def __init__(self, model: Any, optimizer: Any = None, every: int = 10, path: str | os.PathLike[str] | None = None,
                 *, bins: int = 30, hist_sample: int = 2048, dead_relu: float = 0.5,
                 vanish: float = 1e-7, explode: float = 1e3) -> None:
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"TrainingMonitor(): every must be a positive int, got {every!r}")
        if not hasattr(model, "named_parameters"):
            raise TypeError(f"TrainingMonitor(): model must be an nn.Module, got {type(model).__name__}")
        self.model, self.optimizer, self.every = model, optimizer, every
        self.bins, self.hist_sample = bins, hist_sample
        self.dead_relu, self.vanish, self.explode = dead_relu, vanish, explode
        self.step_count = 0
        self.records: list[dict[str, Any]] = []
        self.flags: list[dict[str, Any]] = []
        self.path = os.fspath(path) if path is not None else None
        self._file = open(self.path, "w", encoding="utf-8") if self.path is not None else None
        self._scalars: dict[str, Any] = {}
        self._params = self._collect_params()
        self._snapshot: dict[str, np.ndarray] = {}  # reused buffers: the weights before a recorded step
        self._snap_norm: dict[str, float] = {}  # their L2 norms, taken with the copy (while in cache)
        self._fresh = False  # the snapshot holds the weights before the step being recorded
        self._reported: set[int] = set()  # ids of the parameters whose update the optimizer reports
        self._updates: dict[int, list[tuple[float, float]]] | None = None  # what it reported
        self._acts: dict[str, list[Any]] = {}
        self._relus = [(name or "<model>", m) for name, m in model.named_modules()
                       if type(m).__name__ in ("ReLU", "ReLU6")]
        self._handles: list[Any] = []  # ReLU hooks: attached only for a recorded step
        self._closed = False
        self._restore: Callable[[], None] | None = None
        self._t0 = time.perf_counter()
        if optimizer is not None:
            self._attach_optimizer(optimizer)
        self._prepare(1)

    # -- setup ------------------------------------------------------------------------------------
    def _collect_params(self) -> list[tuple[str, Any, list[str]]]:
        names: dict[tuple[Any, ...], list[str]] = {}
        first: dict[tuple[Any, ...], Any] = {}
        for name, p in self.model.named_parameters(remove_duplicate=False):
            key = memory_key(p)
            names.setdefault(key, []).append(name)
            first.setdefault(key, p)
        return [(ns[0], first[k], ns[1:]) for k, ns in names.items()]

    def _attach_activation_hooks(self) -> None:
        """Watch the ReLUs during the next forward passes (removed after the record): on the
        other steps the modules run hook-free."""
        if not self._handles and not self._closed:
            self._handles = [m.register_forward_hook(self._relu_hook(name)) for name, m in self._relus]

    def _detach_activation_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _relu_hook(self, name: str) -> Callable[..., None]:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            a = array_of(output)
            alive = (a > 0).reshape(-1, a.shape[-1]).any(axis=0) if a.ndim else np.asarray([a > 0])
            prev = self._acts.get(name)
            self._acts[name] = [alive | prev[0] if prev is not None and prev[0].shape == alive.shape else alive]
        return hook

    def _attach_optimizer(self, optimizer: Any) -> None:
        register = getattr(optimizer, "register_step_post_hook", None)
        if callable(register):
            handle = register(lambda opt, args, kwargs: self.step())
            self._restore = handle.remove
            return
        original = optimizer.step  # no hook API: wrap this instance's step

        def step(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            self.step()
            return out
        optimizer.step = step
        self._restore = lambda: delattr(optimizer, "step")

    # -- the loop ----------------------------------------------------------------------------------
    def _records_at(self, step: int) -> bool:
        return step == 1 or step % self.every == 0

    def _prepare(self, step: int) -> None:
        """Before a recorded step: copy the weights (for the update ratio), watch activations."""
        if not self._records_at(step):
            return
        opt = self.optimizer
        self._reported = set()
        if opt is not None and callable(getattr(opt, "_reported_params", None)) and not self._closed:
            self._reported = opt._reported_params()
            self._updates = opt._update_record = {}  # the optimizer fills it during the next step
        snap = self._snapshot
        for name, p, _ in self._params:
            if id(p) in self._reported:
                continue
            a = array_of(p)
            buf = snap.get(name)
            if buf is None or buf.shape != a.shape or buf.dtype != a.dtype:
                snap[name] = buf = a.copy()
            else:
                np.copyto(buf, a)
            w = buf.reshape(-1)
            self._snap_norm[name] = math.sqrt(float(np.dot(w, w)))
        self._fresh = True
        self._attach_activation_hooks()

    def log(self, **scalars: Any) -> None:
        """Scalars (``loss=...``) to put in the next record; tensors are converted with ``item()``."""
        for k, v in scalars.items():
            self._scalars[k] = float(v.item() if hasattr(v, "item") else v)

    def step(self, loss: Any = None) -> dict[str, Any] | None:
        """Count one training step (call after ``optimizer.step()``); return the record if one was made."""
        if loss is not None:
            self.log(loss=loss)
        self.step_count += 1
        rec = None
        if self._records_at(self.step_count):
            rec = self._record()
        self._prepare(self.step_count + 1)
        return rec

    # -- recording -----------------------------------------------------------------------------------
    def _record(self) -> dict[str, Any]:
        with np.errstate(over="ignore", invalid="ignore"):
            return self._record_now()

    def _record_now(self) -> dict[str, Any]:
        self._detach_activation_hooks()
        params: dict[str, Any] = {}
        flags: list[dict[str, Any]] = []
        hist_jobs: list[HistJob] = []
        for name, p, shared in self._params:
            params[name] = entry = self._param_entry(name, p, shared, hist_jobs)
            self._param_flags(name, entry, flags)
        self._fresh = False
        self._stop_update_record()
        hists = iter(_histograms(hist_jobs))
        for entry in params.values():
            entry["hist"] = {"param": next(hists), "grad": next(hists) if entry["grad"] is not None else None}
        acts = {}
        for name, (alive,) in self._acts.items():
            dead = 1.0 - float(np.count_nonzero(alive)) / max(alive.size, 1)
            acts[name] = {"dead_fraction": dead, "units": int(alive.size)}
            if dead >= self.dead_relu:
                flags.append(self._flag("dead_relu", name, f"{dead:.0%} of the units of ReLU {name} are dead "
                                        f"(zero for the whole batch)"))
        loss = self._scalars.get("loss")
        if loss is not None and not math.isfinite(loss):
            flags.append(self._flag("nan", "loss", f"the loss is {loss}"))
        rec: dict[str, Any] = {"step": self.step_count, "time": time.perf_counter() - self._t0, **self._scalars}
        if self.optimizer is not None and hasattr(self.optimizer, "param_groups"):
            rec["lr"] = [float(g.get("lr", float("nan"))) for g in self.optimizer.param_groups]
        rec.update(params=params, activations=acts, flags=flags)
        self.records.append(rec)
        self.flags.extend(flags)
        self._acts, self._scalars = {}, {}
        if self._file is not None:
            self._file.write(_json_line(rec))
            self._file.flush()
        return rec

    def _param_entry(self, name: str, p: Any, shared: list[str],
                     hist_jobs: list[HistJob]) -> dict[str, Any]:
        a = array_of(p)
        ps = _fast_stats(a)
        hist_jobs.append(_hist_job(a, ps["min"], ps["max"], self.bins, self.hist_sample))
        g = getattr(p, "grad", None)
        gs = None
        if g is not None:
            ga = array_of(g)
            gs = _fast_stats(ga)
            hist_jobs.append(_hist_job(ga, gs["min"], gs["max"], self.bins, self.hist_sample))
        ratio = self._ratio(name, p, a)
        entry: dict[str, Any] = {
            "layer": name.rpartition(".")[0], "shape": list(a.shape), "param": ps, "grad": gs,
            "update_ratio": ratio, "hist": None,
        }
        if shared:
            entry["shared_with"] = shared
        return entry

    def _ratio(self, name: str, p: Any, a: np.ndarray) -> float | None:
        """The update-to-weight ratio of the step just taken (None when unknown)."""
        if not self._fresh:
            return None
        if id(p) in self._reported:
            parts = (self._updates or {}).get(id(p))
            if not parts:  # not updated: no gradient (or another monitor took the record)
                return 0.0 if getattr(p, "grad", None) is None else None
            return _ratio_of(math.sqrt(sum(u for u, _ in parts)), math.sqrt(sum(w for _, w in parts)))
        before = self._snapshot.get(name)
        return _update_ratio(a, before, self._snap_norm[name]) if before is not None and before.shape == a.shape else None

    def _stop_update_record(self) -> None:
        opt = self.optimizer
        if self._updates is not None and getattr(opt, "_update_record", None) is self._updates:
            opt._update_record = None  # back to updating without measuring
        self._updates = None

    def _param_flags(self, name: str, e: dict[str, Any], flags: list[dict[str, Any]]) -> None:
        for part in ("param", "grad"):
            s = e[part]
            if s is not None and (s["nans"] or s["infs"]):
                flags.append(self._flag("nan", name, f"{name} {'gradient' if part == 'grad' else 'values'} "
                                        f"hold {s['nans']} NaN and {s['infs']} Inf"))
        g = e["grad"]
        if g is None or g["norm"] is None:
            return
        if g["norm"] < self.vanish:
            flags.append(self._flag("vanishing_gradient", name, f"gradient norm of {name} is {g['norm']:.3g} "
                                    f"(< {self.vanish:g})"))
        elif g["norm"] > self.explode:
            flags.append(self._flag("exploding_gradient", name, f"gradient norm of {name} is {g['norm']:.3g} "
                                    f"(> {self.explode:g})"))

    def _flag(self, kind: str, name: str, message: str) -> dict[str, Any]:
        return {"step": self.step_count, "kind": kind, "name": name, "message": message}

    # -- reading back ------------------------------------------------------------------------------
    def series(self, name: str, key: str) -> tuple[list[int], list[Any]]:
        """(steps, values) of ``key`` for parameter ``name``: ``"param.norm"``, ``"grad.std"``,
        ``"update_ratio"``..."""
        steps, values = [], []
        for r in self.records:
            e = r["params"].get(name)
            if e is None:
                continue
            v: Any = e
            for k in key.split("."):
                v = v.get(k) if isinstance(v, dict) else None
            steps.append(r["step"])
            values.append(v)
        return steps, values

    def layer_table(self, record: dict[str, Any] | None = None) -> tuple[list[str], list[list[Any]]]:
        """Headers and rows (one per parameter) of a record, the latest by default, as data."""
        rec = record if record is not None else (self.records[-1] if self.records else None)
        headers = ["parameter", "shape", "mean", "std", "norm", "grad norm", "update/weight", "flags"]
        if rec is None:
            return headers, []
        kinds: dict[str, list[str]] = {}
        for f in rec["flags"]:
            kinds.setdefault(f["name"], []).append(f["kind"])
        rows = []
        for name, e in rec["params"].items():
            p, g = e["param"], e["grad"]
            rows.append([name, e["shape"], p["mean"], p["std"], p["norm"], g["norm"] if g else None,
                         e["update_ratio"], kinds.get(name, [])])
        for name, a in rec["activations"].items():
            rows.append([name + " (ReLU)", [a["units"]], None, None, None, None, None,
                         [f"dead {a['dead_fraction']:.0%}"] + kinds.get(name, [])])
        return headers, rows

    def close(self) -> None:
        """Remove the hooks and close the file (idempotent)."""
        self._closed = True
        self._detach_activation_hooks()
        self._stop_update_record()
        if self._restore is not None:
            self._restore()
            self._restore = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _update_ratio(a: np.ndarray, before: np.ndarray, wn: float) -> float:
    """``||a - before|| / ||before||`` (``wn``). ``before`` (the snapshot buffer, not needed
    afterwards) receives the difference when it is float32/float64: no temporary is allocated."""
    if before.dtype in (np.float32, np.float64) and before.flags.c_contiguous:
        np.subtract(a, before, out=before)
        d = before.reshape(-1)
    else:
        d = np.subtract(a, before, dtype=np.float32 if a.dtype.itemsize <= 4 else None).reshape(-1)
    return _ratio_of(math.sqrt(float(np.dot(d, d))), wn)


def _ratio_of(dn: float, wn: float) -> float:
    return dn / wn if wn > 0 else (0.0 if dn == 0 else float("inf"))


def _json_line(rec: dict[str, Any]) -> str:
    """One strict-JSON line. A record of plain finite numbers is dumped as it is; one holding
    NaN/Inf or NumPy scalars goes through :func:`_clean` first."""
    try:
        line = json.dumps(rec)
    except TypeError:
        line = None
    if line is None or "NaN" in line or "Infinity" in line:
        line = json.dumps(_clean(rec), allow_nan=False)
    return line + "\n"


def _clean(x: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, NumPy scalars Python numbers."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
