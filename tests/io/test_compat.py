"""Compatibility corners: lazy .npz, legacy big-endian torch files, NumPy values in pickles,
dtypes Tensors lack, and the content-hash algorithms."""

from __future__ import annotations

import io
import json
import pickletools
import struct
import zlib
from typing import Any

import numpy as np
import pytest

import weightwise.io as wio
from weightwise.io import _bridge, npz, safetensors


def arr(x: object) -> np.ndarray:
    a = _bridge.as_array(x)
    assert a is not None, f"not a tensor: {type(x).__name__}"
    return a


class Counting(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.count = 0

    def read(self, n: int | None = -1) -> bytes:
        b = super().read(n)
        self.count += len(b)
        return b

    def readinto(self, buf):  # type: ignore[no-untyped-def, override]
        k = super().readinto(buf)
        self.count += k
        return k


# -- lazy .npz ---------------------------------------------------------------------------------------
def test_open_checkpoint_npz_reads_only_the_directory_until_a_tensor_is_read(tmp_path):
    import ml_dtypes
    arrays = {"a": np.arange(1 << 18, dtype=np.float32), "b": np.ones((512, 512), np.float64),
              "h": np.ones(1 << 16, ml_dtypes.bfloat16)}
    buf = io.BytesIO()
    npz.write_npz(buf, arrays)
    data = buf.getvalue()
    f = Counting(data)
    ck = wio.open_checkpoint(f)
    assert ck.format == "npz" and ck.names() == ["a", "b", "h"] and len(ck) == 3
    assert f.count < 4096 < len(data) // 100           # the central directory, nothing more
    assert ck["b"].shape == (512, 512) and ck["h"].dtype == "bfloat16" and ck["a"].nbytes == 1 << 20
    assert f.count < 16 << 10                           # plus the members' .npy headers
    before = f.count
    b = ck.read("b")
    assert (b == 1).all() and before + b.nbytes <= f.count < before + b.nbytes + (64 << 10)
    assert ck.read("h").dtype == ml_dtypes.bfloat16
    with pytest.raises(KeyError, match="no tensor 'zz'"):
        ck.read("zz")
    ck.close()


def test_lazy_npz_is_as_strict_as_the_eager_reader(tmp_path):
    buf = io.BytesIO()
    npz.write_npz(buf, {"a": np.zeros(4 << 20, np.uint8)}, compress=True)
    with wio.open_checkpoint(io.BytesIO(buf.getvalue())) as ck:
        with pytest.raises(wio.SerializationError, match="compression bomb"):
            ck.read("a")


# -- legacy big-endian PyTorch files -------------------------------------------------------------------
_ITEMSIZE = {"FloatStorage": 4, "LongStorage": 8, "HalfStorage": 2, "DoubleStorage": 8, "IntStorage": 4}


def to_big_endian_legacy(data: bytes) -> bytes:
    """Rewrite a little-endian legacy ``torch.save`` stream as a big-endian machine writes it."""
    out = bytearray(data)
    pos = 0
    pickles: list[list[tuple[str, Any, int]]] = []
    for _ in range(5):  # magic, protocol, sys_info, the object, the storage keys
        ops = list(pickletools.genops(io.BytesIO(data[pos:])))
        pickles.append([(op.name, arg, pos + (p or 0)) for op, arg, p in ops])
        pos += (ops[-1][2] or 0) + 1
    sys_ops = pickles[2]
    i = [a for _, a, _ in sys_ops].index("little_endian")
    flag = next(at for name, _, at in sys_ops[i + 1:] if name != "BINPUT")
    assert out[flag] == 0x88                                   # NEWTRUE
    out[flag] = 0x89                                           # NEWFALSE
    kinds: dict[str, str] = {}
    obj_ops = pickles[3]
    for j, (name, arg, _) in enumerate(obj_ops):
        if name == "GLOBAL" and arg.startswith("torch ") and arg.endswith("Storage"):
            key = next(a for n, a, _ in obj_ops[j + 1:] if n in ("BINUNICODE", "SHORT_BINUNICODE"))
            kinds.setdefault(key, arg.split()[1])
    keys = [a for n, a, _ in pickles[4] if n in ("BINUNICODE", "SHORT_BINUNICODE")]
    for key in keys:
        (numel,) = struct.unpack("<q", data[pos:pos + 8])
        out[pos:pos + 8] = struct.pack(">q", numel)
        width = _ITEMSIZE[kinds[key]]
        n = numel * width
        raw = np.frombuffer(data, f"<u{width}", numel, pos + 8)
        out[pos + 8:pos + 8 + n] = raw.astype(f">u{width}").tobytes()
        pos += 8 + n
    assert pos == len(data)
    return bytes(out)


def test_read_legacy_big_endian(tmp_path):
    torch = pytest.importorskip("torch")
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 3
    obj = {"w": base, "view": base[1:, 1:3], "i": torch.tensor([1, -2, 1 << 40]),
           "h": torch.tensor([0.5, -1.25], dtype=torch.float16), "step": 9}
    le = tmp_path / "le.pt"
    torch.save(obj, le, _use_new_zipfile_serialization=False)
    be = tmp_path / "be.pt"
    be.write_bytes(to_big_endian_legacy(le.read_bytes()))
    assert be.read_bytes() != le.read_bytes()
    for path in (le, be):
        out = wio.load(path)
        assert out["step"] == 9
        for k in ("w", "view", "i", "h"):
            a = arr(out[k])
            assert a.dtype.isnative and a.tobytes() == obj[k].contiguous().numpy().tobytes(), k
        assert np.shares_memory(arr(out["w"]), arr(out["view"]))
    with wio.open_checkpoint(be) as ck:
        assert ck["i"].shape == (3,) and (ck.read("i") == [1, -2, 1 << 40]).all()


# -- NumPy values inside pickles ---------------------------------------------------------------------
def test_numpy_scalars_and_arrays_in_torch_checkpoints(tmp_path):
    torch = pytest.importorskip("torch")
    state = np.random.RandomState(3).get_state()
    p = tmp_path / "np.pt"
    torch.save({"acc": np.float64(0.5), "best": np.float32(0.25), "epoch": np.int64(3),
                "ok": np.bool_(True), "np_rng": state, "w": torch.ones(2),
                "be": np.array(2.5, ">f8")[()], "grid": np.arange(6, dtype=">i4").reshape(2, 3).T}, p)
    out = wio.load(p)
    assert out["acc"] == 0.5 and type(out["acc"]) is np.float64
    assert type(out["best"]) is np.float32 and type(out["epoch"]) is np.int64 and out["epoch"] == 3
    assert type(out["ok"]) is np.bool_ and out["ok"]
    assert out["be"] == 2.5
    assert out["np_rng"][0] == "MT19937" and out["np_rng"][1].dtype == np.uint32
    assert (out["np_rng"][1] == state[1]).all() and out["np_rng"][2:] == state[2:]
    assert (out["grid"] == np.arange(6).reshape(2, 3).T).all() and out["grid"].dtype.isnative
    assert (arr(out["w"]) == 1).all()
    rs = np.random.RandomState()
    rs.set_state(out["np_rng"])
    assert rs.randint(1 << 30) == np.random.RandomState(3).randint(1 << 30)


def _pickle_with(body: bytes) -> io.BytesIO:
    """A legacy-format torch file whose object pickle is ``body`` (protocol 2, no storages)."""
    import pickle
    head = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + \
        pickle.dumps({"protocol_version": 1001, "little_endian": True}, 2)
    return io.BytesIO(head + b"\x80\x02" + body + b"." + pickle.dumps([], 2))


def _dtype_op(code: str, state: bytes = b"(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t") -> bytes:
    name = code.encode()
    return (b"cnumpy\ndtype\nX" + struct.pack("<I", len(name)) + name + b"\x89\x88\x87R" + state + b"b")


def test_numpy_globals_are_checked():
    scalar = b"cnumpy.core.multiarray\nscalar\n"
    ok = _pickle_with(scalar + _dtype_op("f8") + b"C\x08" + struct.pack("<d", 1.5) + b"\x86R")
    assert wio.load(ok) == 1.5
    recon = b"cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R"

    def array_state(nbytes: int) -> bytes:
        return b"(K\x01K\x02\x85" + _dtype_op("f8") + b"\x89C" + bytes([nbytes]) + b"\x00" * nbytes + b"tb"
    assert wio.load(_pickle_with(recon + array_state(16))).tolist() == [0.0, 0.0]
    bad = {
        "array of 8 bytes for 16": _pickle_with(recon + array_state(8)),
        "_reconstruct of a list": _pickle_with(recon.replace(b"numpy\nndarray", b"builtins\nlist")),
        "object dtype": _pickle_with(scalar + _dtype_op("O") + b"C\x08" + b"\x00" * 8 + b"\x86R"),
        "short bytes": _pickle_with(scalar + _dtype_op("f8") + b"C\x04" + b"\x00" * 4 + b"\x86R"),
        "odd state": _pickle_with(scalar + _dtype_op("f8", b"(K\x03X\x01\x00\x00\x00<K\x01NNJ\xff\xff\xff\xffJ"
                                                        b"\xff\xff\xff\xffK\x00t") + b"C\x08" + b"\x00" * 8 + b"\x86R"),
        "scalar of a string": _pickle_with(scalar + b"X\x02\x00\x00\x00f8C\x08" + b"\x00" * 8 + b"\x86R"),
        "numpy.load": _pickle_with(b"cnumpy\nload\nX\x01\x00\x00\x00x\x85R"),
        "frombuffer": _pickle_with(b"cnumpy\nfrombuffer\n"),
    }
    for why, f in bad.items():
        with pytest.raises(wio.SerializationError) as e:
            wio.load(f)
        assert "numpy" in str(e.value) or "scalar" in str(e.value), why


# -- dtypes weightwise Tensors do not have -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64, np.complex64])
def test_unsupported_dtypes_name_the_tensor(tmp_path, dtype):
    p = tmp_path / "u.safetensors"
    safetensors.save_file({"ok": np.ones(2, np.float32), "odd": np.arange(3).astype(dtype)}, p)
    with pytest.raises(wio.SerializationError, match=rf"tensor 'odd' has dtype {np.dtype(dtype).name}"):
        wio.load(p)
    with wio.open_checkpoint(p) as ck:                      # still readable as NumPy
        assert ck["odd"].dtype == np.dtype(dtype).name and (ck.read("odd") == [0, 1, 2]).all()
    q = tmp_path / "u.npz"
    npz.save_npz(q, {"odd": np.arange(3).astype(dtype)})
    with pytest.raises(wio.SerializationError, match="tensor 'odd' has dtype"):
        wio.load(q)


@pytest.mark.parametrize("name", ["uint16", "uint32", "uint64", "complex64", "complex128"])
def test_unsupported_torch_dtypes_name_the_tensor(tmp_path, name):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, name)
    t = torch.zeros(3, dtype=dt)
    p = tmp_path / "u.pt"
    torch.save({"model": {"ok": torch.ones(1), "buf": t}}, p)
    with pytest.raises(wio.SerializationError, match=rf"tensor 'model.buf' has dtype {np.dtype(name).name}"):
        wio.load(p)
    with wio.open_checkpoint(p) as ck:
        assert (ck.read("model.buf") == 0).all()


