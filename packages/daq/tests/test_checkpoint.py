"""load_official_checkpoint: official key layout written by the test, errors, and the real files."""

import re

import pytest
import torch
import torch.nn.functional as F

import daq
import daq.models as M
from cvcore.errors import CheckpointError
from cvcore.testing import official_data_dir
from daq.checkpoint import to_official_state_dict

NAMES = {"w_upper": "uW", "w_lower": "lW", "a_upper": "uA", "scale": "beta"}


def _official_layout(model, *, w1a32=False):
    """Written independently of daq.checkpoint: the key layout of the authors' resnet20_DAQ*.py."""
    out = {}
    for k, v in model.state_dict().items():
        k2 = re.sub(r"^(layer\d)\.(\d)\.", r"\1.block_\2.0.", k)
        head, leaf = k2.rsplit(".", 1)
        if leaf in NAMES:
            k2 = f"{head}.{NAMES[leaf]}"
        if leaf == "initialized":
            out[f"{head}.init"] = torch.tensor(0 if bool(v) else 1)
            if w1a32:
                out[f"{head}.uA"] = torch.tensor(2.0**31)
                out[f"{head}.lA"] = torch.tensor(-(2.0**32))
            continue
        out[k2] = v.clone()
    return out


def _trained_like(w_bits, a_bits, seed=0):
    torch.manual_seed(seed)
    m = M.resnet20(w_bits, a_bits, width=4)
    daq.initialize(m, torch.randn(8, 3, 8, 8))
    with torch.no_grad():
        for name, b in m.named_buffers():
            if name.endswith("running_mean"):
                b.normal_()
            if name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
    return m.eval()


@pytest.mark.parametrize("bits, w1a32", [((1, 1), False), ((1, None), True), ((None, None), False)])
def test_official_layout_roundtrip_reproduces_logits(tmp_path, bits, w1a32):
    ref = _trained_like(*bits)
    sd = _official_layout(ref, w1a32=w1a32)
    assert "layer2.block_0.0.conv1.weight" in sd
    assert set(sd) - ({"layer1.block_0.0.conv1.uA", "layer1.block_0.0.conv1.lA"} if w1a32 else set()) >= set(
        k for k in to_official_state_dict(ref) if not k.endswith((".uA", ".lA")) or not w1a32)
    path = tmp_path / "cifar10_official.pth"
    torch.save({"state_dict": sd, "optimizer_dict": {}, "epoch": 399, "step": 0}, path)
    res = daq.load_official_checkpoint(path)
    assert (res["w_bits"], res["a_bits"]) == bits and res["epoch"] == 399
    model = res["model"].eval()
    x = torch.randn(3, 3, 8, 8)
    assert torch.equal(model(x), ref(x))
    # loading into an existing model works the same
    other = M.resnet20(*bits, width=4)
    daq.load_official_checkpoint(path, other)
    assert torch.equal(other.eval()(x), ref(x))


def test_fp_checkpoint_as_pretrained_for_a_quantized_model(tmp_path):
    fp = _trained_like(None, None)
    path = tmp_path / "fp.pth"
    torch.save({"state_dict": _official_layout(fp)}, path)
    q = M.resnet20(1, 1, width=4)
    daq.load_official_checkpoint(path, q)
    assert torch.equal(q.layer1[0].conv1.weight, fp.layer1[0].conv1.weight)
    assert not bool(q.layer1[0].conv1.initialized)  # init happens on the first training batch


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        daq.load_official_checkpoint(tmp_path / "missing.pth")
    good = tmp_path / "good.pth"
    torch.save({"state_dict": _official_layout(_trained_like(1, 1))}, good)
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="truncated"):
        daq.load_official_checkpoint(trunc)
    other = tmp_path / "other.pth"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, other)
    with pytest.raises(CheckpointError, match="not an official DAQ"):
        daq.load_official_checkpoint(other)
    with pytest.raises(CheckpointError, match="does not fit"):
        daq.load_official_checkpoint(good, M.resnet20(1, 1, width=8))


# ------------------------------------------------------------------------------ the authors' files

def _official_hard_forward(sd, x, quant_a):
    """Independent re-implementation of the official eval path (spec §3) on the raw state dict."""

    def qconv(prefix, a, stride):
        w = sd[prefix + ".weight"]
        if quant_a:
            u = sd[prefix + ".uA"]
            a = a + F.relu(0 - a)
            a = a - F.relu(a - u)
            t = (a - 0) / ((u - 0) / 1)
            a = torch.floor(t) + torch.round(t - torch.floor(t))
        wn = (w - w.mean()) / w.std()
        lw, uw = sd[prefix + ".lW"], sd[prefix + ".uW"]
        wn = wn + F.relu(lw - wn)
        wn = wn - F.relu(wn - uw)
        t = (wn - lw) / ((uw - lw) / 1)
        qw = 2 * (torch.floor(t) + torch.round(t - torch.floor(t))) - 1
        return F.conv2d(a, qw, stride=stride, padding=1) * sd[prefix + ".beta"].abs()

    def bn(prefix, h):
        return F.batch_norm(h, sd[prefix + ".running_mean"], sd[prefix + ".running_var"], sd[prefix + ".weight"],
                            sd[prefix + ".bias"], False, 0.0, 1e-5)

    h = F.relu(F.conv2d(x, sd["conv1.weight"], padding=1))
    for s in (1, 2, 3):
        for i in range(3):
            p = f"layer{s}.block_{i}.0"
            stride = 2 if (s > 1 and i == 0) else 1
            o = F.relu(bn(p + ".bn1", qconv(p + ".conv1", h, stride)))
            o = bn(p + ".bn2", qconv(p + ".conv2", o, 1))
            sc = h if stride == 1 else F.pad(h[:, :, ::2, ::2], (0, 0, 0, 0, h.shape[1] // 2, h.shape[1] // 2))
            h = F.relu(o + sc)
    h = F.adaptive_avg_pool2d(h, 1).flatten(1)
    h = F.batch_norm(h, sd["bn2.running_mean"], sd["bn2.running_var"], sd["bn2.weight"], sd["bn2.bias"], False, 0.0, 1e-5)
    return F.linear(h, sd["linear.weight"], sd["linear.bias"])


@pytest.mark.parametrize("name, bits", [("cifar10_W1A1.pth", (1, 1)), ("cifar10_W1A32.pth", (1, None)),
                                        ("cifar10_fp.pth", (None, None))])
def test_real_official_checkpoints(name, bits):
    folder = official_data_dir("daq")
    if folder is None or not (folder / name).is_file():
        pytest.skip("the authors' DAQ checkpoints are not available")
    res = daq.load_official_checkpoint(folder / name)
    assert (res["w_bits"], res["a_bits"]) == bits
    model = res["model"].eval()
    n_daq = len(daq.daq_layers(model))
    assert n_daq == (0 if bits == (None, None) else 18)
    assert all(bool(m.initialized) for _, m in daq.daq_layers(model))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 32, 32, generator=g)
    y = model(x)
    assert y.shape == (4, 10) and torch.isfinite(y).all()
    if bits != (None, None):
        sd = torch.load(folder / name, map_location="cpu", weights_only=True)["state_dict"]
        ref = _official_hard_forward(sd, x, quant_a=bits[1] is not None)
        assert torch.allclose(y, ref, rtol=1e-4, atol=1e-4)
        # the learned values described in the spec
        uw = torch.stack([m.w_upper.detach() for _, m in daq.daq_layers(model)])
        assert 2.4 < uw.min() and uw.max() < 3.0
