"""`Module`: the base class of every layer and model, with PyTorch's semantics.

Attribute assignment routes values into three ordered dicts: `_parameters` (Parameters),
`_buffers` (tensors registered with `register_buffer`) and `_modules` (child modules). One
generic walker, `_named_members`, serves `named_parameters` and `named_buffers` (a memo set drops
a tensor seen twice); `state_dict` walks without dropping duplicates, so a shared tensor is listed
under every path, as in PyTorch. `apply` visits children first.

This file holds what every module does all the time: registration, attribute routing, `__call__`,
the repr and the state_dict entry points. The other methods are written as functions in three
files, by job, and assigned in the class body under their own names, so `Module` stays a single
class (no mixins, PyTorch's MRO) and its whole API reads in one place:
`_module_hooks.py` (hook registration), `_module_tree.py` (walks and dotted lookups, `apply`) and
`_module_modes.py` (train/eval, zero_grad, dtype conversion).
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Mapping

from ..tensor import Tensor
from . import _module_hooks as _hooks
from . import _module_modes as _modes
from . import _module_tree as _tree
from . import _state
from ._module_hooks import _with_module  # noqa: F401  (pickled load_state_dict pre-hooks name it here)
from ._state import register_module_forward_hook, register_module_forward_pre_hook
from .hooks import call_module_with_hooks
from .parameter import Buffer, Parameter, is_lazy

__all__ = ["Module", "register_module_forward_hook", "register_module_forward_pre_hook"]


def _typename(obj: Any) -> str:
    """`torch.typename`: `'torch.FloatTensor'` for tensors, `'module.QualName'` otherwise."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def _addindent(s_: str, num_spaces: int) -> str:
    s = s_.split("\n")
    if len(s) == 1:
        return s_
    first = s.pop(0)
    return first + "\n" + "\n".join((num_spaces * " ") + line for line in s)


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: the missing and the unexpected keys."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _forward_unimplemented(self: Module, *input: Any) -> None:
    raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')


