"""Statistics (model, state dict, file) and the summary table against direct computation."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import weightwise as torch
from weightwise import nn
from weightwise.diagnostics.stats import stats, tensor_stats
from weightwise.diagnostics.summary import summary


def _chapter_tied() -> nn.Sequential:
    torch.manual_seed(0)
    shared = nn.Linear(8, 8)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.int64, np.bool_])
def test_tensor_stats_match_numpy(dtype) -> None:
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((7, 5)) * 3).astype(dtype)
    a.reshape(-1)[:4] = 0
    s = tensor_stats(a, "x")
    f = a.astype(np.float64)
    assert (s.name, s.shape, s.count) == ("x", (7, 5), 35)
    assert s.dtype == np.dtype(dtype).name
    assert s.mean == pytest.approx(f.mean(), abs=1e-9 + 1e-6 * abs(f).max())
    assert s.std == pytest.approx(f.std(), rel=1e-5, abs=1e-9)
    assert (s.min, s.max) == (f.min(), f.max())
    assert s.norm == pytest.approx(np.linalg.norm(f), rel=1e-5)
    assert s.zeros == pytest.approx(np.mean(f == 0))
    assert (s.nans, s.infs) == (0, 0)


def test_tensor_stats_nan_inf_and_empty() -> None:
    s = tensor_stats(np.array([np.nan, 1.0, -np.inf, 3.0, 0.0], np.float32))
    assert (s.nans, s.infs, s.mean, s.min, s.max) == (1, 1, pytest.approx(4 / 3), 0.0, 3.0)
    assert s.zeros == pytest.approx(0.2) and not s.finite
    e = tensor_stats(np.zeros((0, 3), np.float32))
    assert e.count == 0 and math.isnan(e.mean)
    assert e.to_dict()["mean"] is None
    big = tensor_stats(np.full(10, 1e30, np.float32))  # squares overflow float32, values are finite
    assert big.finite and big.norm == pytest.approx(1e30 * math.sqrt(10), rel=1e-6)


def test_stats_of_model_state_dict_grads_and_file(tmp_path) -> None:
    net = _chapter_tied()
    rows = stats(net)
    assert [r.name for r in rows] == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert rows[2].shared_with == ["4.weight"]
    sd_rows = stats(net.state_dict())  # detached tensors still share memory: counted once
    assert [r.name for r in sd_rows] == [r.name for r in rows]
    assert sd_rows[2].to_dict() == rows[2].to_dict()
    assert stats(net, grads=True) == []
    net(torch.rand(3, 4)).sum().backward()
    g = {r.name: r for r in stats(net, grads=True)}
    assert g["2.weight"].norm == pytest.approx(float(np.linalg.norm(net[2].weight.grad.numpy())), rel=1e-6)
    from weightwise import io as wio

    path = tmp_path / "m.safetensors"
    wio.save(net.state_dict(), path)
    f_rows = {r.name: r for r in stats(path)}
    assert set(f_rows) == {r.name for r in rows}
    assert f_rows["2.weight"].shared_with == ["4.weight"]
    assert f_rows["0.weight"].mean == pytest.approx(rows[0].mean)
    with pytest.raises(TypeError, match="grads=True needs a module"):
        stats(path, grads=True)
    with pytest.raises(TypeError, match="source must be a Module"):
        stats(42)


def test_summary_rows_totals_and_renderings() -> None:
    net = _chapter_tied()
    net[0].requires_grad_(False)
    s = summary(net, input_size=(2, 4))
    assert [r.path for r in s.rows] == ["", "0", "1", "2", "3", "4", "5", "6"]
    assert [r.output_shape for r in s.rows] == [[2, 1], [2, 8], [2, 8], [2, 8], [2, 8], [2, 8], [2, 8], [2, 1]]
    assert [r.params for r in s.rows] == [121, 40, 0, 72, 0, 72, 0, 9]
    assert s.rows[3].shared_with == ["4"] and s.rows[5].shared_with == ["2"]
    assert [r.trainable for r in s.rows] == ["partly", "no", "", "yes", "", "yes", "", "yes"]
    assert (s.total_params, s.trainable_params, s.non_trainable_params, s.naive_params) == (121, 81, 40, 193)
    assert s.param_bytes == 121 * 4
    assert s.tie_groups == [["2.weight", "4.weight"], ["2.bias", "4.bias"]]
    text = str(s)
    assert "Total params: 121 (tied parameters counted once; 193 if counted per use)" in text
    assert "2 (Linear)" in text and "Tied: 2.weight = 4.weight" in text
    html = s._repr_html_()
    assert html.startswith('<div class="weightwise-summary"><table>') and "<td" in html and "121" in html
    assert s.to_dict()["totals"]["params"] == 121
    assert net.training and all(m.training for m in net.modules())  # modes restored
    assert not any(m._forward_hooks for m in net.modules())


def test_summary_draws_no_random_numbers_and_accepts_example_input() -> None:
    net = nn.Sequential(nn.Linear(3, 5), nn.Dropout(0.5), nn.Linear(5, 2))
    torch.manual_seed(7)
    s = summary(net, input_size=(4, 3))
    after = torch.rand(1).item()
    torch.manual_seed(7)
    assert torch.rand(1).item() == after
    assert s.rows[-1].output_shape == [4, 2]
    s2 = summary(net, input_data=torch.rand(6, 3))
    assert s2.rows[0].output_shape == [6, 2] and s2.input_shape == [6, 3]
    s3 = summary(net)
    assert s3.rows[0].output_shape is None and s3.total_params == 3 * 5 + 5 + 5 * 2 + 2
