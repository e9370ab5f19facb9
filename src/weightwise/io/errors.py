"""The one exception every reader raises for a file it cannot trust."""

from __future__ import annotations

import os
from typing import Any


class SerializationError(ValueError):
    """A malformed, truncated, hostile or unsupported file.

    The message starts with the file's name and states the exact problem, e.g.
    ``model.safetensors: tensor 'w' declares 4096 bytes but its offsets span 4092``.
    Subclasses ``ValueError`` so that code catching bad input generically still works.
    """

    def __init__(self, source: Any, problem: str) -> None:
        self.source = describe(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


def describe(source: Any) -> str:
    """A short human name for a path or a file object (``<bytes>`` when it has none)."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)  # type: ignore[return-value]
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(source).__name__}>" if source is not None else "<bytes>"
