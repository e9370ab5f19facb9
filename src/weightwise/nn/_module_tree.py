"""`Module`'s walks over its tree: children, descendants, parameters, buffers, dotted lookups, `apply`.

These functions are methods of `Module`: `module.py` assigns each one in the class body under
the same name, so they keep PyTorch's names, signatures and docstrings, and `Module` stays one
class with nothing in between. They live here so that `module.py` holds the attribute routing
and the call path, and this file holds everything that walks the tree.

One generic walker, `_named_members`, serves `named_parameters` and `named_buffers` (a memo set
drops a tensor seen twice, so a tied parameter is listed once, under its first name). `_walk` is
iterative so that deep models need no recursion. `apply` visits children first, then self.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..tensor import Tensor
from .parameter import Parameter

if TYPE_CHECKING:
    from .module import Module


def _walk(self: Module, prefix: str = "", remove_duplicate: bool = True) -> list[tuple[str, Module]]:
    """(path, module) pairs in pre-order, iteratively (deep models need no recursion)."""
    out: list[tuple[str, Module]] = []
    seen: set[int] = set()
    stack: list[tuple[str, Module]] = [(prefix, self)]
    while stack:
        path, mod = stack.pop()
        if remove_duplicate:
            if id(mod) in seen:
                continue
            seen.add(id(mod))
        out.append((path, mod))
        kids = mod.__dict__["_modules"]
        if kids:
            base = path + "." if path else ""
            stack.extend((base + k, m) for k, m in reversed(kids.items()) if m is not None)
    return out


def named_modules(self: Module, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
    """(path, module) for this module and every descendant; a shared module once unless `remove_duplicate=False`."""
    if memo is None:
        yield from self._walk(prefix, remove_duplicate)
        return
    if self not in memo:
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)


def modules(self: Module) -> Iterator[Module]:
    for _, m in self.named_modules():
        yield m


def named_children(self: Module) -> Iterator[tuple[str, Module]]:
    memo: set[int] = set()
    for name, module in self._modules.items():
        if module is not None and id(module) not in memo:
            memo.add(id(module))
            yield name, module


def children(self: Module) -> Iterator[Module]:
    for _, m in self.named_children():
        yield m


def apply(self: Module, fn: Callable[[Module], Any]) -> Module:
    """Call `fn` on every child (recursively, children first), then on self; returns self.

    As PyTorch: each parent visits its distinct children, so a module listed twice in one
    parent is visited once, but a module shared by two different parents is visited twice
    (once under each).
    """
    cls = type(self)
    if cls.children is children and cls.named_children is named_children:
        kids = self.__dict__["_modules"]
        if kids:  # `children()` inlined
            seen: set[int] = set()
            for module in kids.values():
                if module is not None and id(module) not in seen:
                    seen.add(id(module))
                    module.apply(fn)
    else:
        for module in self.children():
            module.apply(fn)
    fn(self)
    return self


def _named_members(self: Module, get_members_fn: Callable[[Module], Any], prefix: str = "", recurse: bool = True,
                   remove_duplicate: bool = True) -> Iterator[tuple[str, Any]]:
    """The generic walker: (dotted name, member) over this module (and descendants)."""
    modules = self._walk(prefix, remove_duplicate) if recurse else [(prefix, self)]
    out: list[tuple[str, Any]] = []
    memo: set[int] = set()
    for module_prefix, module in modules:
        members = get_members_fn(module)
        if not members:
            continue
        base = module_prefix + "." if module_prefix else ""
        for k, v in members:
            if v is None:
                continue
            if remove_duplicate:
                if id(v) in memo:
                    continue
                memo.add(id(v))
            out.append((base + k, v))
    return iter(out)


def _params_of(m: Module) -> Any:
    return m.__dict__["_parameters"].items()


def _buffers_of(m: Module) -> Any:
    return m.__dict__["_buffers"].items()


def named_parameters(self: Module, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
    """(dotted name, parameter); a tensor shared by several modules is listed once (first name)."""
    return self._named_members(_params_of, prefix, recurse, remove_duplicate)


def parameters(self: Module, recurse: bool = True) -> Iterator[Parameter]:
    for _, p in self.named_parameters(recurse=recurse):
        yield p


def named_buffers(self: Module, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
    return self._named_members(_buffers_of, prefix, recurse, remove_duplicate)


def buffers(self: Module, recurse: bool = True) -> Iterator[Tensor]:
    for _, b in self.named_buffers(recurse=recurse):
        yield b


def get_submodule(self: Module, target: str) -> Module:
    """The module at dotted path `target` ('' is self)."""
    from .module import Module

    if target == "":
        return self
    mod: Module = self
    for item in target.split("."):
        if not hasattr(mod, item):
            raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
        mod = getattr(mod, item)
        if not isinstance(mod, Module):
            raise AttributeError("`" + item + "` is not an nn.Module")
    return mod


def set_submodule(self: Module, target: str, module: Module, strict: bool = False) -> None:
    from .module import Module

    if target == "":
        raise ValueError("Cannot set the submodule without a target name!")
    *path, last = target.split(".")
    parent = self.get_submodule(".".join(path))
    if strict and not hasattr(parent, last):
        raise AttributeError(parent._get_name() + " has no attribute `" + last + "`")
    if hasattr(parent, last) and not isinstance(getattr(parent, last), Module):
        raise AttributeError("`" + last + "` is not an nn.Module")
    setattr(parent, last, module)


def get_parameter(self: Module, target: str) -> Parameter:
    module_path, _, param_name = target.rpartition(".")
    mod = self.get_submodule(module_path)
    if not hasattr(mod, param_name):
        raise AttributeError(mod._get_name() + " has no attribute `" + param_name + "`")
    param = getattr(mod, param_name)
    if not isinstance(param, Parameter):
        raise AttributeError("`" + param_name + "` is not an nn.Parameter")
    return param


def get_buffer(self: Module, target: str) -> Tensor:
    module_path, _, buffer_name = target.rpartition(".")
    mod = self.get_submodule(module_path)
    if not hasattr(mod, buffer_name):
        raise AttributeError(mod._get_name() + " has no attribute `" + buffer_name + "`")
    buffer = getattr(mod, buffer_name)
    if buffer_name not in mod._buffers:
        raise AttributeError("`" + buffer_name + "` is not a buffer")
    return buffer
