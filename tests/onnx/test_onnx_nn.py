"""ONNX export of every nn layer (eval mode), containers, the chapter's models, and the trace check."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import weightwise as ww
from weightwise import nn
from weightwise.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from weightwise.onnx import OnnxExporterError, TracerWarning, UnsupportedOperatorError, export  # noqa: E402


def check(model, *xs, others=(), rtol=1e-5, atol=1e-5, **kw):
    """Export, run the checker, compare onnxruntime with eval-mode outputs (also on `others`)."""
    buf = io.BytesIO()
    proto = export(model, xs, buf, **kw)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    names = [i.name for i in proto.graph.input]
    was = getattr(model, "training", False)
    model.eval()
    for args in (xs, *others):
        with ww.no_grad():
            want = model(*args)
        got = sess.run(None, dict(zip(names, [a.numpy() for a in args])))
        want = want if isinstance(want, (tuple, list)) else (want,)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=rtol, atol=atol)
    model.train(was)
    return proto


def inits(proto):
    return [t.name for t in proto.graph.initializer]


def ops(proto):
    return [n.op_type for n in proto.graph.node if n.op_type != "Constant"]


@pytest.fixture(autouse=True)
def _seed():
    ww.manual_seed(0)


# ------------------------------------------------------------------------------------ layers


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    m = nn.Linear(4, 5, bias=bias)
    proto = check(m, ww.randn(*shape), others=[(ww.randn(*shape),)])
    assert inits(proto) == (["weight", "bias"] if bias else ["weight"])


def test_linear_dynamic_batch():
    m = nn.Linear(4, 5)
    proto = check(m, ww.randn(2, 3, 4), dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = ww.randn(7, 3, 4)
    with ww.no_grad():
        np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], m(x).numpy(), rtol=1e-5, atol=1e-6)


def test_lazy_linear():
    m = nn.Sequential(nn.LazyLinear(5), nn.ReLU())
    proto = check(m, ww.randn(3, 4))
    assert inits(proto) == ["0.weight", "0.bias"]


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    m = nn.Bilinear(4, 3, 5, bias=bias)
    check(m, ww.randn(6, 4), ww.randn(6, 3))
    check(m, ww.randn(2, 6, 4), ww.randn(2, 6, 3))


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(affine):
    m = nn.LayerNorm([3, 4], eps=1e-2, elementwise_affine=affine)
    if affine:
        m.weight.data.normal_()
        m.bias.data.normal_()
    proto = check(m, ww.randn(2, 3, 4) * 3 + 1)
    assert ops(proto) == ["LayerNormalization"]
    assert inits(proto) == (["weight", "bias"] if affine else [])
    eps = [a.f for n in proto.graph.node for a in n.attribute if a.name == "epsilon"]
    assert eps == [pytest.approx(1e-2)]


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval(shape, affine):
    m = nn.BatchNorm1d(4, eps=1e-3, affine=affine)
    m.train()
    for _ in range(3):
        m(ww.randn(*shape) * 2 + 1)  # move the running statistics off their start
    if affine:
        m.weight.data.normal_()
        m.bias.data.normal_()
    proto = check(m, ww.randn(*shape), others=[(ww.randn(*shape),)])
    assert m.training  # the training flag comes back
    assert ops(proto) == ["BatchNormalization"]
    assert [n for n in inits(proto) if "running" in n] == ["running_mean", "running_var"]


def test_embedding_int64_indices():
    m = nn.Embedding(10, 3)
    idx = ww.tensor([[1, 2, 4], [9, 0, 4]])
    assert idx.dtype == ww.int64
    proto = check(m, idx, others=[(ww.tensor([[3, 3, 3], [8, 7, 6]]),)])
    assert inits(proto) == ["weight"] and ops(proto) == ["Gather"]
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_dropout_is_identity_in_eval():
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    m.train()
    proto = check(m, ww.randn(3, 4))
    assert ops(proto) == ["Gemm"]
    assert m.training


@pytest.mark.parametrize("layer", [
    nn.ReLU(), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.ELU(), nn.ELU(alpha=0.5),
    nn.LeakyReLU(), nn.LeakyReLU(0.2), nn.Softmax(dim=-1), nn.Softmax(dim=0), nn.LogSoftmax(dim=1),
    nn.Tanh(), nn.Sigmoid(), nn.Identity(),
], ids=repr)
def test_activations(layer):
    check(layer, ww.randn(3, 5) * 3)


@pytest.mark.parametrize("opset", [17, 20])
def test_gelu_opsets(opset):
    check(nn.GELU(), ww.randn(3, 5) * 3, opset_version=opset)


def test_flatten_unflatten():
    check(nn.Flatten(), ww.randn(2, 3, 4))
    check(nn.Flatten(0, 1), ww.randn(2, 3, 4))
    check(nn.Unflatten(1, (2, 6)), ww.randn(3, 12))
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Unflatten(1, (2, 3)))
    proto = check(m, ww.randn(2, 3, 4), dynamic_axes={"input": {0: "n"}, "output": {0: "n"}})
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = ww.randn(5, 3, 4)
    with ww.no_grad():
        np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], m(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shapes", [((3, 4), (2, 4, 5)), ((4,), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 5))])
def test_matmul_shapes(shapes):
    class MatMul(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(ww.randn(*shapes[1]))

        def forward(self, x):
            return x @ self.w

    check(MatMul(), ww.randn(*shapes[0]))


def test_remainder():
    class Mod(nn.Module):
        def forward(self, x):
            return (x % 1.5) + (x % -0.5) + x % (x.abs() + 1)

    check(Mod(), ww.randn(4, 5) * 4)


# ------------------------------------------------------------------------------------ containers


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.GELU()) for _ in range(2)])
        self.heads = nn.ModuleDict({"a": nn.Linear(8, 3), "b": nn.Sequential(nn.Linear(8, 4), nn.LogSoftmax(-1))})

    def forward(self, x):
        for blk in self.blocks:
            x = x + blk(x)
        return self.heads["a"](x), self.heads["b"](x)


def test_nested_sequential_modulelist_moduledict():
    m = Net()
    proto = check(m, ww.randn(4, 8), others=[(ww.randn(4, 8),)])
    assert inits(proto) == [n for n, _ in m.named_parameters()]
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]
    # Node names carry the innermost module's path.
    names = [n.name for n in proto.graph.node if n.op_type == "LayerNormalization"]
    assert names == ["/blocks.0.1/LayerNormalization", "/blocks.1.1/LayerNormalization"]


def test_deeply_nested_sequential():
    m = nn.Sequential(nn.Sequential(nn.Linear(4, 6), nn.Sequential(nn.SiLU(), nn.Linear(6, 2))), nn.Softmax(-1))
    proto = check(m, ww.randn(3, 4))
    assert inits(proto) == ["0.0.weight", "0.0.bias", "0.1.1.weight", "0.1.1.bias"]


class FancyMLP(nn.Module):
    """The book's FancyMLP."""

    def __init__(self) -> None:
        super().__init__()
        # Random weight parameters that will not compute gradients and therefore keep constant.
        self.rand_weight = ww.rand((20, 20), requires_grad=False)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(ww.mm(X, self.rand_weight) + 1)
        X = self.linear(X)  # reuse the fully connected layer: parameters shared
        while X.abs().sum() > 1:  # control flow, traced for the example input
            X /= 2
        return X.sum()


