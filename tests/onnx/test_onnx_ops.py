"""ONNX export of single ops and small graphs, checked against onnxruntime."""

from __future__ import annotations

import io

import numpy as np
import pytest

import weightwise as ww
from weightwise.ops import elementwise as E
from weightwise.ops import movement as M
from weightwise.ops import reduce as R
from weightwise.ops.activation import elu, gelu, hardtanh, leaky_relu, relu, silu, softplus
from weightwise.ops.linalg import linear

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from weightwise.onnx import export  # noqa: E402


class Fn:
    """A duck-typed model: a function of the inputs plus named parameters."""

    def __init__(self, f, params=(), buffers=()):
        self.f = f
        self.params = list(params)
        self.buffers = list(buffers)

    def named_parameters(self):
        return iter(self.params)

    def named_buffers(self):
        return iter(self.buffers)

    def __call__(self, *xs):
        return self.f(*xs)


def run_onnx(proto, feeds):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def check(model, args, rtol=1e-5, atol=1e-6, **kw):
    """Export, check the model, run it in onnxruntime, compare with weightwise's outputs."""
    buf = io.BytesIO()
    proto = export(model, args, buf, **kw)
    loaded = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(loaded, full_check=True)
    args = args if isinstance(args, tuple) else (args,)
    names = [i.name for i in loaded.graph.input if i.name not in {t.name for t in loaded.graph.initializer}]
    got = run_onnx(loaded, {n: a.numpy() for n, a in zip(names, args)})
    with ww.no_grad():
        want = model(*args)
    want = want if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.numpy()
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return proto


def op_types(proto):
    return [n.op_type for n in proto.graph.node]


ww.manual_seed(0)
X = ww.randn(3, 4)
POS = ww.rand(3, 4) + 0.5
W = ww.randn(5, 4).requires_grad_()
B = ww.randn(5).requires_grad_()

