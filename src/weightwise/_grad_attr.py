"""What `Tensor.grad` says and checks, as PyTorch: the warning for a non-leaf's `.grad` (and for
`float()` of a tensor in the graph), and the errors for assigning a gradient of the wrong type,
dtype or size."""

from __future__ import annotations

from typing import Any

import numpy as np

NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
    "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
    "you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information."
)

SCALAR_OF_GRAPH = ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                   "Consider using tensor.detach() first.")

# C++ element type names (the gradient's, in PyTorch's message) and scalar type names (the tensor's)
_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
        "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}
_SCALAR = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
           "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def check_grad(tensor: Any, grad: Any) -> None:
    """Raise as PyTorch does when `grad` cannot be the `.grad` of `tensor`."""
    from .tensor import Tensor

    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(grad).__name__}")
    a, g = tensor._a, grad._a
    if g.dtype != a.dtype:
        gname, tname = np.dtype(g.dtype).name, np.dtype(a.dtype).name
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{_CPP.get(gname, gname)}' to a tensor with grad_dtype "
            f"'{_SCALAR.get(tname, tname)}'. The gradient must match the tensor's grad_dtype (defaults to the "
            "tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow "
            "any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break "
            "downstream systems that assume they match."
        )
    if g.shape != a.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(g.shape)}' to a tensor of size '{list(a.shape)}'. "
            "Please ensure that the gradient and the tensor are the same size"
        )