# -- content hashes ------------------------------------------------------------------------------------
def test_default_hash_is_crc32_and_sha256_is_available(tmp_path):
    a = np.random.default_rng(0).standard_normal((3 << 18) + 5).astype(np.float32)   # > 3 MiB
    p, q = tmp_path / "c.safetensors", tmp_path / "s.safetensors"
    wio.save({"a": a, "b": np.arange(4)}, p)
    safetensors.save_file({"a": a, "b": np.arange(4)}, q, {"format": "pt"}, hash_algo="sha256")
    for path, algo in ((p, "crc32"), (q, "sha256")):
        with safetensors.safe_open(path) as f:
            table = json.loads(f.metadata()[safetensors.HASH_KEY])
        assert table["algo"] == algo
        if algo == "crc32":
            assert table["tensors"]["a"] == f"{zlib.crc32(a.tobytes()):08x}"
        else:
            import hashlib
            assert table["tensors"]["a"] == hashlib.sha256(a.tobytes()).hexdigest()
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0x10                          # a flip in the middle piece of 'a'
        path.write_bytes(raw)
        with pytest.raises(wio.SerializationError, match="'a' is corrupted"):
            wio.load(path)
        with pytest.raises(wio.SerializationError, match="'a' is corrupted"):
            wio.load(path, mmap=True)
        assert arr(wio.load(path, verify=False)["b"]).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="hash_algo must be one of"):
        safetensors.save_file({"a": a}, p, hash_algo="xxh3")


