"""`Optimizer`: parameter groups, per-parameter state, zero_grad, state_dict/load_state_dict.

The layout of `state_dict()` is PyTorch's: `{'state': {0: {...}}, 'param_groups': [{...,
'params': [0, 1]}]}`, parameters numbered in group order. A parameter used twice in a model
(a tied parameter) is one parameter here: `Module.parameters()` yields it once, and giving it
twice is an error across groups and a warning within one, as in PyTorch.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter, defaultdict
from typing import Any, Callable, NamedTuple

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _RequiredParameter()


def check_arg(ok: bool, message: str, optimizer: str) -> None:
    """Raise PyTorch's ValueError for a bad hyper-parameter, naming the optimizer."""
    if not ok:
        raise ValueError(f"{message} ({optimizer})")


# Parameters of at most this many elements are updated together, as one flat array per kind of
# state: one run of the update rule (a dozen NumPy calls) over all of them instead of a dozen
# calls for each. Larger ones are updated one by one, in cache-sized slices.
_SMALL = 1 << 16
_MIN_BATCH = 4  # with fewer small parameters than this, the one-by-one loop costs no more


class _Batch(NamedTuple):
    """Small parameters updated together, with their state dicts (in the same order)."""

    params: list[Tensor]
    states: list[dict[str, Any]]


def _step_of(st: dict[str, Any]) -> float:
    return float(st["step"]._a)


