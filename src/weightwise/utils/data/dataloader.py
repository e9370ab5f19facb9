"""`DataLoader` and `default_collate`: batches in PyTorch's order, with PyTorch's random draws.

Loading happens in the calling process (`num_workers` is accepted and ignored: NumPy indexing of
a TensorDataset is one call per tensor per batch, faster than any worker pool here).
"""

from __future__ import annotations

import collections.abc
import copy
from typing import Any, Callable, Iterator

import numpy as np

from ...tensor import Tensor
from .dataset import TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, _random_int64

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: Any) -> Any:
    """Stack a list of samples into a batch, recursively.

    Tensors and NumPy arrays are stacked on a new first dim; Python ints become int64 tensors and
    floats float64 tensors; bools a bool tensor; strings stay a list; dicts collate per key; tuples
    and lists collate per position (returned as a list, as PyTorch does; namedtuples keep their type).
    """
    from ...creation import tensor as _tensor

    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(b.requires_grad for b in batch):
            from ...ops.movement import stack

            return stack(batch)
        shapes = {b._a.shape for b in batch}
        if len(shapes) != 1:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {[list(s) for s in shapes]} (default_collate)"
            )
        return Tensor._make(np.stack([b._a for b in batch]))
    if isinstance(elem, np.ndarray):
        return Tensor._make(np.stack(batch))
    if isinstance(elem, np.generic):
        return Tensor._make(np.asarray(batch))
    if isinstance(elem, bool):
        return _tensor(batch)
    if isinstance(elem, int):
        return Tensor._make(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({k: default_collate([d[k] for d in batch]) for k in elem}) if isinstance(elem, dict) \
            else {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(s) for s in zip(*batch)]
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


class DataLoader:
    """Iterate over a dataset in batches.

    Args:
        dataset: a map-style dataset (`__getitem__` and `__len__`).
        batch_size: samples per batch (None: no batching, samples one by one).
        shuffle: a new random order each epoch (RandomSampler with `generator`).
        drop_last: drop the last incomplete batch.
        collate_fn: how to merge a list of samples (default: `default_collate`).
        generator: the random generator for shuffling (and the per-epoch base seed).

    Each `iter()` draws one int64 from `generator` (or the default generator) for the base seed
    first, as PyTorch does, so random streams stay in step with PyTorch's.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None, sampler: Any = None,
                 batch_sampler: Any = None, num_workers: int = 0, collate_fn: Callable[[list[Any]], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context: Any = None, generator: Any = None,
                 *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.prefetch_factor, self.persistent_workers = worker_init_fn, prefetch_factor, persistent_workers
        self._auto_collation = batch_sampler is not None
        self.collate_fn = collate_fn if collate_fn is not None else (default_collate if self._auto_collation else _convert)

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __iter__(self) -> Iterator[Any]:
        self._base_seed = _random_int64(self.generator)
        ds = self.dataset
        fast = (self._auto_collation and self.collate_fn is default_collate and type(ds) is TensorDataset
                and not any(t.requires_grad for t in ds.tensors))
        if fast:
            arrays = [t._a for t in ds.tensors]
            for batch in self._index_sampler:
                idx = np.asarray(batch, dtype=np.int64)
                # Fancy indexing gathers the rows in one call: the same batch as stacking them.
                yield [Tensor._make(a[idx]) for a in arrays]
            return
        getitems = getattr(ds, "__getitems__", None)
        for index in self._index_sampler:
            if self._auto_collation:
                data = getitems(index) if callable(getitems) else [ds[i] for i in index]
            else:
                data = ds[index]
            yield self.collate_fn(data)


def _convert(sample: Any) -> Any:
    """Without batching (PyTorch's default_convert): NumPy arrays and scalars become tensors
    (string and object arrays stay), tuples become lists, namedtuples and mappings keep their type."""
    if isinstance(sample, (np.ndarray, np.generic)) and not isinstance(sample, (np.str_, np.bytes_)):
        if sample.dtype.kind in "OSU":
            return sample
        return Tensor._make(np.asarray(sample))
    if isinstance(sample, tuple):
        if hasattr(sample, "_fields"):  # a namedtuple
            return type(sample)(*(_convert(s) for s in sample))
        return [_convert(s) for s in sample]  # as PyTorch (for backwards compatibility there)
    if isinstance(sample, list):
        return [_convert(s) for s in sample]
    if isinstance(sample, dict):
        out = copy.copy(sample)
        out.update({k: _convert(v) for k, v in sample.items()})
        return out
    return sample
