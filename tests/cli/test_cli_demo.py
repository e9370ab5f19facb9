"""`weightwise demo`, the README's main job, run as a user runs it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest


def test_demo_end_to_end(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    t0 = time.perf_counter()
    r = cli("demo", "--out", str(out), "--json")
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert elapsed < 60
    res = json.loads(r.stdout)
    assert res["params"] == 8970  # the shared 64x64 layer counted once
    assert res["test_acc"] > 0.9 and len(res["epochs"]) == 8
    assert res["records"] == 1 + res["steps"] // 10
    for label in ("model", "checkpoint", "monitor log", "report"):
        assert Path(res["files"][label]).is_file(), label
    pngs = sorted(p.name for p in (out / "plots").iterdir())
    assert pngs == ["grad_histograms.png", "norms.png", "weight_histograms.png"]
    if res["onnx"]["status"] != "skipped":
        assert res["onnx"]["status"] == "ok" and res["onnx"]["max_abs_diff"] < 1e-4
    lines = (out / "monitor.jsonl").read_text().splitlines()
    assert len(lines) == res["records"] and json.loads(lines[-1])["step"] == res["steps"]

    model = cli("inspect", res["files"]["model"])
    assert model.returncode == 0 and "2.weight = 4.weight" in model.stdout
    assert "8,970 parameters in 6 tensors" in model.stdout


def test_demo_plain_output_says_where_everything_is(cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    r = cli("demo", "--out", str(tmp_path / "d"), "--epochs", "1")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "Total params: 8,970 (tied parameters counted once; 13,130 if counted per use)" in text
    assert "epoch 1: loss" in text and "Per-layer statistics at step" in text
    assert "update/weight" in text and "dead" in text
    assert f"Everything is in {tmp_path / 'd'}" in text and "report:" in text
    bad = cli("demo", "--epochs", "x")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
