"""weightwise: a deep-learning framework on NumPy with PyTorch's API, built around parameters.

`import weightwise as torch` runs PyTorch code written for the CPU: tensors, autograd, nn,
optim, data loading, and files that other programs read.
"""

from __future__ import annotations

from . import (
    _tensor_methods,  # noqa: F401
    autograd,
    cuda,
    return_types,
)
from . import tensor as _tensor_module  # noqa: I001  (Tensor first, then the ops that attach to it)
from ._dtype import (
    bfloat16,
    double,
    dtype,
    float,
    float8_e4m3fn,
    float8_e5m2,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from ._dtype import (
    bool_ as bool,
)
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    asarray,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .ops.activation import relu
from .ops.elementwise import (
    abs,
    add,
    allclose,
    ceil,
    clamp,
    cos,
    div,
    eq,
    equal,
    exp,
    floor,
    floor_divide,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    log1p,
    log2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    reciprocal,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tanh,
    trunc,
    where,
)
from .ops.linalg import addmm, bmm, dot, matmul, mm
from .ops.scatter import scatter, scatter_add, tile
from .ops.movement import (
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    flatten,
    flip,
    gather,
    index_select,
    masked_fill,
    narrow,
    nonzero,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    t,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
)
from .ops.reduce import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumsum,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    softmax,
    std,
    sum,
    var,
)
from ._tensor_str import get_printoptions, printoptions, set_printoptions
from .tensor import Size, Tensor, device

clip = clamp
multiply = mul
divide = div
subtract = sub
absolute = abs
negative = neg
swapaxes = transpose


def is_tensor(obj: object) -> builtins_bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> builtins_int:
    return input.numel()


def clone(input: Tensor) -> Tensor:
    return input.clone()


def detach(input: Tensor) -> Tensor:
    return input.detach()


def is_floating_point(input: Tensor) -> builtins_bool:
    return input.is_floating_point()


import builtins as _builtins  # noqa: E402

builtins_bool = _builtins.bool
builtins_int = _builtins.int

from . import random  # noqa: E402
from .random import (  # noqa: E402
    Generator,
    default_generator,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)


def get_rng_state() -> Tensor:
    """The default generator's state as a uint8 tensor (the same 5056 bytes as PyTorch's)."""
    return Tensor._make(random.get_rng_state())

from . import data, diagnostics, io, nn, onnx, optim, utils  # noqa: E402
from .diagnostics import TrainingMonitor, summary  # noqa: E402
from .io import SerializationError, load, save  # noqa: E402

__version__ = "0.1.0"
