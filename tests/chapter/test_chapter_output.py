"""The whole chapter prints, character for character, what PyTorch prints after the same seed."""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chapter_parameters.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("chapter_parameters", _EXAMPLE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _printed(torch, nn) -> list[str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        _load_example().run(torch, nn)
    return buf.getvalue().splitlines()


def test_chapter_prints_what_pytorch_prints() -> None:
    torch = pytest.importorskip("torch")
    import weightwise
    from weightwise import nn as wnn

    expected = _printed(torch, torch.nn)
    got = _printed(weightwise, wnn)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"line {i + 1} differs:\n  weightwise: {g}\n  pytorch:    {e}"
