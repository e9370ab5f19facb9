"""The extra activation modules export to ONNX and onnxruntime agrees with them."""

from __future__ import annotations

import io

import numpy as np
import pytest

import weightwise as ww
from weightwise import nn
from weightwise.onnx import export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _check(model, x, opset=17):
    buf = io.BytesIO()
    export(model, (x,), buf, opset_version=opset)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()), full_check=True)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with ww.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", [
    nn.SELU(), nn.CELU(0.5), nn.Mish(), nn.Hardswish(), nn.Hardsigmoid(), nn.LogSigmoid(), nn.Softsign(),
    nn.Tanhshrink(), nn.Threshold(0.1, 20.0), nn.Softshrink(0.3), nn.Hardshrink(0.3), nn.ReLU6(),
    nn.Hardtanh(-2.0, 2.0), nn.Softmin(1), nn.GLU(1), nn.PReLU(), nn.PReLU(4, 0.1), nn.Softplus(2.0, 5.0),
], ids=repr)
@pytest.mark.parametrize("opset", [17, 18])
def test_extra_activations(layer, opset):
    ww.manual_seed(0)
    _check(layer, ww.randn(3, 4, 2) * 4, opset)


@pytest.mark.parametrize("layer", [nn.GroupNorm(2, 4), nn.GroupNorm(1, 4, affine=False), nn.GroupNorm(4, 4, bias=False),
                                   nn.RMSNorm(2), nn.RMSNorm([4, 2], eps=1e-3, elementwise_affine=False)], ids=repr)
def test_group_and_rms_norm(layer):
    ww.manual_seed(0)
    with ww.no_grad():
        for p in layer.parameters():
            p.uniform_(0.5, 1.5)
    _check(layer, ww.randn(3, 4, 2) * 4)


class _Div(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x):  # type: ignore[no-untyped-def]
        return ww.div(x, ww.tensor([2.0, -3.0, 0.5], dtype=x.dtype), rounding_mode=self.mode)


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_division_with_a_rounding_mode(mode):
    _check(_Div(mode), ww.tensor([[7.0, -7.0, 5.0], [-8.0, 9.5, -1.0]]) * 1.5)
