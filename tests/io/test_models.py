"""io against the real nn, optim and lr_scheduler: resume, load_into, provenance via state_dict."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import weightwise as ww
import weightwise.io as wio
from weightwise import nn
from weightwise.optim import Adam
from weightwise.optim.lr_scheduler import StepLR


def params(model: nn.Module) -> dict[str, bytes]:
    return {k: v.detach().numpy().tobytes() for k, v in model.state_dict().items()}


def build(seed: int) -> tuple[nn.Module, Adam, StepLR]:
    ww.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))
    opt = Adam(model.parameters(), lr=1e-2)
    return model, opt, StepLR(opt, step_size=2, gamma=0.5)


def train(model: nn.Module, opt: Adam, sched: StepLR, steps: int) -> list[float]:
    rng = np.random.default_rng(7)
    x = ww.from_numpy(rng.standard_normal((8, 4)).astype(np.float32))
    y = ww.from_numpy(rng.standard_normal((8, 1)).astype(np.float32))
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()    # dropout draws from the global generator
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("fmt", ["safetensors", "torch"])
def test_resume_is_bit_exact(tmp_path, fmt):
    p = tmp_path / "ck"
    model, opt, sched = build(0)
    train(model, opt, sched, 3)
    wio.save_checkpoint(p, model=model, optimizer=opt, scheduler=sched, step=3, format=fmt)
    expected_losses = train(model, opt, sched, 5)
    expected = params(model)

    # A fresh process state: other weights, another random position, new optimizer and scheduler.
    model2, opt2, sched2 = build(123)
    ww.rand(17)
    ck = wio.load_checkpoint(p, model=model2, optimizer=opt2, scheduler=sched2)
    assert ck["step"] == 3
    assert train(model2, opt2, sched2, 5) == expected_losses
    assert params(model2) == expected
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 1e-2 * 0.5 ** 4


def test_resume_without_rng_state_differs(tmp_path):
    """The random state is what makes dropout repeat: without it the runs part ways."""
    p = tmp_path / "ck.safetensors"
    model, opt, sched = build(0)
    train(model, opt, sched, 2)
    wio.save_checkpoint(p, model=model, optimizer=opt, scheduler=sched, step=2, rng=False)
    train(model, opt, sched, 3)
    model2, opt2, sched2 = build(5)
    wio.load_checkpoint(p, model=model2, optimizer=opt2, scheduler=sched2)
    train(model2, opt2, sched2, 3)
    assert params(model2) != params(model)


def tied_model() -> nn.Sequential:
    shared = nn.Linear(3, 3)
    return nn.Sequential(shared, nn.ReLU(), shared)


def test_load_into_real_module_reties_shared_linear(tmp_path):
    p = tmp_path / "tied.safetensors"
    ww.manual_seed(1)
    src = tied_model()
    wio.save(src.state_dict(), p)
    with wio.open_checkpoint(p) as ck:
        assert ck.aliases == {"2.weight": "0.weight", "2.bias": "0.bias"}
    ww.manual_seed(2)
    dst = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    assert dst[0].weight is not dst[2].weight
    wio.load_into(dst, p)
    assert dst[0].weight is dst[2].weight and dst[0].bias is dst[2].bias
    assert isinstance(dst[0].weight, nn.Parameter)
    assert len(list(dst.parameters())) == 2                     # deduplicated, as in PyTorch
    x = ww.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert dst(x).detach().numpy().tobytes() == src(x).detach().numpy().tobytes()


def test_load_into_failure_leaves_model_unchanged(tmp_path, monkeypatch):
    p = tmp_path / "tied.safetensors"
    wio.save(tied_model().state_dict(), p)

    bad = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 4))    # shape mismatch
    before = params(bad)
    with pytest.raises(RuntimeError, match="size mismatch for 2.weight"):
        wio.load_into(bad, p)
    assert params(bad) == before and bad[0].weight is not bad[2].weight

    # A failure after the ties were made (inside load_state_dict) undoes them.
    dst = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))
    before, w0, w2 = params(dst), dst[0].weight, dst[2].weight

    def boom(*args: object, **kw: object) -> None:
        assert dst[0].weight is dst[2].weight                    # the ties were in place
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(dst, "load_state_dict", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        wio.load_into(dst, p)
    assert dst[0].weight is w0 and dst[2].weight is w2 and params(dst) == before
    assert len(list(dst.parameters())) == 4


def test_state_dict_provenance_is_saved(tmp_path):
    ww.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    sd = model.state_dict()
    if not isinstance(getattr(sd, "_provenance", None), dict):
        pytest.skip("Module.state_dict() does not set the _provenance attribute in this version")
    assert "_provenance" not in vars(sd["0.weight"])            # detached: only the dict has it
    records = sd._provenance
    assert records["0.weight"]["fn"] == "kaiming_uniform_"

    p = tmp_path / "m.safetensors"
    wio.save(sd, p)
    with wio.open_checkpoint(p) as ck:
        assert ck.provenance == records
    out = wio.load(p)
    assert isinstance(out, OrderedDict) and out._provenance == records

    # Explicit metadata wins over the dict's records; the rest are kept.
    mine = {"0.bias": {"fn": "zeros_", "note": "by hand"}}
    wio.save(sd, p, metadata={"provenance": mine})
    with wio.open_checkpoint(p) as ck:
        assert ck.provenance == {**records, **mine}

    # Nested in a checkpoint: names get the prefix, the inner dict gets its records back.
    q = tmp_path / "ck.safetensors"
    wio.save_checkpoint(q, model=model, step=1)
    with wio.open_checkpoint(q) as ck:
        assert ck.provenance == {f"model.{k}": v for k, v in records.items()}
    assert wio.load(q)["model"]._provenance == records

    # load_into puts the records on the parameters of another model.
    ww.manual_seed(4)
    other = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    other[0].weight.__dict__.pop("_provenance", None)
    wio.load_into(other, p)
    assert other[0].bias._provenance == mine["0.bias"]
    assert other[2].weight._provenance == records["2.weight"]


def test_tensor_own_provenance_wins_over_the_dicts(tmp_path):
    ww.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 2))
    sd = model.state_dict(keep_vars=True)                      # the parameters themselves
    sd._provenance = {"0.weight": {"fn": "stale"}, "0.bias": {"fn": "from the dict"}}
    own = dict(model[0].weight._provenance)
    model[0].bias.__dict__.pop("_provenance", None)
    p = tmp_path / "m.safetensors"
    wio.save(sd, p)
    with wio.open_checkpoint(p) as ck:
        assert ck.provenance == {"0.weight": own, "0.bias": {"fn": "from the dict"}}