def test_pieces_and_writeback_keep_bytes_identical(tmp_path, monkeypatch):
    """The large-save path (hash thread, 1 MiB pieces, early writeback) writes the reference
    layout byte for byte, and the digests it patches in are right."""
    st = pytest.importorskip("safetensors.numpy")
    monkeypatch.setattr(safetensors, "_CHUNK", 4096)
    monkeypatch.setattr(safetensors, "_WRITEBACK", 16384)    # small sizes take the large-save path
    d = {"big": np.arange(30000, dtype=np.float32), "odd": np.ones((3, 5), np.int16)}
    p = tmp_path / "n.safetensors"
    safetensors.save_file(d, p, {"format": "pt"}, hash_algo=None)
    assert p.read_bytes() == st.save(d, metadata={"format": "pt"})
    d["t"] = np.arange(12.0).reshape(3, 4).T                   # non-contiguous: copied once
    safetensors.save_file(d, p, {"format": "pt"})
    with safetensors.safe_open(p) as f:
        table = json.loads(f.metadata()[safetensors.HASH_KEY])["tensors"]
        assert {k: f.get_tensor(k).tobytes() for k in d} == {k: np.ascontiguousarray(v).tobytes() for k, v in d.items()}
    assert table == {k: f"{zlib.crc32(np.ascontiguousarray(v).tobytes()):08x}" for k, v in d.items()}


def test_overlapped_load_checks_each_tensor_before_handing_it_out(tmp_path, monkeypatch):
    monkeypatch.setattr(safetensors, "_OVERLAP_BYTES", 1)      # small files take the threaded path
    d = {f"t{i}": np.full(1000, i, np.float32) for i in range(4)}
    p = tmp_path / "o.safetensors"
    wio.save(d, p)
    assert {k: arr(v).tolist() for k, v in wio.load(p).items()} == {k: v.tolist() for k, v in d.items()}
    with safetensors.safe_open(p) as f:
        begin = f.header.data_start + f.info("t2").begin
    raw = bytearray(p.read_bytes())
    raw[begin + 10] ^= 1
    p.write_bytes(raw)
    got = []
    with safetensors.safe_open(p) as f, pytest.raises(wio.SerializationError, match="'t2' is corrupted"):
        for name, _ in f.tensors():
            got.append(name)
    assert got == ["t0", "t1"]
