"""Loading into models and whole training checkpoints, through duck typing only.

A model is anything with ``state_dict()``, ``load_state_dict(sd, strict=...)`` and
``get_submodule(name)``; an optimizer or scheduler anything with ``state_dict()``/
``load_state_dict()``. Nothing here imports ``weightwise.nn``.
"""

from __future__ import annotations

import importlib
import os
from typing import IO, Any, Mapping

from . import _bridge
from ._api import load, open_checkpoint, save
from .structure import _memory_key


def _ties(state: Mapping[str, Any]) -> list[list[str]]:
    """Groups of names whose tensors are the same memory (what the file says is tied)."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, t in state.items():
        a = _bridge.as_array(t)
        if a is not None and a.size:
            groups.setdefault(_memory_key(a), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def _owner(model: Any, name: str) -> tuple[Any, str]:
    prefix, _, attr = name.rpartition(".")
    return (model.get_submodule(prefix) if prefix else model), attr


def _check(model: Any, state: Mapping[str, Any], strict: bool) -> None:
    own = model.state_dict()
    problems = []
    if strict:
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing:
            problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if unexpected:
            problems.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
    for k, t in state.items():
        if k in own:
            a, b = _bridge.as_array(t), _bridge.as_array(own[k])
            if a is not None and b is not None and a.shape != b.shape:
                problems.append(f"size mismatch for {k}: copying a param with shape {a.shape} from "
                                f"checkpoint, the shape in current model is {b.shape}.")
    if problems:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(model).__name__}:\n\t" + "\n\t".join(problems))


def load_into(model: Any, f: str | os.PathLike[str] | IO[bytes], strict: bool = True, *,
              verify: bool = True) -> Any:
    """Load a state-dict file into ``model``, re-tying what the file says is tied.

    Every check (keys with ``strict``, shapes) runs before anything changes; names that share
    one tensor in the file are made to share one Parameter in the model (the first name's), and
    the data is then copied with ``model.load_state_dict``. On any failure the ties are undone
    and the exception propagates, so the model is left as it was. Provenance recorded in the
    file is attached to the parameters as ``_provenance`` where they accept it.

    Returns:
        whatever ``model.load_state_dict`` returns (missing and unexpected keys).
    """
    state = load(f, verify=verify)
    if not isinstance(state, Mapping):
        raise TypeError(f"load_into(): the file holds a {type(state).__name__}, not a state dict")
    _check(model, state, strict)
    own = model.state_dict()
    buffers = {n for n, _ in model.named_buffers()} if hasattr(model, "named_buffers") else set()
    undo: list[tuple[Any, str, Any]] = []
    try:
        for group in _ties(state):
            names = [n for n in group if n in own and n not in buffers]  # buffers are copied
            if len(names) < 2:
                continue
            owner0, attr0 = _owner(model, names[0])
            keep = getattr(owner0, attr0)
            for n in names[1:]:
                owner, attr = _owner(model, n)
                old = getattr(owner, attr)
                if old is not keep:
                    setattr(owner, attr, keep)
                    undo.append((owner, attr, old))
        result = model.load_state_dict(state, strict=strict)
    except BaseException:
        for owner, attr, old in reversed(undo):
            setattr(owner, attr, old)
        raise
    _attach_provenance(model, f, own)
    return result


def _attach_provenance(model: Any, f: Any, own: Mapping[str, Any]) -> None:
    if not isinstance(f, (str, os.PathLike)):
        return
    try:
        with open_checkpoint(f, verify=False) as ck:
            prov = ck.provenance
    except (OSError, ValueError):
        return
    for name, record in prov.items():
        if name in own:
            try:
                owner, attr = _owner(model, name)
                getattr(owner, attr)._provenance = record
            except (AttributeError, TypeError):
                pass  # tensors that cannot hold attributes simply go without


def _random() -> Any:
    try:
        return importlib.import_module("weightwise.random")
    except ImportError:
        return None


def save_checkpoint(path: str | os.PathLike[str], *, model: Any = None, optimizer: Any = None,
                    scheduler: Any = None, step: int | None = None, rng: bool = True,
                    extra: Mapping[str, Any] | None = None, format: str | None = None,
                    metadata: Mapping[str, Any] | None = None) -> None:
    """Save model, optimizer, scheduler, step and the random state in one atomic file.

    Layout: ``{"model": ..., "optimizer": ..., "scheduler": ..., "step": ..., "rng": ...,
    "extra": ...}`` (absent parts omitted), so ``load`` gives it back as a plain dict.
    """
    obj: dict[str, Any] = {}
    for key, part in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
        if part is not None:
            obj[key] = part.state_dict()
    if step is not None:
        obj["step"] = step
    rnd = _random()
    if rng and rnd is not None and hasattr(rnd, "get_rng_state"):
        obj["rng"] = rnd.get_rng_state()
    if extra is not None:
        obj["extra"] = dict(extra)
    save(obj, path, format=format, metadata=metadata)


def load_checkpoint(path: str | os.PathLike[str], *, model: Any = None, optimizer: Any = None,
                    scheduler: Any = None, rng: bool = True, strict: bool = True,
                    verify: bool = True) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into the given objects; return the dict.

    The model goes through :func:`load_into` (checked first, ties restored), then the optimizer,
    the scheduler and the random state; ``ckpt["step"]`` says where to resume.
    """
    ck = load(path, verify=verify)
    if not isinstance(ck, dict):
        raise TypeError(f"load_checkpoint(): {path} holds a {type(ck).__name__}, not a checkpoint")
    if model is not None:
        if "model" not in ck:
            raise KeyError(f"load_checkpoint(): {path} has no model state")
        _check(model, ck["model"], strict)
        model.load_state_dict(ck["model"], strict=strict)
    for key, part in (("optimizer", optimizer), ("scheduler", scheduler)):
        if part is not None:
            if key not in ck:
                raise KeyError(f"load_checkpoint(): {path} has no {key} state")
            part.load_state_dict(ck[key])
    rnd = _random()
    if rng and "rng" in ck and rnd is not None and hasattr(rnd, "set_rng_state"):
        rnd.set_rng_state(ck["rng"])
    return ck  # type: ignore[no-any-return]
