"""`weightwise inspect | diff | convert` driven as a user would: real processes, real files.

Files come from PyTorch (`torch.save` of a state dict with a shared layer) and from weightwise.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    shared = torch.nn.Linear(8, 8)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), shared, torch.nn.ReLU(), shared,
                              torch.nn.ReLU(), torch.nn.Linear(8, 1))
    out = {"pt": d / "tied.pt", "legacy": d / "tied_legacy.pth"}
    torch.save(net.state_dict(), out["pt"])
    torch.save(net.state_dict(), out["legacy"], _use_new_zipfile_serialization=False)
    sd = net.state_dict()
    sd["6.bias"] = sd["6.bias"] + 0.5
    out["changed"] = d / "changed.pt"
    torch.save(sd, out["changed"])

    import weightwise
    from weightwise import io as wio

    w = weightwise.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    out["ww"] = d / "ww.safetensors"
    wio.save({"enc.weight": w, "dec.weight": w, "enc.bias": weightwise.zeros(3)}, out["ww"],
             metadata={"note": "hello", "provenance": {"enc.weight": {"fn": "arange", "args": {}}}})
    return out


def test_inspect_pytorch_checkpoint_tree_totals_and_ties(cli, files) -> None:
    r = cli("inspect", str(files["pt"]))
    assert r.returncode == 0, r.stderr
    assert "PyTorch checkpoint (zip)" in r.stdout
    assert "├── 0" in r.stdout and "│   ├── weight  8x4" in r.stdout
    assert "121 parameters in 6 tensors" in r.stdout  # the shared layer's 72 counted once
    assert "2.weight = 4.weight" in r.stdout and "2.bias = 4.bias" in r.stdout
    legacy = cli("inspect", str(files["legacy"]), "--json")
    assert legacy.returncode == 0, legacy.stderr
    rep = json.loads(legacy.stdout)
    assert rep["format"] == "torch-legacy" and rep["totals"]["parameters"] == 121


def test_inspect_weightwise_file_json_with_stats(cli, files) -> None:
    r = cli("inspect", str(files["ww"]), "--stats", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    by_name = {t["name"]: t for t in rep["tensors"]}
    assert set(by_name) == {"enc.weight", "dec.weight", "enc.bias"}
    assert sorted(map(sorted, rep["tie_groups"])) == [["dec.weight", "enc.weight"]]
    assert rep["totals"] == {"names": 3, "stored": 2, "parameters": 15, "nbytes": 60, "by_dtype": {"float32": 15}}
    assert rep["metadata"]["note"] == "hello"
    assert rep["provenance"]["enc.weight"]["fn"] == "arange"
    text = cli("inspect", str(files["ww"])).stdout
    assert "note: hello" in text and "enc.weight: arange()" in text
    kept = next(t for t in rep["tensors"] if t["alias_of"] is None and t["count"] == 12)
    a = np.arange(12, dtype=np.float64)
    s = kept["stats"]
    assert s["mean"] == pytest.approx(a.mean()) and s["std"] == pytest.approx(a.std())
    assert s["norm"] == pytest.approx(np.linalg.norm(a)) and s["zeros"] == pytest.approx(1 / 12)
    assert (s["min"], s["max"], s["nans"], s["infs"]) == (0.0, 11.0, 0, 0)


def test_inspect_filter_by_pattern(cli, files) -> None:
    r = cli("inspect", str(files["pt"]), "--filter", "**.bias", "--json")
    assert r.returncode == 0, r.stderr
    assert [t["name"] for t in json.loads(r.stdout)["tensors"]] == ["0.bias", "2.bias", "4.bias", "6.bias"]
    rx = cli("inspect", str(files["pt"]), "--filter", r"re:^[02]\.weight$", "--json")
    assert [t["name"] for t in json.loads(rx.stdout)["tensors"]] == ["0.weight", "2.weight"]
    none = cli("inspect", str(files["pt"]), "--filter", "decoder.*")
    assert none.returncode == 2 and none.stdout == ""
    assert none.stderr.count("\n") == 1 and "matches none of the 8 tensors" in none.stderr


def _one_line_error(r) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("weightwise: error: ")
    return r.stderr


def test_bad_input_gives_one_line(cli, files, tmp_path: Path) -> None:
    assert "no such file" in _one_line_error(cli("inspect", str(tmp_path / "missing.pt")))
    assert "is a folder" in _one_line_error(cli("inspect", str(tmp_path)))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"this is not a checkpoint at all")
    assert "junk.bin" in _one_line_error(cli("inspect", str(junk)))
    bad_header = tmp_path / "bad.safetensors"
    bad_header.write_bytes((10**9).to_bytes(8, "little") + b'{"a": 1}')
    assert "bad.safetensors" in _one_line_error(cli("inspect", str(bad_header)))
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    hostile = tmp_path / "hostile.pt"
    hostile.write_bytes(pickle.dumps({"w": Evil()}, protocol=2))
    _one_line_error(cli("inspect", str(hostile)))
    assert not marker.exists()  # nothing from the file ran
    assert "unrecognized arguments: --bogus" in _one_line_error(cli("inspect", str(files["pt"]), "--bogus"))
    assert "invalid choice" in _one_line_error(cli("frobnicate"))


def test_debug_shows_traceback(cli, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"nope")
    r = cli("inspect", str(junk), "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_diff_exit_status_and_report(cli, files) -> None:
    same = cli("diff", str(files["pt"]), str(files["legacy"]))
    assert same.returncode == 0, same.stdout + same.stderr
    assert "same: 8 of 8 comparable tensors equal" in same.stdout
    r = cli("diff", str(files["pt"]), str(files["changed"]), "--json")
    assert r.returncode == 1
    rep = json.loads(r.stdout)
    diff = {t["name"]: t for t in rep["tensors"] if not t["equal"]}
    assert list(diff) == ["6.bias"] and diff["6.bias"]["max_abs"] == pytest.approx(0.5, abs=1e-6)
    assert rep["only_in_a"] == rep["only_in_b"] == [] and rep["changed"] == []
    ww = cli("diff", str(files["pt"]), str(files["ww"]))
    assert ww.returncode == 1 and "only in" in ww.stdout
    assert cli("diff", str(files["pt"]), str(files["pt"]) + ".missing").returncode == 2


def test_convert_between_formats_keeps_values_and_ties(cli, files, tmp_path: Path) -> None:
    st = tmp_path / "model.safetensors"
    r = cli("convert", str(files["pt"]), str(st))
    assert r.returncode == 0, r.stderr
    from safetensors.torch import load_file

    want = torch.load(files["pt"], weights_only=True)
    got = load_file(st)
    for k in ["0.weight", "0.bias", "2.weight", "6.bias"]:
        assert torch.equal(got[k], want[k])
    pt = tmp_path / "back.pt"
    assert cli("convert", str(st), str(pt)).returncode == 0
    back = torch.load(pt, weights_only=True)
    assert set(back) == set(want) and all(torch.equal(back[k], want[k]) for k in want)
    assert back["2.weight"].data_ptr() == back["4.weight"].data_ptr()  # still one tensor
    assert cli("diff", str(files["pt"]), str(pt)).returncode == 0
    npz = tmp_path / "flat.npz"
    assert cli("convert", str(files["pt"]), str(npz)).returncode == 0
    with np.load(npz) as z:
        np.testing.assert_array_equal(z["0.weight"], want["0.weight"].numpy())
    assert "output format" in _one_line_error(cli("convert", str(files["pt"]), str(tmp_path / "x.weird")))
