"""The neighbouring sections of the book print what PyTorch prints, character for character."""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "book_neighbours.py"


def _run(torch, nn, F, folder: Path) -> list[str]:
    spec = importlib.util.spec_from_file_location("book_neighbours", _EXAMPLE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    folder.mkdir()
    buf = io.StringIO()
    with redirect_stdout(buf):
        mod.run(torch, nn, F, str(folder))
    return buf.getvalue().splitlines()


def test_neighbouring_sections_print_what_pytorch_prints(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as tF

    import weightwise
    import weightwise.nn.functional as wF
    from weightwise import nn as wnn

    expected = _run(torch, torch.nn, tF, tmp_path / "torch")
    got = _run(weightwise, wnn, wF, tmp_path / "weightwise")
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"line {i + 1} differs:\n  weightwise: {g}\n  pytorch:    {e}"
