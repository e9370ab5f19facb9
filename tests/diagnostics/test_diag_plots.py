"""Plots rendered for real: PNGs of the expected size that are not blank, and the HTML report."""

from __future__ import annotations

import base64
import io
import re
import struct

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import weightwise as torch  # noqa: E402
from weightwise import nn  # noqa: E402
from weightwise.diagnostics import plots  # noqa: E402
from weightwise.diagnostics.monitor import TrainingMonitor  # noqa: E402


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, str]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = str(tmp_path_factory.mktemp("run") / "run.jsonl")
    mon = TrainingMonitor(net, opt, every=5, path=path)
    x, y = torch.rand(32, 6), torch.rand(32, 3)
    for _ in range(30):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        mon.log(loss=loss)
        opt.step()
    mon.close()
    return mon.records, path


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _pixels(data: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_norm_and_histogram_figures_are_real_pngs(records) -> None:
    recs, _ = records
    norms = plots.figure_png(plots.plot_norms(recs))
    assert _png_size(norms) == (11 * plots.DPI, 7 * plots.DPI)
    hist = plots.figure_png(plots.plot_histograms(recs, "grad"))
    w, h = _png_size(hist)
    assert (w, h) == (3 * 4 * plots.DPI, int(round((2 * 2.6 + 0.6) * plots.DPI)))
    for data in (norms, hist):
        px = _pixels(data)[..., :3]
        assert px.std() > 0.05  # not a blank canvas
        assert (px.min(axis=2) < 0.9).mean() > 0.01  # a fair amount of ink
        colourful = np.abs(px[..., 0] - px[..., 2]) > 0.2
        assert colourful.mean() > 0.001  # the coloured curves are drawn


def test_plots_read_the_jsonl_file_and_check_arguments(records) -> None:
    recs, path = records
    again = plots.load_records(path)
    assert [r["step"] for r in again] == [r["step"] for r in recs] == [1, 5, 10, 15, 20, 25, 30]
    with pytest.raises(ValueError, match="which must be 'param' or 'grad'"):
        plots.plot_histograms(again, "weights")


def test_report_is_one_self_contained_html(records, tmp_path) -> None:
    recs, path = records
    out = plots.write_report(path, tmp_path / "report.html", summary_text="<model & text>",
                             png_dir=tmp_path / "png")
    html = (tmp_path / "report.html").read_text()
    imgs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(imgs) == 3 == len(out["pngs"])
    for b64, png_path in zip(imgs, out["pngs"]):
        data = base64.b64decode(b64)
        with open(png_path, "rb") as f:
            assert data == f.read()
        assert _pixels(data).std() > 0.05
    assert "&lt;model &amp; text&gt;" in html and "http" not in html.replace("http-equiv", "")


def test_missing_matplotlib_gives_a_clear_message(records, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'weightwise\[plot\]'"):
        plots.plot_norms(records[0])
