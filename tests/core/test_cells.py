"""Cells: init schemes, state_dict files from real torch modules, and what the sliders drive."""
import math

import numpy as np
import pytest
import torch

from gradviz.core.cells import (CellSpec, init_net, load_state_dict_file, net_from_state_dict,
                                scale_recurrent, set_forget_bias, set_update_bias, sigma_max,
                                spec_from_state_dict)
from gradviz.core.dynamics import run
from gradviz.core.errors import GradvizError
from gradviz.core.jacobians import step_jacobians

KINDS = ["rnn", "lstm", "gru"]


def blocks(w, H):
    return [w[k:k + H] for k in range(0, w.shape[0], H)]


# ---------------------------------------------------------------- init schemes

@pytest.mark.parametrize("kind", KINDS)
def test_orthogonal_init_gives_orthogonal_gate_blocks(kind):
    spec = CellSpec(kind=kind, input_size=3, hidden_size=6, num_layers=2, bidirectional=True)
    net = init_net(spec, seed=3, init="orthogonal")
    for layer in range(2):
        for d in range(2):
            p = net.layer_params(layer, d)
            for b in blocks(p["w_hh"], 6):
                np.testing.assert_allclose(b.T @ b, np.eye(6), atol=1e-12)
            assert np.all(p["b_ih"] == 0) and np.all(p["b_hh"] == 0)
    assert sigma_max(net.layer_params(0, 0)["w_hh"]) > 1   # G stacked blocks: √G for LSTM/GRU
    if kind == "rnn":
        assert sigma_max(net.layer_params(0, 0)["w_hh"]) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_identity_init_is_the_identity(kind):
    net = init_net(CellSpec(kind=kind, input_size=2, hidden_size=5), seed=1, init="identity")
    p = net.layer_params(0, 0)
    for b in blocks(p["w_hh"], 5):
        np.testing.assert_array_equal(b, np.eye(5))
    assert np.all(p["b_ih"] == 0) and np.all(p["b_hh"] == 0)
    assert 0 < np.abs(p["w_ih"]).max() < 0.01          # IRNN: tiny input weights


def test_default_init_is_torch_uniform_range():
    H = 25
    net = init_net(CellSpec(kind="lstm", input_size=4, hidden_size=H), seed=0)
    k = 1 / math.sqrt(H)
    values = np.concatenate([v.ravel() for v in net.params.values()])
    assert np.abs(values).max() <= k
    assert np.abs(values).max() > 0.98 * k               # the whole range is used
    assert abs(values.mean()) < 0.02 and values.std() == pytest.approx(k / math.sqrt(3), rel=0.05)


def test_gaussian_init_has_variance_one_over_fan_in():
    net = init_net(CellSpec(kind="rnn", input_size=50, hidden_size=200), seed=0, init="gaussian")
    p = net.layer_params(0, 0)
    assert p["w_hh"].std() == pytest.approx(1 / math.sqrt(200), rel=0.02)
    assert p["w_ih"].std() == pytest.approx(1 / math.sqrt(50), rel=0.05)
    assert np.all(p["b_ih"] == 0)


def test_init_is_reproducible_from_the_seed_and_differs_between_seeds():
    spec = CellSpec(kind="gru", input_size=2, hidden_size=4)
    a, b, c = init_net(spec, seed=7), init_net(spec, seed=7), init_net(spec, seed=8)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["weight_hh_l0"], c.params["weight_hh_l0"])


def test_unknown_init_and_bad_sizes():
    with pytest.raises(GradvizError, match="unknown init 'xavier'"):
        init_net(CellSpec(), init="xavier")
    with pytest.raises(GradvizError, match="hidden size must be a positive integer"):
        CellSpec(hidden_size=0)
    with pytest.raises(GradvizError, match="input size"):
        CellSpec(input_size=-2)
    with pytest.raises(GradvizError, match="unknown cell kind"):
        CellSpec(kind="transformer")
    with pytest.raises(GradvizError, match="nonlinearity"):
        CellSpec(nonlinearity="gelu")


# ---------------------------------------------------------------- state_dict files

MODULES = [
    ("rnn", dict(nonlinearity="tanh")), ("rnn", dict(nonlinearity="relu", num_layers=2)),
    ("rnn", dict(bidirectional=True, bias=False)),
    ("lstm", {}), ("lstm", dict(proj_size=2)), ("lstm", dict(num_layers=2, bidirectional=True, proj_size=3)),
    ("gru", dict(num_layers=3)), ("gru", dict(bidirectional=True, bias=False)),
]


