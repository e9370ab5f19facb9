"""Element types of the file formats, mapped to NumPy dtypes (the ML ones through ml_dtypes)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

# safetensors dtype codes -> NumPy dtypes (always little-endian on disk).
SAFETENSORS_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "C64": np.dtype("<c8"),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "F8_E8M0": np.dtype(ml_dtypes.float8_e8m0fnu),
}
_ST_CODE_BY_NP = {v: k for k, v in SAFETENSORS_DTYPES.items()}

# The reference writer orders tensors by dtype (its enum order, largest first), then by name.
_ST_ORDER = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
             "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"]
ST_RANK = {code: i for i, code in enumerate(_ST_ORDER)}


def safetensors_code(dt: np.dtype) -> str:
    """The safetensors code of a NumPy dtype; TypeError for one the format cannot hold."""
    dt = np.dtype(dt)
    key = dt.newbyteorder("<") if dt.byteorder == ">" else dt
    try:
        return _ST_CODE_BY_NP[key]
    except KeyError:
        raise TypeError(f"safetensors cannot store arrays of dtype {dt}") from None


# PyTorch storage classes and dtypes (pickled by name) -> NumPy dtypes, little-endian.
TORCH_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"), "float": np.dtype("<f4"),
    "float64": np.dtype("<f8"), "double": np.dtype("<f8"),
    "float16": np.dtype("<f2"), "half": np.dtype("<f2"),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "int64": np.dtype("<i8"), "long": np.dtype("<i8"),
    "int32": np.dtype("<i4"), "int": np.dtype("<i4"),
    "int16": np.dtype("<i2"), "short": np.dtype("<i2"),
    "int8": np.dtype(np.int8), "uint8": np.dtype(np.uint8),
    "uint16": np.dtype("<u2"), "uint32": np.dtype("<u4"), "uint64": np.dtype("<u8"),
    "bool": np.dtype(np.bool_),
    "complex64": np.dtype("<c8"), "cfloat": np.dtype("<c8"),
    "complex128": np.dtype("<c16"), "cdouble": np.dtype("<c16"),
    "float8_e4m3fn": np.dtype(ml_dtypes.float8_e4m3fn),
    "float8_e5m2": np.dtype(ml_dtypes.float8_e5m2),
    "float8_e4m3fnuz": np.dtype(ml_dtypes.float8_e4m3fnuz),
    "float8_e5m2fnuz": np.dtype(ml_dtypes.float8_e5m2fnuz),
    "float8_e8m0fnu": np.dtype(ml_dtypes.float8_e8m0fnu),
}
STORAGE_CLASSES: dict[str, np.dtype] = {
    "FloatStorage": TORCH_DTYPES["float32"], "DoubleStorage": TORCH_DTYPES["float64"],
    "HalfStorage": TORCH_DTYPES["float16"], "BFloat16Storage": TORCH_DTYPES["bfloat16"],
    "LongStorage": TORCH_DTYPES["int64"], "IntStorage": TORCH_DTYPES["int32"],
    "ShortStorage": TORCH_DTYPES["int16"], "CharStorage": TORCH_DTYPES["int8"],
    "ByteStorage": TORCH_DTYPES["uint8"], "BoolStorage": TORCH_DTYPES["bool"],
    "ComplexFloatStorage": TORCH_DTYPES["complex64"],
    "ComplexDoubleStorage": TORCH_DTYPES["complex128"],
}
# The storage class torch.save pickles for a dtype (float8 types use UntypedStorage + dtype).
_STORAGE_BY_NP = {v: k for k, v in reversed(list(STORAGE_CLASSES.items()))}


def torch_storage_class(dt: np.dtype) -> str:
    """The ``torch.<Name>Storage`` class name PyTorch pickles for arrays of ``dt``."""
    try:
        return _STORAGE_BY_NP[np.dtype(dt)]
    except KeyError:
        raise TypeError(f"PyTorch's pickle format has no storage class for dtype {dt}") from None


def to_little_endian(a: np.ndarray) -> np.ndarray:
    """``a`` with little-endian elements (a copy only when it was big-endian)."""
    if a.dtype.byteorder == ">":
        return a.astype(a.dtype.newbyteorder("<"))
    return a
