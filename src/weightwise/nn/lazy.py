"""`LazyModuleMixin`: parameters whose shapes are inferred from the first input."""

from __future__ import annotations

from typing import Any

from .parameter import is_lazy


class LazyModuleMixin:
    """Mixin for modules with `UninitializedParameter`s, materialised at the first call.

    A forward pre-hook calls `initialize_parameters(*args)`, then removes itself and turns the
    module into `cls_to_become` (e.g. `LazyLinear` becomes `Linear`). Loading a state dict
    into a lazy module materialises its parameters with the loaded shapes.
    """

    cls_to_become: Any = None

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[misc]
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self: Any) -> bool:
        return any(is_lazy(p) for p in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self: Any, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")


def _infer_parameters(module: Any, args: tuple, kwargs: dict) -> None:
    module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._initialize_hook.remove()
    del module._initialize_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become