UNARY = {
    "neg": lambda x: -x,
    "abs": lambda x: x.abs(),
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": relu,
    "leaky_relu": lambda x: leaky_relu(x, 0.2),
    "elu": lambda x: elu(x, 0.7),
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"),
    "silu": silu,
    "softplus": lambda x: softplus(x, beta=2.0, threshold=1.0),
    "hardtanh": lambda x: hardtanh(x, -0.5, 0.5),
    "clamp": lambda x: E.clamp(x, -0.3, 0.4),
    "clamp_min": lambda x: E.clamp(x, min=0.1),
    "softmax": lambda x: R.softmax(x, -1),
    "log_softmax": lambda x: R.log_softmax(x, 0),
    "add_scalar": lambda x: x + 1.5,
    "sub_scalar": lambda x: x - 0.1,
    "rsub": lambda x: 2 - x,
    "mul_scalar": lambda x: x * 3,
    "div_scalar": lambda x: x / 7,
    "rdiv": lambda x: 1 / (x.abs() + 1),
    "pow2": lambda x: x**2,
    "pow3": lambda x: x**3,
    "rpow": lambda x: 2**x,
    "square_sum": lambda x: (x * x + x).sum(),
    "sum_dim": lambda x: x.sum(1),
    "sum_keep": lambda x: x.sum(0, keepdim=True),
    "mean": lambda x: x.mean(),
    "mean_dim": lambda x: x.mean(-1),
    "max": lambda x: x.max(),
    "max_dim": lambda x: x.max(1)[0],
    "min_dim_keep": lambda x: x.min(0, keepdim=True)[0],
    "amax": lambda x: R.amax(x, 1),
    "var": lambda x: x.var(1),
    "std": lambda x: x.std(),
    "prod": lambda x: R.prod(x, 1),
    "norm": lambda x: R.norm(x),
    "norm1": lambda x: R.norm(x, 1, dim=1),
    "logsumexp": lambda x: R.logsumexp(x, 1),
    "cumsum": lambda x: R.cumsum(x, 1),
    "view": lambda x: x.view(2, 6),
    "reshape_neg": lambda x: x.reshape(-1),
    "flatten": lambda x: M.flatten(x),
    "transpose": lambda x: x.transpose(0, 1) * 1,
    "t": lambda x: x.t().exp(),
    "permute": lambda x: x.reshape(3, 2, 2).permute(2, 0, 1),
    "squeeze": lambda x: x.reshape(3, 1, 4).squeeze(1),
    "squeeze_all": lambda x: x.reshape(1, 3, 1, 4).squeeze(),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "expand": lambda x: x[:1].expand(5, 4),
    "repeat": lambda x: x.repeat(2, 1, 1),
    "slice": lambda x: x[1:, ::2],
    "select": lambda x: x[1],
    "select_neg": lambda x: x[:, -1],
    "none_index": lambda x: x[None, :, 2],
    "ellipsis": lambda x: x[..., 1:3],
    "none_only": lambda x: x[None],
    "none_last": lambda x: x[..., None] * 2,
    "index_array": lambda x: x[ww.tensor([2, 0, 2])],
    "index_mask": lambda x: x[:, ww.tensor([True, False, True, True])],
    "gather": lambda x: M.gather(x, 1, ww.tensor([[0, 1], [3, 3], [2, 0]])),
    "cat": lambda x: M.cat([x, x * 2], 1),
    "stack": lambda x: M.stack([x, x.exp()], 1),
    "split": lambda x: M.split(x, 3, 1)[1],
    "chunk": lambda x: M.chunk(x, 2, 0)[0],
    "flip": lambda x: M.flip(x, [0, 1]),
    "where_const": lambda x: E.where(ww.tensor([True, False, True, False]), x, x * 0.5),
    "maximum": lambda x: E.maximum(x, x.t().sum(1)[:4] * 0 + 0.2),
    "minimum": lambda x: E.minimum(x, ww.zeros(4)),
    "clone_cast": lambda x: x.clone().double() * 2,
    "mm": lambda x: x.mm(x.t()),
    "matmul_3d": lambda x: x.reshape(3, 2, 2) @ x.reshape(3, 2, 2),
    "linear": lambda x: linear(x, W, B),
    "linear_nobias": lambda x: linear(x, W),
    "linear_3d": lambda x: linear(x.reshape(3, 1, 4), W, B),
    "addmm": lambda x: ww.addmm(B, x, W.t()) if hasattr(ww, "addmm") else linear(x, W, B),
}
POSITIVE = {
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "rsqrt": lambda x: x.rsqrt(),
    "log1p": lambda x: x.log1p(),
    "log2": lambda x: x.log2(),
    "pow_frac": lambda x: x**0.7,
    "pow_tensor": lambda x: x**x,
    "div": lambda x: x / (x + 1),
    "reciprocal": lambda x: x.reciprocal(),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_op_matches_onnxruntime(name):
    check(Fn(UNARY[name], [("w", W), ("b", B)]), (X,))


@pytest.mark.parametrize("name", sorted(POSITIVE))
def test_positive_op_matches_onnxruntime(name):
    check(Fn(POSITIVE[name]), (POS,))


def test_binary_ops_two_inputs():
    f = Fn(lambda a, b: (a + b) * (a - b) / (b.abs() + 1) + E.maximum(a, b) - E.minimum(a, b))
    proto = check(f, (X, ww.randn(4)), input_names=["a", "b"])
    assert [i.name for i in proto.graph.input] == ["a", "b"]


def test_gelu_opset20_uses_gelu_node():
    proto = check(Fn(gelu), (X,), opset_version=20)
    assert "Gelu" in op_types(proto)
    assert "Gelu" not in op_types(check(Fn(gelu), (X,), opset_version=17))
    assert "Erf" in op_types(check(Fn(gelu), (X,), opset_version=17))


def test_reductions_opset18_axes_as_inputs():
    check(Fn(lambda x: x.mean(1) + R.amax(x, 1) + x.sum(1)), (X,), opset_version=18)


def test_buffer_becomes_initializer():
    scale = ww.rand(4) + 1
    model = Fn(lambda x: x * scale, buffers=[("scale", scale)])
    proto = check(model, (X,))
    assert [t.name for t in proto.graph.initializer] == ["scale"]