_HOOK_TABLES = ("_backward_pre_hooks", "_backward_hooks", "_forward_hooks", "_forward_hooks_with_kwargs",
                "_forward_hooks_always_called", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
                "_state_dict_hooks", "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                "_load_state_dict_post_hooks")


class Module:
    """Base class for all neural network modules; subclasses define `__init__` and `forward`.

    Example:
        >>> class Net(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
    """

    dump_patches: bool = False
    _version: int = 1
    training: bool
    call_super_init: bool = False
    forward: Callable[..., Any] = _forward_unimplemented

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} were given")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_is_full_backward_hook"] = None
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = OrderedDict()
        d["_forward_hooks_always_called"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()
        d["_modules"] = {}

    # ------------------------------------------------------------------ registration
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer (a tensor that is state but not a parameter, e.g. running statistics).

        Raises:
            KeyError: the name is empty, contains '.', or is already another attribute.
            TypeError: the name is not a string, or `tensor` is neither a Tensor nor None.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' (torch Tensor or None required)")
        if isinstance(tensor, Buffer):
            persistent = tensor.persistent
            tensor = Tensor._make(tensor._a, tensor.requires_grad)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter under `name` (None registers an empty slot).

        Raises:
            KeyError: the name is empty, contains '.', or is already another attribute.
            TypeError: the name is not a string, or `param` is not a Parameter.
            ValueError: `param` is not a graph leaf.
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError('parameter name can\'t contain "."')
        if name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' (torch.nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created "
                f"explicitly. To express '{name}' as a function of another Tensor, compute the value in "
                "the forward() method."
            )
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under `name` (the attribute `self.<name>`).

        Raises:
            TypeError: `module` is not a Module, or the name is not a string.
            KeyError: the name is empty, contains '.', or is already another attribute.
        """
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias of `add_module`."""
        self.add_module(name, module)

    # ------------------------------------------------------------------ attributes
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d:
            p = d["_parameters"]
            if name in p:
                return p[name]
        if "_buffers" in d:
            b = d["_buffers"]
            if name in b:
                return b[name]
        if "_modules" in d:
            m = d["_modules"]
            if name in m:
                return m[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, d["_buffers"], d["_modules"], d["_non_persistent_buffers_set"])
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' (torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, params, d["_buffers"], d["_non_persistent_buffers_set"])
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' (torch.nn.Module or None expected)")
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer) or (buffers is not None and name in buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' (torch.nn.Buffer, torch.Tensor or None expected)")
            if isinstance(value, Buffer):
                persistent = value.persistent
            else:
                persistent = name not in d["_non_persistent_buffers_set"]
            if isinstance(value, Buffer) and buffers is not None and name not in buffers:
                self._remove_from(name, d, params, modules, d["_non_persistent_buffers_set"])
                self.register_buffer(name, value, persistent)
                return
            self.register_buffer(name, value, persistent)
            return
        object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name: str, *dicts_or_sets: Any) -> None:
        for d in dicts_or_sets:
            if d is not None and name in d:
                if isinstance(d, dict):
                    del d[name]
                else:
                    d.discard(name)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d.get("_parameters", ()):
            del d["_parameters"][name]
        elif name in d.get("_buffers", ()):
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d.get("_modules", ()):
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        module_attrs = dir(self.__class__)
        attrs = list(self.__dict__.keys())
        keys = module_attrs + attrs + list(self._parameters) + list(self._modules) + list(self._buffers)
        keys = [k for k in keys if not k[0].isdigit()]
        return sorted(set(keys))

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        # State pickled without some hook tables (older files): give them empty ones, as PyTorch.
        d = self.__dict__
        for key in _HOOK_TABLES:
            if not isinstance(d.get(key), OrderedDict):
                d[key] = OrderedDict(d.get(key) or ())
        d.setdefault("_is_full_backward_hook", None)
        d.setdefault("_non_persistent_buffers_set", set())

    # ------------------------------------------------------------------ calling
    def _get_name(self) -> str:
        return self.__class__.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks
                or self._backward_pre_hooks or _state.GLOBAL_HOOKS_ACTIVE[0]):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    _call_impl = __call__

    _call_with_hooks = call_module_with_hooks  # the slow path: hooks.py runs the hooks around forward

    # ------------------------------------------------------------------ hooks (_module_hooks.py)
    register_forward_pre_hook = _hooks.register_forward_pre_hook
    register_forward_hook = _hooks.register_forward_hook
    register_full_backward_pre_hook = _hooks.register_full_backward_pre_hook
    register_full_backward_hook = _hooks.register_full_backward_hook
    register_backward_hook = _hooks.register_backward_hook
    register_state_dict_pre_hook = _hooks.register_state_dict_pre_hook
    register_state_dict_post_hook = _hooks.register_state_dict_post_hook
    _register_state_dict_hook = _hooks.register_state_dict_post_hook
    register_load_state_dict_pre_hook = _hooks.register_load_state_dict_pre_hook
    _register_load_state_dict_pre_hook = _hooks._register_load_state_dict_pre_hook
    register_load_state_dict_post_hook = _hooks.register_load_state_dict_post_hook

    # ------------------------------------------------------------------ traversal (_module_tree.py)
    _walk = _tree._walk
    named_modules = _tree.named_modules
    modules = _tree.modules
    named_children = _tree.named_children
    children = _tree.children
    apply = _tree.apply
    _named_members = _tree._named_members
    named_parameters = _tree.named_parameters
    parameters = _tree.parameters
    named_buffers = _tree.named_buffers
    buffers = _tree.buffers
    get_submodule = _tree.get_submodule
    set_submodule = _tree.set_submodule
    get_parameter = _tree.get_parameter
    get_buffer = _tree.get_buffer

    # ------------------------------------------------------------------ modes and bulk changes (_module_modes.py)
    train = _modes.train
    eval = _modes.eval
    requires_grad_ = _modes.requires_grad_
    zero_grad = _modes.zero_grad
    _apply = _modes._apply
    to = _modes.to
    float = _modes.float
    double = _modes.double
    half = _modes.half
    bfloat16 = _modes.bfloat16
    type = _modes.type
    cpu = _modes.cpu
    cuda = _modes.cuda
    share_memory = _modes.share_memory

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside `Name(...)` in the repr; override in layers (`in_features=4, ...`)."""
        return ""

    def __repr__(self) -> str:
        extra_lines: list[str] = []
        extra_repr = self.extra_repr()
        if extra_repr:
            extra_lines = extra_repr.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = _addindent(repr(module), 2)
            child_lines.append("(" + key + "): " + mod_str)
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        return main_str + ")"

    # ------------------------------------------------------------------ state
    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> Any:
        from .state import module_state_dict

        if args:
            destination = args[0] if len(args) > 0 else destination
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        return module_state_dict(self, destination, prefix, keep_vars)

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        """This module's own parameters and persistent buffers into `destination` (no children)."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars or is_lazy(param) else param.detach()
        nonpersistent = self._non_persistent_buffers_set
        for name, buf in self._buffers.items():
            if buf is not None and name not in nonpersistent:
                destination[prefix + name] = buf if keep_vars or is_lazy(buf) else buf.detach()
        extra = getattr(type(self), "get_extra_state", None)
        if extra is not None and extra is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def get_extra_state(self) -> Any:
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. Please file an issue."
        )

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. Please file an issue."
        )

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from `state_dict` into this module (and its descendants).

        Everything is checked before anything is written: with any problem (missing or unexpected
        keys when `strict`, a shape mismatch, a value that is not a tensor) a RuntimeError lists
        every problem, in PyTorch's format, and the module is left unchanged. Values are copied
        under no-grad into the existing tensors, so tied parameters stay tied; with `assign=True`
        the tensors from `state_dict` are taken as they are (as Parameters where a Parameter was).

        Returns:
            `_IncompatibleKeys(missing_keys, unexpected_keys)`.
        """
        from .state import module_load_state_dict

        return module_load_state_dict(self, state_dict, strict, assign)

    def _load_from_state_dict(self, state_dict: Mapping[str, Any], prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        """Overridable per-module hook; by default the loader in `state.py` does all the work."""
        return None

    def __getstate__(self) -> dict:
        return self.__dict__.copy()


def _name_as_methods(*files: Any) -> None:
    """Make the methods assigned from `files` look as they did when written in the class body.

    Reprs (`<bound method Module.train of ...>`), `help()` and pickles go by a function's
    `__module__` and `__qualname__`; without this they would name the helper file instead. The
    `self: Module` annotation is there for the type checker only; `inspect.signature` shows the
    plain `self` of a method again.
    """
    names = {f.__name__ for f in files}
    for fn in vars(Module).values():
        if callable(fn) and getattr(fn, "__module__", None) in names:
            fn.__module__ = __name__
            fn.__qualname__ = f"Module.{fn.__name__}"
            fn.__annotations__.pop("self", None)


_name_as_methods(_hooks, _tree, _modes)