def test_fancy_mlp():
    net = FancyMLP()
    x = ww.rand(2, 20)
    proto = check(net, x)
    assert inits(proto) == ["linear.weight", "linear.bias"]
    with ww.no_grad():
        y = net.linear(F.relu(ww.mm(net.linear(x), net.rand_weight) + 1))
    halvings = 0
    while y.abs().sum() > 1:
        y /= 2
        halvings += 1
    assert ops(proto).count("Div") == halvings > 0
    assert ops(proto).count("Gemm") == 2
    # The constant weight is a Constant; the MatMul and the +1 belong to the root, not to 'linear'.
    consts = [n for n in proto.graph.node if n.op_type == "Constant"]
    assert any(list(n.attribute[0].t.dims) == [20, 20] for n in consts)
    assert [n.name for n in proto.graph.node if n.op_type in ("MatMul", "Add")] == ["/MatMul", "/Add"]
    assert [n.name for n in proto.graph.node if n.op_type == "Gemm"] == ["/linear/Gemm", "/linear/Gemm_1"]


def test_fancy_mlp_scalar_constant_is_exact():
    class AddSub(nn.Module):
        def forward(self, x):
            return (x + 1e-3) - 0.1 + 3

    proto = check(AddSub(), ww.randn(4, 4) * 1e4, rtol=0, atol=0)
    vals = [float(onnx.numpy_helper.to_array(n.attribute[0].t)) for n in proto.graph.node if n.op_type == "Constant"]
    assert vals == [np.float32(1e-3), np.float32(0.1), 3.0]


