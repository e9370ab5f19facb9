"""Round trips through every writer and reader: dtypes, shapes, structures, sharing."""

from __future__ import annotations

import io
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest

import weightwise.io as wio
from weightwise.io import _bridge, npz, safetensors


def arr(x: object) -> np.ndarray:
    a = _bridge.as_array(x)
    assert a is not None, f"not a tensor: {type(x).__name__}"
    return a

DTYPES = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn,
          ml_dtypes.float8_e5m2, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]
SHAPES = [(), (0,), (3, 0, 2), (5,), (2, 3, 4)]


def sample(dtype: object, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(rng.standard_normal(shape) * 4).astype(dtype)


@pytest.mark.parametrize("fmt", ["safetensors", "torch", "npz"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_and_shape(tmp_path, fmt, dtype):
    data = {f"t{i}": sample(dtype, s, i) for i, s in enumerate(SHAPES)}
    p = tmp_path / "f"
    wio.save({k: _bridge.wrap(v) for k, v in data.items()}, p, format=fmt)
    out = wio.load(p)
    assert list(out) == list(data) or fmt == "safetensors"
    for k, v in data.items():
        got = arr(out[k])
        assert got.dtype == v.dtype and got.shape == v.shape
        assert got.tobytes() == v.tobytes()


@pytest.mark.parametrize("mmap", [False, True])
def test_nested_structure_and_leaves(tmp_path, mmap):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    sd = OrderedDict(weight=_bridge.wrap(x), bias=_bridge.wrap(np.zeros(2, np.float32)))
    sd._metadata = OrderedDict({"": {"version": 1}})
    obj = {"sd": sd, "list": [1, 2.5, "s", None, True, float("inf"), b"\x00b", (1, (2, 3))],
           3: {"nested": [_bridge.wrap(x.T.copy())]}, (1, "a"): -7, "big": 2 ** 80, "np": x}
    wio.save(obj, tmp_path / "n.safetensors")
    out = wio.load(tmp_path / "n.safetensors", mmap=mmap)
    assert isinstance(out["sd"], OrderedDict) and out["sd"]._metadata == {"": {"version": 1}}
    assert out["list"][:5] == [1, 2.5, "s", None, True] and out["list"][5] == float("inf")
    assert out["list"][6:] == [b"\x00b", (1, (2, 3))]
    assert out[(1, "a")] == -7 and out["big"] == 2 ** 80
    assert isinstance(out["np"], np.ndarray) and (out["np"] == x).all()
    assert (arr(out[3]["nested"][0]) == x.T).all()
    assert (arr(out["sd"]["weight"]) == x).all()


def test_single_tensor_and_list_like_the_book(tmp_path):
    x = _bridge.wrap(np.arange(4, dtype=np.int64))
    wio.save(x, tmp_path / "x-file")
    assert (arr(wio.load(tmp_path / "x-file")) == np.arange(4)).all()
    y = _bridge.wrap(np.zeros(4, np.float32))
    wio.save([x, y], tmp_path / "x-files")
    x2, y2 = wio.load(tmp_path / "x-files")
    assert (arr(x2) == np.arange(4)).all() and (arr(y2) == 0).all()


def test_shared_tensors_stored_once_and_restored_shared(tmp_path):
    w = np.ones((4, 4), np.float32)
    shared = _bridge.wrap(w)
    view_a, view_b = _bridge.wrap(w[1:3]), _bridge.wrap(w[1:3])   # identical memory
    sd = OrderedDict([("0.weight", shared), ("2.weight", shared), ("a", view_a), ("b", view_b)])
    p = tmp_path / "tied.safetensors"
    wio.save(sd, p)
    with safetensors.safe_open(p) as f:
        header = f.header
    assert set(header.tensors) == {"0.weight", "a"}      # each stored once
    assert header.metadata["2.weight"] == "0.weight" and header.metadata["b"] == "a"
    out = wio.load(p)
    assert out["0.weight"] is out["2.weight"]
    assert np.shares_memory(out["a"], out["b"]) and out["a"] is not out["b"]
    with wio.open_checkpoint(p) as ck:
        assert ck.aliases == {"2.weight": "0.weight", "b": "a"}


def test_hash_detects_corruption_and_can_be_skipped(tmp_path):
    p = tmp_path / "h.safetensors"
    wio.save({"w": np.arange(100, dtype=np.float32)}, p)
    raw = bytearray(p.read_bytes())
    raw[-10] ^= 0xFF
    p.write_bytes(raw)
    with pytest.raises(wio.SerializationError, match="'w' is corrupted"):
        wio.load(p)
    assert arr(wio.load(p, verify=False)["w"])[0] == 0


def test_provenance_hook(tmp_path):
    p = tmp_path / "prov.safetensors"
    w = np.zeros(3, np.float32)
    wio.save({"w": w}, p, metadata={"provenance": {"w": {"init": "zeros_", "seed": 0}}, "note": "hi"})
    with wio.open_checkpoint(p) as ck:
        assert ck.provenance == {"w": {"init": "zeros_", "seed": 0}}
        assert ck.metadata == {"format": "pt", "note": "hi"}
    with pytest.raises(ValueError, match="reserved"):
        wio.save({"w": w}, p, metadata={"weightwise.structure": "x"})


def test_file_objects_and_detection_ignores_extension(tmp_path):
    buf = io.BytesIO()
    wio.save({"a": np.ones(2, np.float32)}, buf)
    buf.seek(0)
    assert (arr(wio.load(buf)["a"]) == 1).all()
    p = tmp_path / "really_safetensors.pt"
    wio.save({"a": np.ones(2)}, p)
    assert wio.detect(p) == "safetensors"
    np.save(tmp_path / "a.npy", np.arange(3))
    assert (arr(wio.load(tmp_path / "a.npy")) == np.arange(3)).all()


def test_byte_identical_to_reference_layout():
    st = pytest.importorskip("safetensors.numpy")
    d = {"b": np.arange(3, dtype=np.float32), "a": np.zeros(2, np.uint8),
         "c": np.zeros((0, 2), np.int64), "e": np.ones((), ml_dtypes.bfloat16)}
    assert safetensors.save(d, {"format": "pt"}) == st.save(d, metadata={"format": "pt"})


def test_npz_helpers(tmp_path):
    d = {"w": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "b": np.ones(2, ml_dtypes.bfloat16)}
    npz.save_npz(tmp_path / "a.npz", d)
    out = npz.load_npz(tmp_path / "a.npz")
    assert out["b"].dtype == ml_dtypes.bfloat16 and (out["w"] == d["w"]).all()
    assert (np.load(tmp_path / "a.npz")["w"] == d["w"]).all()


def test_open_checkpoint_is_lazy(tmp_path):
    p = tmp_path / "m.safetensors"
    wio.save({"a": np.ones((2, 3), np.float32), "b": np.zeros(4, np.int8)}, p)
    with wio.open_checkpoint(p) as ck:
        assert ck["a"].shape == (2, 3) and ck["a"].dtype == "float32" and ck["b"].nbytes == 4
        assert (ck.read("b") == 0).all()


def test_atomic_save_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "m.safetensors"
    wio.save({"a": np.ones(3, np.float32)}, p)
    before = p.read_bytes()
    with pytest.raises(TypeError):
        wio.save({"a": np.ones(3, np.float32), "bad": object()}, p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.safetensors"]   # no temp files left


def test_save_over_memory_mapped_file(tmp_path):
    p = tmp_path / "m.safetensors"
    wio.save({"a": np.arange(1000, dtype=np.float32)}, p)
    mapped = wio.load(p, mmap=True)
    wio.save({"a": np.zeros(1000, np.float32)}, p)
    assert arr(mapped["a"])[5] == 5             # the old mapping still sees the old inode
    assert arr(wio.load(p)["a"])[5] == 0
