"""Runs first and fast: the chapter's opening cell works end to end."""

import weightwise as torch


def test_tensor_autograd_smoke() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 4)
    w = torch.rand(3, 4, requires_grad=True)
    y = (x @ w.T).relu().sum()
    y.backward()
    assert w.grad is not None and w.grad.shape == (3, 4)
    assert y.grad_fn.name() == "SumBackward0"