@pytest.mark.parametrize("kind,kw", MODULES, ids=lambda v: str(v))
def test_state_dict_round_trip_from_torch_modules(kind, kw, tmp_path):
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    torch.manual_seed(0)
    module = cls(3, 5, **kw).double().eval()
    path = tmp_path / "m.pt"
    torch.save(module.state_dict(), path)
    net = load_state_dict_file(path, kw.get("nonlinearity", "tanh"))
    s = net.spec
    assert (s.kind, s.input_size, s.hidden_size) == (kind, 3, 5)
    assert s.num_layers == kw.get("num_layers", 1)
    assert s.bidirectional == kw.get("bidirectional", False)
    assert s.bias == kw.get("bias", True)
    assert s.proj_size == kw.get("proj_size", 0)
    sd = module.state_dict()
    assert list(net.params) == list(sd)                  # torch's names and order
    for k, v in sd.items():
        np.testing.assert_array_equal(net.params[k], v.numpy())
    # and back: the rebuilt torch module returns the same output as the original
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(6, 1, 3)))
    with torch.no_grad():
        np.testing.assert_array_equal(net.to_torch()(x)[0].numpy(), module(x)[0].numpy())
        trace = run(net, x[:, 0].numpy())
    np.testing.assert_allclose(trace.output, module(x)[0][:, 0].detach().numpy(), atol=1e-10)


def test_float32_state_dict_loads_as_float64():
    sd = torch.nn.GRU(2, 3).state_dict()
    net = net_from_state_dict(sd)
    assert all(v.dtype == np.float64 for v in net.params.values())
    np.testing.assert_array_equal(net.params["weight_hh_l0"], sd["weight_hh_l0"].double().numpy())


@pytest.mark.parametrize("sd,message", [
    ({"weight": np.zeros((3, 2))}, "unexpected key 'weight'"),
    ({"weight_ih_l0": np.zeros((5, 2)), "weight_hh_l0": np.zeros((5, 3))}, "rows must be 1, 3 or 4"),
    ({"weight_hh_l0": np.zeros((3, 3))}, "no weight_ih_l0"),
    ({"weight_ih_l0": np.zeros((3, 2)), "weight_hh_l0": np.zeros((3, 3)),
      "weight_ih_l2": np.zeros((3, 3)), "weight_hh_l2": np.zeros((3, 3))}, "not numbered"),
    ({"weight_ih_l0": np.zeros((3, 2)), "weight_hh_l0": np.zeros((3, 3)),
      "bias_ih_l0": np.zeros(3)}, "bias_hh_l0"),
    ({"weight_ih_l0": np.zeros((12, 2)), "weight_hh_l0": np.zeros((12, 3)),
      "bias_ih_l0": np.zeros(12), "bias_hh_l0": np.zeros(11)}, "bias_hh_l0 has shape"),
    ({"weight_ih_l0": np.zeros((9, 2)), "weight_hh_l0": np.zeros((9, 3)),
      "weight_hr_l0": np.zeros((2, 3))}, "not a multiple of 4"),
    ({"weight_ih_l0": np.full((3, 2), np.nan), "weight_hh_l0": np.zeros((3, 3))}, "NaN or inf"),
    ({"weight_ih_l0": np.zeros((3, 2)), "weight_hh_l0": np.zeros((3, 3)),
      "weight_ih_l0_backward": np.zeros((3, 2))}, "unexpected key"),
])
def test_wrong_kind_or_shape_is_an_error(sd, message):
    with pytest.raises(GradvizError, match=message):
        net_from_state_dict(sd, source="m.pt")


def test_inference_of_kind_from_shapes():
    assert spec_from_state_dict(torch.nn.RNN(2, 4).state_dict()).kind == "rnn"
    assert spec_from_state_dict(torch.nn.GRU(2, 4).state_dict()).kind == "gru"
    assert spec_from_state_dict(torch.nn.LSTM(2, 4).state_dict()).kind == "lstm"
    s = spec_from_state_dict(torch.nn.LSTM(2, 4, proj_size=1, num_layers=2).state_dict())
    assert (s.kind, s.hidden_size, s.proj_size, s.state_size, s.jacobian_size) == ("lstm", 4, 1, 1, 5)
    # RNN nonlinearity is not in the file: the caller says it
    assert spec_from_state_dict(torch.nn.RNN(2, 4).state_dict(), "relu").nonlinearity == "relu"


def test_files_that_are_not_state_dicts(tmp_path):
    text = tmp_path / "a.pt"
    text.write_text("hello, not a checkpoint")
    with pytest.raises(GradvizError, match="a.pt: not a torch checkpoint"):
        load_state_dict_file(text)
    with pytest.raises(GradvizError, match="no such file"):
        load_state_dict_file(tmp_path / "missing.pt")
    whole = tmp_path / "module.pt"
    torch.save(torch.nn.LSTM(2, 3), whole)             # a pickled module, not a state_dict
    with pytest.raises(GradvizError, match="refused"):
        load_state_dict_file(whole)
    tensor = tmp_path / "t.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(GradvizError, match="expected a state_dict"):
        load_state_dict_file(tensor)


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os
        return (os.mkdir, (self.marker,))


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"weight_ih_l0": torch.zeros(2, 1), "weight_hh_l0": torch.zeros(2, 2),
                "x": _Payload(marker)}, path)
    with pytest.raises(GradvizError, match="refused.*could run code"):
        load_state_dict_file(path)
    assert not marker.exists()


