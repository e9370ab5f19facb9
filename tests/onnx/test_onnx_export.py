"""ONNX export: names, ties, dynamic axes, files, modes and errors."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import weightwise as ww
from weightwise.ops import movement as M
from weightwise.ops.activation import relu
from weightwise.ops.linalg import linear

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from weightwise.onnx import UnsupportedOperatorError, export  # noqa: E402


class Fn:
    def __init__(self, f, params=(), buffers=()):
        self.f, self.params, self.buffers = f, list(params), list(buffers)

    def named_parameters(self):
        return iter(self.params)

    def named_buffers(self):
        return iter(self.buffers)

    def __call__(self, *xs):
        return self.f(*xs)


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def forward(model, *xs):
    with ww.no_grad():
        out = model(*xs)
    if isinstance(out, ww.Tensor):
        return out.numpy()
    flat, stack = [], [out]
    while stack:
        o = stack.pop()
        if isinstance(o, ww.Tensor):
            flat.append(o.numpy())
        else:
            stack.extend(reversed(o))
    return flat


def p(*shape):
    return ww.randn(*shape).requires_grad_()


def mlp():
    ww.manual_seed(1)
    w1, b1, w2, b2 = p(8, 24), p(8), p(3, 8), p(3)
    f = Fn(lambda x: linear(relu(linear(M.flatten(x, 1), w1, b1)), w2, b2),
           [("0.weight", w1), ("0.bias", b1), ("2.weight", w2), ("2.bias", b2)])
    return f


def test_initializers_named_like_parameters():
    model = mlp()
    x = ww.randn(5, 2, 3, 4)
    proto = export(model, (x,), io.BytesIO())
    onnx.checker.check_model(proto, full_check=True)
    assert [t.name for t in proto.graph.initializer] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for t, (_, prm) in zip(proto.graph.initializer, model.params):
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(t), prm.detach().numpy())
    assert [n.op_type for n in proto.graph.node].count("Gemm") == 2
    np.testing.assert_allclose(session(proto).run(None, {"input": x.numpy()})[0], forward(model, x), rtol=1e-5, atol=1e-6)


def test_tied_parameter_is_one_initializer():
    ww.manual_seed(2)
    w, b = p(8, 8), p(8)
    f = Fn(lambda x: linear(relu(linear(relu(linear(x, w, b)), w, b)), w, b),
           [("2.weight", w), ("2.bias", b), ("4.weight", w), ("4.bias", b)])
    x = ww.randn(4, 8)
    proto = export(f, x, io.BytesIO())
    assert [t.name for t in proto.graph.initializer] == ["2.weight", "2.bias"]
    gemms = [n for n in proto.graph.node if n.op_type == "Gemm"]
    assert len(gemms) == 3 and all(list(n.input[1:]) == ["2.weight", "2.bias"] for n in gemms)
    np.testing.assert_allclose(session(proto).run(None, {"input": x.numpy()})[0], forward(f, x), rtol=1e-5, atol=1e-6)


def test_dynamic_batch_axis():
    model = mlp()
    proto = export(model, (ww.randn(5, 2, 3, 4),), io.BytesIO(), input_names=["x"], output_names=["y"],
                   dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = session(proto)
    for n in (1, 2, 9):
        x = ww.randn(n, 2, 3, 4)
        np.testing.assert_allclose(sess.run(None, {"x": x.numpy()})[0], forward(model, x), rtol=1e-5, atol=1e-6)


def test_dynamic_batch_through_reshapes_and_slices():
    ww.manual_seed(3)
    w = p(4, 4)

    def f(x):
        h = x.view(-1, 4) @ w  # (N*3, 4)
        h = h.view(-1, 3, 4).transpose(1, 2)  # (N, 4, 3)
        h = h[:, 1:, :2].sum(-1) + x.mean(2)
        return M.cat([h, h.unsqueeze(1).expand(-1, 2, -1).reshape(h.shape[0], -1)], 1).softmax(1)

    model = Fn(f, [("w", w)])
    proto = export(model, ww.randn(4, 3, 4), io.BytesIO(), dynamic_axes={"input": [0]})
    sess = session(proto)
    for n in (2, 7):
        x = ww.randn(n, 3, 4)
        np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], forward(model, x), rtol=1e-5, atol=1e-6)


def test_file_round_trip(tmp_path):
    model = mlp()
    x = ww.randn(2, 2, 3, 4)
    path = tmp_path / "model.onnx"
    export(model, (x,), path)
    export(model, (x,), str(tmp_path / "m2.onnx"))
    with open(tmp_path / "m3.onnx", "wb") as fh:
        export(model, (x,), fh)
    blobs = [(tmp_path / n).read_bytes() for n in ("model.onnx", "m2.onnx", "m3.onnx")]
    assert blobs[0] == blobs[1] == blobs[2]
    onnx.checker.check_model(str(path), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], forward(model, x), rtol=1e-5, atol=1e-6)


def test_multiple_outputs_and_identity_output():
    ww.manual_seed(4)
    w = p(3, 4)
    model = Fn(lambda x, y: (linear(x, w), x, (y * 2, y * 2)), [("w", w)])
    x, y = ww.randn(2, 4), ww.randn(3)
    proto = export(model, (x, y), io.BytesIO(), output_names=["a", "b"])
    onnx.checker.check_model(proto, full_check=True)
    assert [o.name for o in proto.graph.output] == ["a", "b", "output_2", "output_3"]
    got = session(proto).run(None, {"input_0": x.numpy(), "input_1": y.numpy()})
    for g, want in zip(got, forward(model, x, y)):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_constants_are_folded():
    ww.manual_seed(5)
    c = ww.arange(4.0)
    model = Fn(lambda x: x + (c * 2).exp().sum())
    proto = export(model, ww.randn(4), io.BytesIO())
    assert [n.op_type for n in proto.graph.node] == ["Constant", "Add"]
    x = ww.randn(4)
    np.testing.assert_allclose(session(proto).run(None, {"input": x.numpy()})[0], forward(model, x), rtol=1e-5)


def test_integer_index_input_feeds_gather():
    ww.manual_seed(6)
    emb = p(10, 3)
    model = Fn(lambda idx: emb[idx].sum(1), [("emb.weight", emb)])
    idx = ww.tensor([[1, 2], [9, 0], [3, 3]])
    proto = export(model, (idx,), io.BytesIO(), dynamic_axes={"input": {0: "b", 1: "s"}})
    onnx.checker.check_model(proto, full_check=True)
    sess = session(proto)
    for i in (idx, ww.tensor([[4, 5, 6, 7]])):
        np.testing.assert_allclose(sess.run(None, {"input": i.numpy()})[0], forward(model, i), rtol=1e-5, atol=1e-6)


def test_state_restored_after_export():
    ww.manual_seed(7)
    frozen = ww.randn(3, 3)
    model = Fn(lambda x: linear(x, frozen).t(), [("w", frozen)])
    x = ww.randn(2, 3)
    proto = export(model, x, io.BytesIO())
    assert not frozen.requires_grad and not x.requires_grad and x.grad_fn is None
    assert [t.name for t in proto.graph.initializer] == ["w"]


# ------------------------------------------------------------------------------------------
# Errors


def test_unsupported_op_names_the_op():
    from weightwise.nn.functional import mse_loss

    model = Fn(lambda x: mse_loss(x, ww.zeros(3)))
    with pytest.raises(UnsupportedOperatorError, match=r"'MseLossBackward0' \(MseLossBackward0\) at opset 17"):
        export(model, ww.randn(3), io.BytesIO())


def test_non_tensor_args_rejected():
    with pytest.raises(TypeError, match=r"args\[1\] is a int"):
        export(mlp(), (ww.randn(2, 2, 3, 4), 3), io.BytesIO())
    with pytest.raises(TypeError, match="'args' must be a Tensor or a tuple"):
        export(mlp(), np.zeros((2, 24)), io.BytesIO())


def test_bad_arguments_rejected():
    x = ww.randn(2, 2, 3, 4)
    with pytest.raises(ValueError, match="opset_version must be between 17"):
        export(mlp(), x, io.BytesIO(), opset_version=13)
    with pytest.raises(ValueError, match="dynamic_axes names 'nope'"):
        export(mlp(), x, io.BytesIO(), dynamic_axes={"nope": [0]})
    with pytest.raises(ValueError, match="out of range"):
        export(mlp(), x, io.BytesIO(), dynamic_axes={"input": [7]})
    with pytest.raises(ValueError, match="both an input and an output"):
        export(mlp(), x, io.BytesIO(), input_names=["a"], output_names=["a"])
    with pytest.raises(TypeError, match="binary mode"):
        export(mlp(), x, io.StringIO())
    with pytest.raises(TypeError, match="only tensors"):
        export(Fn(lambda x: 3), x, io.BytesIO())


def test_missing_onnx_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'weightwise\[onnx\]'"):
        export(mlp(), ww.randn(2, 24), io.BytesIO())


def test_import_weightwise_does_not_import_onnx():
    code = "import sys, weightwise, weightwise.onnx; assert 'onnx' not in sys.modules, 'onnx imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
