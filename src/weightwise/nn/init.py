"""`nn.init`: PyTorch's initialisers, in place, under no-grad, drawing from the same generator.

Every function takes the tensor, writes it in place and returns it. After the same
`manual_seed`, the values are PyTorch's (the random streams are identical); `orthogonal_` may
differ by float32 rounding in the QR factorisation (NumPy factorises in float64).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from .. import random as _random
from ..autograd import no_grad
from ..tensor import Tensor
from .parameter import Parameter
from .provenance import deterministic, record_init

__all__ = [
    "calculate_gain", "constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_",
    "ones_", "orthogonal_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_", "xavier_uniform_",
    "zeros_",
]


def _gen(generator: Any) -> Any:
    return generator if generator is not None else _random.default_generator


def _write(tensor: Tensor, values: np.ndarray) -> Tensor:
    """Write `values` into the tensor's memory (a no-grad, in-place write) and bump its version."""
    tensor._a[...] = values
    tensor._vc[0] += 1
    return tensor


def calculate_gain(nonlinearity: str, param: Any = None) -> float:
    """The recommended gain for a nonlinearity: linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
    leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4.

    Raises:
        ValueError: unknown nonlinearity, or a slope that is not a number.
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


@record_init
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(a, b)."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


@record_init
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std^2)."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


@record_init
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b], by rejection (PyTorch's algorithm).

    When the interval holds more than 30% of the mass, normals outside [a, b] are redrawn (a
    whole tensor of normals per round, as PyTorch draws them); otherwise uniforms on [a, b] are
    accepted with probability pdf(x) / pdf(mode). Same seed, same numbers as PyTorch (the second
    path compares logarithms, where a one-ulp difference in `log` could in rare cases flip one
    acceptance).
    """
    def norm_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    gen = _gen(generator)
    arr = tensor._a
    dt = arr.dtype
    with no_grad():
        p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
        if p > 0.3:
            lo, hi = dt.type(a), dt.type(b)
            result = gen._normal(arr.shape, dt, mean, std)
            while True:
                mask = (result < lo) | (result > hi)
                if not mask.any():
                    break
                result = np.where(mask, gen._normal(arr.shape, dt, mean, std), result)
            return _write(tensor, result)
        mode = max(a, min(mean, b))
        log_peak = dt.type(-0.5 * ((mode - mean) / std) ** 2)

        def log_pdf(x: np.ndarray) -> np.ndarray:
            c = (x - dt.type(mean)) / dt.type(std)
            return (c * c) * dt.type(-0.5) - log_peak

        result = gen._uniform(arr.shape, dt, a, b)
        cand = log_pdf(result)
        pending = np.log(gen._uniform(arr.shape, dt)) > cand
        while pending.any():
            draw = gen._uniform(arr.shape, dt, a, b)
            result = np.where(pending, draw, result)
            cand = log_pdf(draw)
            pending = np.where(pending, np.log(gen._uniform(arr.shape, dt)) > cand, pending)
        return _write(tensor, result)


def _fill(tensor: Tensor, val: Any) -> Tensor:
    """`tensor.fill_(val)` under no-grad; a plain tensor and a Python number take the direct
    route (what `fill_` does under no-grad: one `ndarray.fill` and a version bump)."""
    if type(tensor) in _PLAIN and type(val) in _NUMBERS:
        tensor._a.fill(val)
        tensor._vc[0] += 1
        return tensor
    with no_grad():
        return tensor.fill_(val)


_PLAIN = (Tensor, Parameter)
_NUMBERS = (int, float, bool)


@record_init
@deterministic
def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    return _fill(tensor, val)


@record_init
@deterministic
def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1.0)


@record_init
@deterministic
def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0)


@record_init
@deterministic
def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal).

    Raises:
        ValueError: the tensor is not 2-D.
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        return _write(tensor, np.eye(*tensor._a.shape, dtype=tensor._a.dtype))


@record_init
@deterministic
def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-D (convolution) weight with the Dirac delta: convolution is the identity.

    Raises:
        ValueError: wrong rank, or dim 0 not divisible by `groups`.
    """
    dimensions = tensor.ndimension()
    if dimensions not in [3, 4, 5]:
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor._a.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    out = np.zeros(sizes, dtype=tensor._a.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            out[(g * out_chans_per_grp + d, d) + centre] = 1
    with no_grad():
        return _write(tensor, out)


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) = (size(1), size(0)) times the receptive field (product of dims 2..)."""
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    shape = tensor._a.shape
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


@record_init
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


@record_init
def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    """gain / sqrt(fan) for the Kaiming inits; None (after PyTorch's warning) for a zero-element tensor."""
    if 0 in tensor._a.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


@record_init
def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


@record_init
def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


@record_init
def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of a normal matrix, signs fixed by diag(R)
    (Saxe et al., 2013; Mezzadri, 2007). Dims after the first are flattened.

    Difference from PyTorch: the QR runs in float64 (NumPy) and is rounded to the tensor's
    dtype, so float32 values can differ from PyTorch's float32 LAPACK QR by about 1e-6.
    """
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor._a.shape[0]
    cols = tensor.numel() // rows
    flattened = _gen(generator)._normal((rows, cols), tensor._a.dtype, 0.0, 1.0)
    if rows < cols:
        flattened = flattened.T
    q, r = np.linalg.qr(flattened.astype(np.float64))
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    q = q.astype(tensor._a.dtype)
    with no_grad():
        _write(tensor, q.reshape(tensor._a.shape))
        tensor.mul_(gain)
    return tensor


@record_init
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """N(0, std^2) with a fraction `sparsity` of each column set to zero (Martens, 2010).

    As in PyTorch, the zero positions come from the default generator even when `generator`
    is given.
    """
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor._a.shape
    num_zeros = math.ceil(sparsity * rows)
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        for col_idx in range(cols):
            row_indices = _random.default_generator._randperm(rows)
            tensor._a[row_indices[:num_zeros], col_idx] = 0
        tensor._vc[0] += 1
    return tensor


def _make_deprecate(meth: Callable) -> Callable:
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"Deprecated: use `{new_name}`."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
