"""Fuzzing every reader: random and mutated bytes give a result or SerializationError, nothing else."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import weightwise.io as wio
from weightwise.io import npz, safetensors, torch_writer


def _valid_files() -> dict[str, bytes]:
    sd = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.int64)}
    out = {}
    buf = io.BytesIO()
    wio.save({"sd": sd, "n": [1, "x", None]}, buf)
    out["safetensors"] = buf.getvalue()
    buf = io.BytesIO()
    torch_writer.write(buf, sd)
    out["torch"] = buf.getvalue()
    buf = io.BytesIO()
    npz.write_npz(buf, sd)
    out["npz"] = buf.getvalue()
    buf = io.BytesIO()
    np.lib.format.write_array(buf, sd["w"])
    out["npy"] = buf.getvalue()
    return out


VALID = _valid_files()
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


def _load(data: bytes) -> None:
    tracemalloc.start()
    try:
        wio.load(io.BytesIO(data))
    except wio.SerializationError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # never an allocation the file's own bytes do not justify (slack for Python objects)
    assert peak < 64 * len(data) + (4 << 20), peak


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(VALID[kind])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i:i + draw(st.integers(1, 64))]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes(data):
    _load(data)


@FUZZ
@given(mutated("safetensors"))
def test_mutated_safetensors(data):
    _load(data)


@FUZZ
@given(mutated("torch"))
def test_mutated_torch_zip(data):
    _load(data)


@FUZZ
@given(mutated("npz"))
def test_mutated_npz(data):
    _load(data)


@FUZZ
@given(mutated("npy"))
def test_mutated_npy(data):
    _load(data)


@FUZZ
@given(st.binary(max_size=200))
def test_pickle_vm_random_streams(data):
    # a valid legacy prefix followed by random opcodes exercises the interpreter itself
    import pickle
    prefix = b"".join(pickle.dumps(o, protocol=2) for o in
                      (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    _load(prefix + b"\x80\x02" + data)


@FUZZ
@given(st.binary(min_size=8, max_size=300))
def test_safetensors_header_bytes(data):
    try:
        safetensors.parse_header("<fuzz>", data, len(data))
    except wio.SerializationError:
        pass
