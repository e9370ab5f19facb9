"""`weightwise.nn`: modules, parameters, layers, losses and initialisers (PyTorch's names)."""

from . import functional  # noqa: F401
from . import init
from .activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .activation import __all__ as _activation_all
from .batchnorm import BatchNorm1d
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import Dropout
from .flatten import Flatten, Unflatten
from .lazy import LazyModuleMixin
from .linear import Bilinear, Identity, LazyLinear, Linear
from .module import Module
from .normalization import GroupNorm, LayerNorm, RMSNorm
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from .sparse import Embedding

# Beyond PyTorch: visible ties, one pattern language, load plans, provenance. The modules keep
# their names (`nn.select.init_`, `nn.provenance.provenance`); the main entry points are here too.
from . import loadplan, provenance, select, ties
from .loadplan import LoadPlan, plan_load
from .select import Selector, freeze, param_groups, unfreeze
from .ties import tie, tie_groups, tied_with, untie

from . import utils
from .loss import *  # noqa: F403
from .loss import __all__ as _loss_all

__all__ = [
    "BatchNorm1d", "Bilinear", "Buffer", "Dropout", "ELU", "Embedding", "Flatten", "GELU", "Identity",
    "GroupNorm", "LayerNorm", "RMSNorm", "LazyLinear", "LazyModuleMixin", "LeakyReLU", "Linear", "LogSoftmax", "Module", "ModuleDict",
    "ModuleList", "Parameter", "ParameterDict", "ParameterList", "ReLU", "Sequential", "SiLU", "Sigmoid",
    "Softmax", "Tanh", "Unflatten", "UninitializedBuffer", "UninitializedParameter", "functional", "init",
    "LoadPlan", "plan_load", "Selector", "freeze", "param_groups", "unfreeze", "tie", "tie_groups", "tied_with", "untie",
    "loadplan", "provenance", "select", "ties",
]
__all__ += [n for n in _activation_all if n not in __all__] + _loss_all + ["utils"]