def test_tied_net_one_initializer():
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    proto = check(net, ww.rand(2, 4))
    assert inits(proto) == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    uses = [i for n in proto.graph.node for i in n.input]
    assert uses.count("2.weight") == 2 and uses.count("2.bias") == 2


def test_tied_parameter_across_modules():
    class TiedLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, idx):
            return self.out(self.emb(idx))

    proto = check(TiedLM(), ww.tensor([[1, 2], [3, 9]]))
    assert inits(proto) == ["emb.weight"]


# ------------------------------------------------------------------------------------ trace check


class Masked(nn.Module):
    def forward(self, x):
        return ww.where(x > 0, x, x * 0.1)


def test_mask_from_input_is_refused():
    net = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Identity(), Masked()))
    with pytest.raises(OnnxExporterError, match=r"'WhereBackward0'.*in module '1\.1' \(Masked\).*x > 0"):
        export(net, ww.randn(3, 4), io.BytesIO())
    # Exporting anyway is possible on request (the result is right for the example only).
    export(net, ww.randn(3, 4), io.BytesIO(), check_trace=False)


def test_index_from_input_is_refused():
    class ArgmaxEmbed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10, 3)

        def forward(self, x):
            return self.emb(x.argmax(-1))

    with pytest.raises(OnnxExporterError, match=r"'EmbeddingBackward0'.*module 'emb' \(Embedding\).*int64"):
        export(ArgmaxEmbed(), ww.rand(4, 10), io.BytesIO())


def test_item_from_input_is_refused():
    class Item(nn.Module):
        def forward(self, x):
            return x * x.sum().item()

    with pytest.raises(OnnxExporterError, match=r"'MulBackward0'.*model's own forward.*\.item\(\)"):
        export(Item(), ww.rand(2, 3), io.BytesIO())


def test_detached_statistic_is_refused():
    class Center(nn.Module):
        def forward(self, x):
            return x - x.detach().mean()

    with pytest.raises(OnnxExporterError, match="SubBackward0"):
        export(Center(), ww.rand(2, 3), io.BytesIO())


def test_random_constant_in_forward_is_not_refused():
    class Noisy(nn.Module):
        def forward(self, x):
            return x + ww.randn(3)

    x, net = ww.rand(2, 3), Noisy()
    ww.manual_seed(1)
    noise = ww.randn(3).numpy()
    after_one = ww.randn(2).numpy()
    ww.manual_seed(1)
    proto = export(net, x, io.BytesIO())
    consts = [onnx.numpy_helper.to_array(n.attribute[0].t) for n in proto.graph.node if n.op_type == "Constant"]
    np.testing.assert_array_equal(consts[0], noise)
    # The random stream advanced as after one forward.
    np.testing.assert_array_equal(ww.randn(2).numpy(), after_one)


def test_value_dependent_graph_warns():
    x = ww.tensor([[1.0, -2.0], [3.0, -4.0]])

    class Branchy(nn.Module):
        def forward(self, t):
            return t.exp() if bool((t == x).all()) else t.tanh()  # only the example takes this branch

    with pytest.warns(TracerWarning, match="changes with the input values"):
        export(Branchy(), x, io.BytesIO())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export(Branchy(), x, io.BytesIO(), check_trace=False)


# ------------------------------------------------------------------------------------ errors


class Rem(nn.Module):
    def forward(self, x):
        return F.mse_loss(x, ww.zeros(2, 4))


def test_unsupported_op_names_module_path_and_class():
    net = nn.Sequential(nn.Linear(4, 4), nn.ModuleDict({"inner": nn.Sequential(nn.ReLU(), Rem())}))

    class Wrap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = net

        def forward(self, x):
            return self.body[1]["inner"](self.body[0](x))

    with pytest.raises(UnsupportedOperatorError, match=r"in module 'body\.1\.inner\.1' \(Rem\)"):
        export(Wrap(), ww.rand(2, 4), io.BytesIO())
