"""`weightwise.nn`: modules, parameters, layers, losses and initialisers (PyTorch's names)."""

from . import functional  # noqa: F401