# ---------------------------------------------------------------- what the sliders drive

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", [0.5, 1.0, 2.7])
def test_scale_recurrent_hits_the_target_in_every_layer(kind, target):
    net = init_net(CellSpec(kind=kind, input_size=2, hidden_size=5, num_layers=2,
                            bidirectional=True), seed=2)
    scaled = scale_recurrent(net, target)
    for layer in range(2):
        for d in range(2):
            assert sigma_max(scaled.layer_params(layer, d)["w_hh"]) == pytest.approx(target, rel=1e-12)
    assert sigma_max(net.layer_params(0, 0)["w_hh"]) != pytest.approx(target)   # a copy
    np.testing.assert_array_equal(scaled.params["weight_ih_l0"], net.params["weight_ih_l0"])


@pytest.mark.parametrize("w", [0.9, -0.9, 1.3, -2.0, 0.0])
def test_scale_recurrent_sets_w_directly_for_h1(w):
    net = init_net(CellSpec(kind="rnn", hidden_size=1), seed=0)
    scaled = scale_recurrent(net, w)
    assert scaled.params["weight_hh_l0"][0, 0] == w
    trace = run(scaled, np.zeros((3, 1)), h0=0.5)
    assert step_jacobians(trace)[0, 0, 0] == pytest.approx(w * trace.layer().dphi[0, 0])


def test_forget_bias_is_the_effective_sum_in_torch():
    net = init_net(CellSpec(kind="lstm", input_size=1, hidden_size=3, num_layers=2), seed=0)
    fb = set_forget_bias(net, 1.0)
    for layer in range(2):
        p = fb.layer_params(layer, 0)
        np.testing.assert_array_equal(p["b_ih"][3:6] + p["b_hh"][3:6], 1.0)
        np.testing.assert_array_equal(p["b_ih"][:3], net.layer_params(layer, 0)["b_ih"][:3])
    # torch with x = 0, h0 = 0, c0 = 1: c_1 = σ(b_f)·1 + σ(b_i)·tanh(b_g), with b_f = 1 (not 2)
    m = fb.to_torch()
    p = fb.layer_params(0, 0)
    b = p["b_ih"] + p["b_hh"]
    sig = lambda v: 1 / (1 + np.exp(-v))
    with torch.no_grad():
        z = dict(dtype=torch.float64)
        _, (_, c1) = m(torch.zeros(1, 1, 1, **z), (torch.zeros(2, 1, 3, **z), torch.ones(2, 1, 3, **z)))
    np.testing.assert_allclose(c1[0, 0].numpy(), sig(1.0) + sig(b[:3]) * np.tanh(b[6:9]), rtol=1e-14)
    trace = run(fb, np.zeros((1, 1)))
    np.testing.assert_allclose(trace.layer().gates["f"][0], 1 / (1 + math.exp(-1)), rtol=1e-15)
    with pytest.raises(GradvizError, match="LSTM only"):
        set_forget_bias(init_net(CellSpec(kind="gru")), 1.0)


def test_update_bias_is_the_effective_z_bias():
    net = init_net(CellSpec(kind="gru", input_size=1, hidden_size=4), seed=0)
    ub = set_update_bias(net, 3.0)
    p = ub.layer_params(0, 0)
    np.testing.assert_array_equal(p["b_ih"][4:8] + p["b_hh"][4:8], 3.0)
    trace = run(ub, np.zeros((1, 1)))
    np.testing.assert_allclose(trace.layer().gates["z"][0], 1 / (1 + math.exp(-3)), rtol=1e-15)
    with pytest.raises(GradvizError, match="GRU only"):
        set_update_bias(init_net(CellSpec(kind="lstm")), 1.0)
    with pytest.raises(GradvizError, match="no biases"):
        set_update_bias(init_net(CellSpec(kind="gru", bias=False)), 1.0)


@pytest.mark.parametrize("clamp", [0.0, 0.5, 0.97, 1.0])
def test_forget_clamp_makes_f_exactly_the_constant(clamp):
    net = init_net(CellSpec(kind="lstm", input_size=2, hidden_size=3), seed=4)
    x = np.random.default_rng(0).normal(size=(8, 2))
    trace = run(net, x, forget_clamp=clamp)
    lt = trace.layer()
    assert np.all(lt.gates["f"] == clamp)
    np.testing.assert_array_equal(lt.c[1:], clamp * lt.c[:-1] + lt.gates["i"] * lt.gates["g"])
    J = step_jacobians(trace)
    for k in range(8):            # ∂c_t/∂c_{t-1} = f·I exactly
        np.testing.assert_array_equal(J[k, 3:, 3:], clamp * np.eye(3))
    with pytest.raises(GradvizError, match="LSTM only"):
        run(init_net(CellSpec(kind="gru")), np.zeros((2, 1)), forget_clamp=0.5)
