"""The CUDA namespace on a CPU-only framework: the book's device code runs and finds no GPU."""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_device() -> int:
    raise AssertionError("Torch not compiled with CUDA enabled")


def manual_seed(seed: int) -> None:
    """No GPU, nothing to seed (PyTorch does the same silently without CUDA)."""


def manual_seed_all(seed: int) -> None:
    """No GPU, nothing to seed."""


def synchronize(device: object = None) -> None:
    """Nothing runs asynchronously on the CPU."""
