"""A hostile corpus built here: every malformed file must raise SerializationError, run nothing."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest

import weightwise.io as wio
from weightwise.io import SerializationError, torch_writer


def st_file(header: object, data: bytes = b"", raw_header: bytes | None = None) -> bytes:
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def entry(dtype: str, shape: list, begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


SAFETENSORS_CASES = {
    "too short": (b"\x01\x00", "unrecognised"),
    "header length past end": (struct.pack("<Q", 1000) + b"{}", "runs past the end"),
    "header length huge": (struct.pack("<Q", 2 ** 63) + b"{}", "exceeds"),
    "invalid json": (st_file(None, raw_header=b"{not json"), "not valid JSON"),
    "not an object": (st_file(None, raw_header=b"[1, 2]   "), "unrecognised"),
    "duplicate keys": (st_file(None, b"\0" * 8, raw_header=(
        b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}')), "duplicate key 'a'"),
    "overlap": (st_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, b"\0" * 12), "overlaps"),
    "gap": (st_file({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, b"\0" * 12), "gap"),
    "out of range": (st_file({"a": entry("F32", [4], 0, 16)}, b"\0" * 8), "truncated"),
    "shape overflow": (st_file({"a": entry("F32", [2 ** 40, 2 ** 40], 0, 8)}, b"\0" * 8), "overflows"),
    "size mismatch": (st_file({"a": entry("F32", [3], 0, 8)}, b"\0" * 8), "needs 12 bytes"),
    "trailing bytes": (st_file({"a": entry("F32", [1], 0, 4)}, b"\0" * 9), "trailing"),
    "bad dtype": (st_file({"a": entry("F33", [1], 0, 4)}, b"\0" * 4), "unsupported dtype"),
    "negative shape": (st_file({"a": entry("F32", [-1], 0, 4)}, b"\0" * 4), "invalid shape"),
    "bad metadata": (st_file({"__metadata__": {"a": 1}}), "__metadata__"),
    "bad structure": (st_file({"__metadata__": {"weightwise.structure": '{"zz": 1}'}}), "structure"),
    "structure names missing tensor": (st_file({"__metadata__": {"weightwise.structure": '{"T": "nope"}'}}), "lacks"),
}


@pytest.mark.parametrize("case", list(SAFETENSORS_CASES))
def test_safetensors_corpus(tmp_path, case):
    data, message = SAFETENSORS_CASES[case]
    p = tmp_path / "bad.safetensors"
    p.write_bytes(data)
    with pytest.raises(SerializationError, match=message) as e:
        wio.load(p)
    assert str(p) in str(e.value) or "unrecognised" in str(e.value)


class Evil:
    def __reduce__(self):
        import os
        return (os.system, ("touch PWNED",))


def legacy(*objs: object) -> bytes:
    return b"".join(pickle.dumps(o, protocol=2) for o in objs)


def zip_with(records: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for name, data in records.items():
            zf.writestr(name, data)
    return buf.getvalue()


MAGIC = 0x1950A86A20F9469CFC6C
SYS = {"protocol_version": 1001, "little_endian": True, "type_sizes": {}}


def pickle_cases() -> dict[str, tuple[bytes, str]]:
    evil = pickle.dumps({"x": Evil()}, protocol=2)
    good = io.BytesIO()
    torch_writer.write(good, {"w": np.ones(4, np.float32)})
    good_zip = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    recs = {i.filename: good_zip.read(i) for i in good_zip.infolist()}
    no_storage = {k: v for k, v in recs.items() if "/data/" not in k}
    return {
        "os.system in zip": (zip_with({"archive/data.pkl": evil}), "system' is not on the allowlist"),
        "os.system legacy": (legacy(MAGIC, 1001, SYS) + evil, "system' is not on the allowlist"),
        "builtins.eval": (zip_with({"a/data.pkl": b"\x80\x02cbuiltins\neval\nX\x01\x00\x00\x001\x85R."}), "builtins.eval"),
        "INST opcode": (zip_with({"a/data.pkl": b"(ios\nsystem\nX\x02\x00\x00\x00ls."}), "not allowed"),
        "whole module": (zip_with({"a/data.pkl": b"\x80\x02ctorch.nn.modules.linear\nLinear\n)R."}), "state_dict"),
        "memo blowup get": (zip_with({"a/data.pkl": b"\x80\x02j\xff\xff\xff\xff."}), "never stored"),
        "truncated pickle": (zip_with({"a/data.pkl": b"\x80\x02X\xff\xff\x00\x00ab"}), "truncated"),
        "missing record": (zip_with(no_storage), "missing record"),
        "torchscript": (zip_with({"m/data.pkl": b"\x80\x02N.", "m/constants.pkl": b"", "m/code/x.py": b""}), "TorchScript"),
        "wrong magic": (legacy(12345), "magic"),
        "unknown format": (b"hello world, not a checkpoint", "unrecognised"),
        "bad storage ref": (zip_with({"a/data.pkl": b"\x80\x02(X\x07\x00\x00\x00storageK\x01tQ."}), "storage reference"),
    }


@pytest.mark.parametrize("case", list(pickle_cases()))
def test_pickle_corpus_runs_nothing(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    data, message = pickle_cases()[case]
    p = tmp_path / "bad.pt"
    p.write_bytes(data)
    with pytest.raises(SerializationError, match=message):
        wio.load(p)
    assert not (tmp_path / "PWNED").exists()


def test_out_of_range_view_in_pickle(tmp_path):
    buf = io.BytesIO()
    torch_writer.write(buf, {"w": np.ones(4, np.float32)})
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    recs = {i.filename: z.read(i) for i in z.infolist()}
    # size (4,) -> (9,): a view reaching past the 4 elements of its storage
    recs["archive/data.pkl"] = recs["archive/data.pkl"].replace(b"(K\x04t", b"(K\x09t", 1)
    p = tmp_path / "v.pt"
    p.write_bytes(zip_with(recs))
    with pytest.raises(SerializationError, match="reaches element"):
        wio.load(p)


def test_compression_bomb(tmp_path):
    buf = io.BytesIO()
    torch_writer.write(buf, {"w": np.zeros(1 << 20, np.float32)})
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    bomb = zip_with({i.filename: z.read(i) for i in z.infolist()}, zipfile.ZIP_DEFLATED)
    p = tmp_path / "bomb.pt"
    p.write_bytes(bomb)
    with pytest.raises(SerializationError, match="refused"):
        wio.load(p)
    np.savez_compressed(tmp_path / "bomb.npz", a=np.zeros(1 << 22, np.uint8))
    with pytest.raises(SerializationError, match="compression bomb"):
        wio.load(tmp_path / "bomb.npz")


def test_object_arrays_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SerializationError, match="object arrays"):
        wio.load(tmp_path / "o.npy")
    np.savez(tmp_path / "o.npz", a=np.array([None], dtype=object))
    with pytest.raises(SerializationError, match="object arrays"):
        wio.load(tmp_path / "o.npz")


def test_npy_size_mismatch(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(10))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(raw.replace(b"(10,)", b"(99,)"))
    with pytest.raises(SerializationError, match="needs"):
        wio.load(tmp_path / "a.npy")


def test_deep_structure_refused(tmp_path):
    deep = '{"l":[' * 200 + "1" + "]}" * 200
    p = tmp_path / "deep.safetensors"
    p.write_bytes(st_file({"__metadata__": {"weightwise.structure": deep}}))
    with pytest.raises(SerializationError):
        wio.load(p)