class Optimizer:
    """Base class: holds `param_groups` (dicts of hyper-parameters plus `'params'`) and `state`.

    Subclasses implement `step()`, reading each group's hyper-parameters and calling a pure
    update rule from `weightwise.optim._functional` on each large parameter that has a gradient,
    and once on each batch of small ones (see `_split_small`).
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._step_pre_hooks: dict[int, Callable] = {}
        self._step_post_hooks: dict[int, Callable] = {}
        self._hook_id = 0
        self._flat_cache: dict[tuple[Any, ...], np.ndarray] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {params.type()} ({type(self).__name__})"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"optimizer got an empty parameter list ({type(self).__name__})")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (the rest from `defaults`)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        name = type(self).__name__
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__} ({name})")
            if p.grad_fn is not None:
                raise ValueError(f"can't optimize a non-leaf Tensor ({name}: a tensor of shape {list(p.shape)} with grad_fn={p.grad_fn.name()})")
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {key}")
            param_group.setdefault(key, default)
        ids = [id(p) for p in param_group["params"]]
        if len(set(ids)) != len(ids):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                f"an error; see github.com/pytorch/pytorch/issues/40967 for more information ({name})",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen & set(ids):
            raise ValueError(f"some parameters appear in more than one parameter group ({name})")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients and hooks

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    p._grad._a.fill(0)

    def register_step_pre_hook(self, hook: Callable) -> _Handle:
        """`hook(optimizer, args, kwargs)` runs before each `step()`."""
        return self._register(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _Handle:
        """`hook(optimizer, args, kwargs)` runs after each `step()`."""
        return self._register(self._step_post_hooks, hook)

    def _register(self, table: dict[int, Callable], hook: Callable) -> _Handle:
        self._hook_id += 1
        table[self._hook_id] = hook
        return _Handle(table, self._hook_id)

    def _run_step(self, closure: Callable[[], Any] | None) -> Any:
        for hook in list(self._step_pre_hooks.values()):
            hook(self, (), {})
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # inf/nan gradients, overflow, 0/0 with eps=0: the IEEE result, silently, as PyTorch.
        # One errstate for the whole step (about 1 us), not one per parameter.
        with np.errstate(all="ignore"):
            for group in self.param_groups:
                self._update_group(group)
        for hook in list(self._step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; `closure` re-evaluates the loss first."""
        return self._run_step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ batches of small parameters

    def _with_grads(self, group: dict[str, Any]) -> tuple[list[Tensor], list[dict[str, Any]]]:
        """The group's parameters that have a gradient, and their state dicts (same order)."""
        params = [p for p in group["params"] if p._grad is not None]
        state = self.state
        return params, [state[p] for p in params]

    def _record_for(self, p: Tensor) -> list[tuple[float, float]] | None:
        """Where the update rule reports `p`'s update on a recorded step (None otherwise)."""
        rec = self._update_record
        return None if rec is None else rec.setdefault(id(p), [])

    def _split_small(self, params: list[Tensor], states: list[dict[str, Any]],
                     key: Callable[[dict[str, Any]], Any] = lambda st: None,
                     ) -> tuple[list[tuple[Tensor, dict[str, Any]]], list[_Batch]]:
        """((parameter, state) pairs to update one by one, batches of small ones to update as one
        flat array).

        A batch holds parameters of one dtype whose states are equal under `key` (e.g. the step
        count), whose gradient has their dtype, and whose memory no other parameter shares (views
        of one array could overlap: those are updated one after the other).
        Nothing is batched on a step whose update norms are reported per parameter, nor when a
        parameter is listed twice (it is updated twice, in order).
        """
        pairs = list(zip(params, states))
        if self._update_record is not None or len({id(p) for p in params}) != len(params):
            return pairs, []
        single: list[tuple[Tensor, dict[str, Any]]] = []
        groups: dict[Any, _Batch] = {}
        owners = Counter(id(p._a if p._a.base is None else p._a.base) for p in params)
        for p, st in pairs:
            a = p._a
            if (a.size <= _SMALL and owners[id(a if a.base is None else a.base)] == 1
                    and p._grad._a.dtype == a.dtype):  # type: ignore[union-attr]
                k = (a.dtype, key(st))
                batch = groups.get(k)
                if batch is None:
                    batch = groups[k] = _Batch([], [])
                batch.params.append(p)
                batch.states.append(st)
            else:
                single.append((p, st))
        batches: list[_Batch] = []
        for batch in groups.values():
            if len(batch.params) >= _MIN_BATCH:
                batches.append(batch)
            else:
                single.extend(zip(batch.params, batch.states))
        return single, batches

    def _flat_state(self, batch: _Batch, key: str) -> np.ndarray:
        """`state[p][key]` of the batch's parameters back to back in one array. Each state tensor
        becomes a view of it, so the state that users read, save and load stays per parameter."""
        tensors = [st[key] for st in batch.states]
        ident = (key, *map(id, tensors))
        flat = self._flat_cache.get(ident)
        if flat is not None and all(t._a.base is flat for t in tensors):
            return flat
        flat = np.concatenate([t._a.reshape(-1) for t in tensors])
        if len(self._flat_cache) >= 32:  # batches changed often (params without grads): start afresh
            self._flat_cache.clear()
        offset = 0
        for t in tensors:
            n = t._a.size
            t._a = flat[offset:offset + n].reshape(t._a.shape)
            offset += n
        self._flat_cache[ident] = flat
        return flat

    def _flat_step(self, batch: _Batch) -> float:
        """Count one more step for every parameter of the batch (their `step` tensors are views
        of one array, equal by construction); return it."""
        steps = self._flat_state(batch, "step")
        steps += 1
        return float(steps[0])

    @staticmethod
    def _flat_params(batch: _Batch) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the batch's parameters and of their gradients, each back to back in one array."""
        return (np.concatenate([p._a.reshape(-1) for p in batch.params]),
                np.concatenate([p._grad._a.reshape(-1) for p in batch.params]))  # type: ignore[union-attr]

    @staticmethod
    def _write_back(batch: _Batch, flat: np.ndarray) -> None:
        """Copy the updated flat parameters back into each parameter (in place: views stay valid)."""
        offset = 0
        for p in batch.params:
            a = p._a
            np.copyto(a, flat[offset:offset + a.size].reshape(a.shape))
            offset += a.size
            p._vc[0] += 1

    # ------------------------------------------------------------------ update records
    # A training monitor sets `_update_record` to {} before a step it records; the update rules
    # then append, per parameter, (||update||^2, ||param before||^2) for each slice they update,
    # so the monitor's update-to-weight ratio needs no copy of the weights.
    _update_record: dict[int, list[tuple[float, float]]] | None = None

    def _reports_updates(self, group: dict[str, Any]) -> bool:
        """Whether `_update_group` reports the whole update of `group`'s parameters (see above)."""
        return False

    def _reported_params(self) -> set[int]:
        """`id`s of the parameters whose updates the next step will report when asked."""
        return {id(p) for g in self.param_groups if self._reports_updates(g) for p in g["params"]}

    # ------------------------------------------------------------------ state dicts

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: value}}, 'param_groups': [{hyper-parameters, 'params': [indices]}]}."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: v for p, v in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state; resuming continues the same trajectory."""
        name = type(self).__name__
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict(): expected a dict with 'state' and 'param_groups'") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({name}.load_state_dict(): {len(saved_groups)} saved, {len(self.param_groups)} in the optimizer)"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group "
                    f"({name}.load_state_dict(): group {i} has {len(s['params'])} saved parameters, "
                    f"the optimizer has {len(g['params'])})"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            for p, idx in zip(g["params"], s["params"]):
                id_map[idx] = p
        self.state = defaultdict(dict)
        for idx, values in saved_state.items():
            if idx not in id_map:
                continue
            p = id_map[idx]
            self.state[p] = {k: self._cast_state(p, k, v) for k, v in values.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            ng = copy.deepcopy({k: v for k, v in s.items() if k != "params"})
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(p: Tensor, key: str, value: Any) -> Any:
        """Copy a saved state value; tensors other than `step` take the parameter's dtype."""
        if isinstance(value, Tensor):
            a = value._a
            if key != "step" and a.dtype != p._a.dtype:
                return Tensor._make(a.astype(p._a.dtype))
            return Tensor._make(np.array(a, copy=True))
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor from a torch checkpoint
            a = value.detach().cpu().numpy()
            if key != "step" and a.dtype != p._a.dtype:
                a = a.astype(p._a.dtype)
            return Tensor._make(np.array(a, copy=True))
        return copy.deepcopy(value)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._step_pre_hooks, self._step_post_hooks, self._hook_id = {}, {}, 0

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += "\n"
            out += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        out += ")"
        return out


class _Handle:
    """What `register_*_hook` returns: `remove()` unregisters the hook."""

    def __init__(self, table: dict[int, Callable], key: int) -> None:
        self._table, self._key = table, key

    def remove(self) -> None:
        self._table.pop(self._key, None)


def _scalar_step(state: dict[str, Any]) -> float:
    """Increment the float32 0-d `step` tensor in place and return its value, as PyTorch does."""
    st = state["step"]._a
    st += 1
    return float(st)


def _zeros_state(p: Tensor) -> Tensor:
    return Tensor._make(np.zeros_like(p._a))


def _step_tensor(value: float = 0.0) -> Tensor:
    return Tensor._make(np.array(value, dtype=np.float32))
