"""`weightwise.data`: a small real data set shipped in the package (never downloaded).

The 8x8 handwritten digits: 1,797 images of the digits 0-9, 64 pixels each in 0..16, from the
UCI "Optical Recognition of Handwritten Digits" data set (Alpaydin & Kaynak, 1998, CC BY 4.0)
as scikit-learn ships it (BSD-3). See `digits.rst` and `digits_LICENSE.rst` beside this file.

Example:
    >>> from weightwise.data import load_digits, digits_split
    >>> x, y = load_digits()              # (1797, 64) float32 in [0, 1], (1797,) int64
    >>> x_train, y_train, x_test, y_test = digits_split()   # 1437 / 360 samples
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

from ..tensor import Tensor

__all__ = ["DIGITS_SPLIT_SEED", "DIGITS_TEST_SIZE", "digits_description", "digits_split", "load_digits"]

DIGITS_TEST_SIZE = 360
DIGITS_SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    with resources.files(__package__).joinpath("digits.csv.gz").open("rb") as raw, gzip.open(raw, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = table[:, :-1] / np.float32(16.0)
    labels = table[:, -1].astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_digits() -> tuple[Tensor, Tensor]:
    """The 1,797 digits: images (1797, 64) float32 scaled from 0..16 to [0, 1], labels (1797,) int64.

    Each row is an 8x8 image flattened row by row (`x.reshape(-1, 8, 8)` restores it). The
    tensors are fresh copies: changing them does not change the next call's result.
    """
    images, labels = _digits_arrays()
    return Tensor._make(images.copy()), Tensor._make(labels.copy())


def digits_split(test_size: int = DIGITS_TEST_SIZE, seed: int = DIGITS_SPLIT_SEED) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A fixed train/test split of the digits: (x_train, y_train, x_test, y_test).

    The order is `randperm(1797)` of a private generator seeded with `seed` (PyTorch's stream,
    so `torch.randperm(1797, generator=torch.Generator().manual_seed(0))` gives the same split);
    the last `test_size` samples of that order are the test set. The defaults (360 test,
    1,437 train, seed 0) are the split every example and benchmark uses. The global random
    state is not touched.
    """
    from ..random import Generator

    images, labels = _digits_arrays()
    n = images.shape[0]
    if not 0 < test_size < n:
        raise ValueError(f"digits_split(): test_size must be in [1, {n - 1}], got {test_size}")
    perm = Generator().manual_seed(seed)._randperm(n)
    train, test = perm[: n - test_size], perm[n - test_size:]
    return (Tensor._make(images[train]), Tensor._make(labels[train]),
            Tensor._make(images[test]), Tensor._make(labels[test]))


def digits_description() -> str:
    """The data set's description (`digits.rst`), with its sources and references."""
    return resources.files(__package__).joinpath("digits.rst").read_text(encoding="utf-8")
