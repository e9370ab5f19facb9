"""Run the same code on PyTorch and on weightwise and compare what it prints."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import Any, Callable

import pytest


def libs() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch")
    import weightwise

    return torch, weightwise


def printed(fn: Callable[[Any, Any], Any], lib: Any) -> str:
    buf = io.StringIO()
    with redirect_stdout(buf):
        fn(lib, lib.nn)
    return buf.getvalue()


def same_output(fn: Callable[[Any, Any], Any]) -> str:
    """Run `fn(torch, nn)` on both libraries; assert identical printed text; return it."""
    torch, ww = libs()
    expected = printed(fn, torch)
    got = printed(fn, ww)
    assert got == expected, f"weightwise printed:\n{got}\nPyTorch printed:\n{expected}"
    return got


def same_error(fn: Callable[[Any, Any], Any], fix: Callable[[str], str] = lambda s: s) -> str:
    """`fn` raises the same exception type with the same message (after `fix`) on both."""
    torch, ww = libs()
    errs = []
    for lib in (torch, ww):
        with pytest.raises(Exception) as info:
            fn(lib, lib.nn)
        errs.append(info)
    te, we = errs
    assert type(we.value).__name__ == type(te.value).__name__, (we.value, te.value)
    # Module paths differ (torch.nn.modules.linear.Linear vs weightwise.nn.linear.Linear).
    t_msg = fix(str(te.value).replace("torch.nn.modules.", "torch.nn."))
    w_msg = fix(str(we.value).replace("weightwise.", "torch."))
    assert w_msg == t_msg, f"weightwise: {w_msg!r}\nPyTorch:    {t_msg!r}"
    return w_msg
