"""ONNX export of Modules: the chapter's nets, a tied layer, custom modules, module paths in errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

import weightwise as ww
from weightwise.nn import functional as F
from weightwise.nn.container import Sequential
from weightwise.nn.module import Module
from weightwise.nn.parameter import Parameter
from weightwise.ops.linalg import linear

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from weightwise.onnx import UnsupportedOperatorError, export  # noqa: E402


class _Lin(Module):
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.weight = Parameter(ww.randn(o, i) * 0.5)
        self.bias = Parameter(ww.randn(o) * 0.5)

    def forward(self, x):
        return linear(x, self.weight, self.bias)


class _ReLU(Module):
    def forward(self, x):
        return F.relu(x)


Linear = getattr(ww.nn, "Linear", _Lin)
ReLU = getattr(ww.nn, "ReLU", _ReLU)


def check(model, x, **kw):
    buf = io.BytesIO()
    proto = export(model, (x,), buf, **kw)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    with ww.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(sess.run(None, {proto.graph.input[0].name: x.numpy()})[0], want, rtol=1e-5, atol=1e-6)
    return proto


def test_chapter_sequential():
    ww.manual_seed(0)
    net = Sequential(Linear(4, 8), ReLU(), Linear(8, 1))
    proto = check(net, ww.rand(2, 4))
    assert [t.name for t in proto.graph.initializer] == [n for n, _ in net.named_parameters()]
    assert [t.name for t in proto.graph.initializer] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_chapter_shared_layer_one_initializer():
    ww.manual_seed(0)
    shared = Linear(8, 8)
    net = Sequential(Linear(4, 8), ReLU(), shared, ReLU(), shared, ReLU(), Linear(8, 1))
    proto = check(net, ww.rand(2, 4), dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    names = [t.name for t in proto.graph.initializer]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    uses = [i for n in proto.graph.node for i in n.input if i in ("2.weight", "2.bias")]
    assert uses.count("2.weight") == 2 and uses.count("2.bias") == 2
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = ww.rand(11, 4)
    with ww.no_grad():
        np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], net(x).numpy(), rtol=1e-5, atol=1e-6)


class FancyMLP(Module):
    """The book's FancyMLP: a constant weight, a reused layer, Python control flow."""

    def __init__(self) -> None:
        super().__init__()
        self.rand_weight = ww.rand(20, 20)
        self.linear = Linear(20, 20)

    def forward(self, x):
        x = self.linear(x)
        x = F.relu(ww.mm(x, self.rand_weight) + 1)
        x = self.linear(x)
        while x.abs().sum() > 1:
            x /= 2
        return x.sum()


def test_fancy_mlp_traces_its_example():
    ww.manual_seed(0)
    net = FancyMLP()
    proto = check(net, ww.rand(2, 20))
    assert [t.name for t in proto.graph.initializer] == ["linear.weight", "linear.bias"]


class NestedMLP(Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = Sequential(Linear(20, 64), ReLU(), Linear(64, 32), ReLU())
        self.linear = Linear(32, 16)

    def forward(self, x):
        return self.linear(self.net(x)).tanh().softmax(-1)


def test_nested_custom_module():
    ww.manual_seed(0)
    net = NestedMLP()
    proto = check(net, ww.rand(3, 20), opset_version=18)
    assert [t.name for t in proto.graph.initializer] == [n for n, _ in net.named_parameters()]


def test_export_restores_training_mode_and_flags():
    ww.manual_seed(0)
    net = Sequential(Linear(4, 4), ReLU())
    net[0].weight.requires_grad_(False)
    net.train()
    check(net, ww.rand(2, 4))
    assert net.training and net[0].training
    assert not net[0].weight.requires_grad and net[0].bias.requires_grad
    assert net[0].weight.grad is None


class Loss(Module):
    def forward(self, x):
        return F.mse_loss(x, ww.zeros(2, 4))


def test_unsupported_op_error_names_module_path():
    net = Sequential(Linear(4, 4), Sequential(ReLU(), Loss()))
    with pytest.raises(UnsupportedOperatorError, match=r"'MseLossBackward0'.* in module '1\.1' \(Loss\)"):
        export(net, ww.rand(2, 4), io.BytesIO())
