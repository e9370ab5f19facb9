"""A small ONNX graph builder: unique names, nodes, Constant nodes, opset-aware helpers.

It imports `onnx` only when a method that needs it runs, so that importing weightwise never
requires the optional extra.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class GraphBuilder:
    """Accumulates ONNX nodes in order; values are plain strings (ONNX value names)."""

    def __init__(self, onnx: Any, opset: int) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.nodes: list[Any] = []
        self.scope = ""  # module path of the op being converted, used in node names
        self._used: set[str] = set()
        self._const_cache: dict[tuple, tuple[str, np.ndarray]] = {}
        self._const_names: set[str] = set()
        # The op being converted: (grad_fn name, class name, module path, module class name).
        self.owner: tuple[str, str, str, str] = ("", "", "", "")
        # Every constant asked for, in order, with its owner (for the trace check).
        self.const_log: list[tuple[tuple[str, str, str, str], np.ndarray]] = []

    # ---------------------------------------------------------------------------- names
    def reserve(self, name: str) -> str:
        self._used.add(name)
        return name

    def fresh(self, hint: str) -> str:
        base = hint if hint not in self._used else None
        if base is not None:
            self._used.add(base)
            return base
        i = 1
        while f"{hint}_{i}" in self._used:
            i += 1
        name = f"{hint}_{i}"
        self._used.add(name)
        return name

    def is_const(self, name: str) -> bool:
        return name in self._const_names

    # ---------------------------------------------------------------------------- nodes
    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, **attrs: Any) -> Any:
        """Append one node; returns its output name (or a list when `n_out` > 1)."""
        prefix = f"/{self.scope}" if self.scope else ""
        outs = [self.fresh(f"{prefix}/{op_type}_output_{i}") for i in range(n_out)]
        node = self.helper.make_node(
            op_type, list(inputs), outs, name=self.fresh(f"{prefix}/{op_type}"),
            **{k: v for k, v in attrs.items() if v is not None},
        )
        self.nodes.append(node)
        return outs[0] if n_out == 1 else outs

    def const(self, value: Any, dtype: Any = None, hint: str = "Constant") -> str:
        """A Constant node holding `value` (small constants are shared by content)."""
        arr = np.asarray(value, dtype=dtype)
        if arr.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            arr = arr.astype(np.float32)
        self.const_log.append((self.owner, arr))
        key = None
        if arr.size <= 64:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            hit = self._const_cache.get(key)
            if hit is not None:
                return hit[0]
        name = self.fresh(f"/{self.scope}/{hint}_output_0" if self.scope else f"{hint}_output_0")
        tensor = self.onnx.numpy_helper.from_array(np.array(arr, order="C", copy=True), name)
        node = self.helper.make_node("Constant", [], [name], name=self.fresh(f"{hint}"), value=tensor)
        self.nodes.append(node)
        self._const_names.add(name)
        if key is not None:
            self._const_cache[key] = (name, arr)
        return name

    def i64(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def scalar(self, value: Any, like: np.dtype) -> str:
        return self.const(np.asarray(value, dtype=like))

    # ---------------------------------------------------------------------------- helpers
    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        """Reduce over `axes` (all when None) with the axes as input (opset >= 18) or attribute."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.op(op_type, [x], keepdims=keep)
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.i64(axes)], keepdims=keep)
        return self.op(op_type, [x], keepdims=keep, axes=axes)

    def squeeze(self, x: str, axes: Sequence[int]) -> str:
        return self.op("Squeeze", [x, self.i64(axes)])

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        return self.op("Unsqueeze", [x, self.i64(axes)])

    def reshape(self, x: str, shape: Sequence[int]) -> str:
        return self.op("Reshape", [x, self.i64(shape)])
