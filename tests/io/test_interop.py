"""Cross-checks both ways with PyTorch and the safetensors package."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import weightwise.io as wio
from weightwise.io import _bridge

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

TORCH_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool,
                torch.float8_e4m3fn, torch.float8_e5m2]


def arr(x: object) -> np.ndarray:
    a = _bridge.as_array(x)
    assert a is not None
    return a


def same(ours: object, theirs: "torch.Tensor") -> None:
    a = arr(ours)
    assert tuple(a.shape) == tuple(theirs.shape)
    raw = theirs.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    assert a.tobytes() == raw


def make(dtype: "torch.dtype", shape: tuple[int, ...]) -> "torch.Tensor":
    return (torch.randn(shape) * 3).to(dtype)


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_read_torch_save(tmp_path, dtype, legacy):
    if legacy and dtype in (torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16):
        pytest.skip("the legacy format has no storage class for this dtype")
    torch.manual_seed(0)
    sd = {"a": make(dtype, (3, 4)), "s": make(dtype, ()), "z": make(dtype, (0, 2))}
    p = tmp_path / "m.pt"
    torch.save(sd, p, _use_new_zipfile_serialization=not legacy)
    out = wio.load(p)
    for k, v in sd.items():
        same(out[k], v)


@pytest.mark.parametrize("legacy", [False, True])
def test_read_views_shared_storage_parameters_metadata(tmp_path, legacy):
    base = torch.arange(24.0).reshape(4, 6)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    sd = net.state_dict()
    obj = {"base": base, "view": base[1:, 2:5], "t": base.t(), "p": torch.nn.Parameter(torch.ones(2)),
           "sd": sd, "same": base, "opt": {"state": {0: {"step": 3}}, "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99)}]}}
    p = tmp_path / "v.pt"
    torch.save(obj, p, _use_new_zipfile_serialization=not legacy)
    out = wio.read_torch(p)
    assert (arr(out["view"]) == base[1:, 2:5].numpy()).all() and (arr(out["t"]) == base.t().numpy()).all()
    assert np.shares_memory(arr(out["view"]), arr(out["base"]))
    assert np.shares_memory(arr(out["t"]), arr(out["base"]))
    assert out["same"] is out["base"]
    assert getattr(out["p"], "requires_grad", False)
    assert isinstance(out["sd"], OrderedDict) and out["sd"]._metadata[""]["version"] == 1
    assert out["opt"]["param_groups"][0]["betas"] == (0.9, 0.99)


def test_read_big_endian_zip(tmp_path):
    import zipfile
    t = torch.arange(6, dtype=torch.float32)
    p = tmp_path / "le.pt"
    torch.save({"t": t, "i": torch.arange(3, dtype=torch.int64)}, p)
    src = zipfile.ZipFile(p)
    be = tmp_path / "be.pt"
    with zipfile.ZipFile(be, "w", zipfile.ZIP_STORED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in info.filename:
                width = 4 if info.filename.endswith("/0") else 8
                data = np.frombuffer(data, f"<u{width}").astype(f">u{width}").tobytes()
            out.writestr(info.filename, data)
    res = wio.load(be)
    assert (arr(res["t"]) == np.arange(6)).all() and (arr(res["i"]) == np.arange(3)).all()


def test_torch_reads_our_pt(tmp_path):
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    w = _bridge.wrap(base)
    od = OrderedDict(w=w, tied=w, v=_bridge.wrap(base[1:, ::2]), i=_bridge.wrap(np.arange(3)))
    p = tmp_path / "ours.pt"
    wio.save({"sd": od, "step": 7, "names": ["a", (1, 2.5)]}, p, format="torch")
    got = torch.load(p, weights_only=True)
    assert got["step"] == 7 and got["names"] == ["a", (1, 2.5)]
    assert torch.equal(got["sd"]["v"], torch.from_numpy(base[1:, ::2].copy()))
    assert got["sd"]["w"] is got["sd"]["tied"]
    assert got["sd"]["v"].untyped_storage().data_ptr() == got["sd"]["w"].untyped_storage().data_ptr()
    assert torch.load(p, weights_only=True, mmap=True)["sd"]["i"].tolist() == [0, 1, 2]


def test_safetensors_package_reads_ours_and_we_read_theirs(tmp_path):
    torch.manual_seed(0)
    tensors = {f"t{i}": make(d, (2, 3)) for i, d in enumerate(TORCH_DTYPES)}
    theirs = tmp_path / "theirs.safetensors"
    st_torch.save_file(tensors, theirs, metadata={"k": "v"})
    ours = wio.load(theirs)
    for k, v in tensors.items():
        same(ours[k], v)
    p = tmp_path / "ours.safetensors"
    wio.save({k: arr(v) for k, v in ours.items()}, p)
    back = st_torch.load_file(p)
    for k, v in tensors.items():
        assert torch.equal(back[k].view(torch.uint8), v.view(torch.uint8))


def test_tied_model_with_safetensors_load_model(tmp_path):
    src = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    src[1].weight = src[0].weight
    sd = {k: _bridge.wrap(v.detach().numpy()) for k, v in src.state_dict().items()}
    sd["1.weight"] = sd["0.weight"]
    p = tmp_path / "tied.safetensors"
    wio.save(sd, p)
    dst = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    dst[1].weight = dst[0].weight
    st_torch.load_model(dst, p)  # strict: the alias convention must satisfy it
    assert torch.equal(dst[1].weight, src[0].weight)


def test_load_into_reties_and_is_atomic(tmp_path):
    class Owner:
        pass

    class Model:  # the duck-typed surface load_into needs
        def __init__(self) -> None:
            self.a, self.b = Owner(), Owner()
            self.a.w = _bridge.wrap(np.zeros(3, np.float32), "parameter")
            self.b.w = _bridge.wrap(np.ones(3, np.float32), "parameter")

        def get_submodule(self, name: str) -> Owner:
            return getattr(self, name)

        def state_dict(self) -> "OrderedDict[str, object]":
            return OrderedDict([("a.w", self.a.w), ("b.w", self.b.w)])

        def load_state_dict(self, sd: dict, strict: bool = True) -> None:
            for k, v in sd.items():
                owner, attr = self.get_submodule(k.split(".")[0]), k.split(".")[1]
                arr(getattr(owner, attr))[...] = arr(v)

    t = _bridge.wrap(np.full(3, 5, np.float32))
    p = tmp_path / "t.safetensors"
    wio.save({"a.w": t, "b.w": t}, p)
    m = Model()
    old_b = m.b.w
    wio.load_into(m, p)
    assert m.a.w is m.b.w and arr(m.a.w)[0] == 5
    wio.save({"a.w": t, "b.w": t, "extra": t}, p)
    m2 = Model()
    with pytest.raises(RuntimeError, match="Unexpected key"):
        wio.load_into(m2, p)
    assert m2.b.w is not m2.a.w and arr(m2.a.w)[0] == 0
    del old_b
