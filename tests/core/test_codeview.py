"""What the Code view shows: torch's layout named right, the step's numbers true (issue 12)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gradviz.core.codegen import generate_script
from gradviz.core.codeview import differences, equations, hand_step_code, step_view
from gradviz.core.scene import Scene, analyse, simulate

torch.set_num_threads(1)


def _one_step_jacobian_norm(trace, layer, direction, t):
    """‖∂h_t/∂h_{t-1}‖₂ from torch.nn's own cell (RNNCell/LSTMCell/GRUCell) and autograd."""
    spec = trace.net.spec
    p = trace.net.layer_params(layer, direction)
    lt = trace.layer(layer, direction)
    x = trace.inputs if direction == 0 else trace.inputs[::-1]
    kind = spec.kind
    cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind]
    kw = {"nonlinearity": spec.nonlinearity} if kind == "rnn" else {}
    cell = cls(spec.input_size, spec.hidden_size, **kw).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(p["w_ih"]))
        cell.weight_hh.copy_(torch.from_numpy(p["w_hh"]))
        cell.bias_ih.copy_(torch.from_numpy(p["b_ih"]))
        cell.bias_hh.copy_(torch.from_numpy(p["b_hh"]))
    xt = torch.from_numpy(np.ascontiguousarray(x[t - 1]))
    h_prev = torch.from_numpy(lt.h[t - 1].copy())
    if kind == "lstm":
        c_prev = torch.from_numpy(lt.c[t - 1].copy())
        f = lambda h: cell(xt, (h, c_prev))[0]
    else:
        f = lambda h: cell(xt, h)
    J = torch.autograd.functional.jacobian(f, h_prev)
    return float(torch.linalg.matrix_norm(J, ord=2))


@pytest.mark.parametrize("scene", [
    Scene(cell="rnn", hidden_size=5, steps=12),
    Scene(cell="rnn", nonlinearity="relu", hidden_size=5, steps=12, init="identity", input="step"),
    Scene(cell="lstm", hidden_size=4, steps=12, forget_bias=1.0),
    Scene(cell="gru", hidden_size=4, steps=12, bidirectional=True, direction=1),
], ids=["rnn", "rnn-relu", "lstm", "gru-reverse"])
def test_step_view_numbers_are_the_trace_and_torch_autograd(scene):
    trace = simulate(scene)
    a = analyse(trace, scene.layer, scene.direction, exact=True)
    lt = trace.layer(scene.layer, scene.direction)
    t = 7
    v = step_view(a, t)
    assert (v.step, v.steps) == (t, 12)
    np.testing.assert_array_equal(v.units["h_t"], lt.h[t])
    x = trace.inputs if scene.direction == 0 else trace.inputs[::-1]
    np.testing.assert_array_equal(v.units["x_t"], x[t - 1])
    factors = dict(v.factors)
    if scene.cell == "rnn":
        np.testing.assert_array_equal(v.units["a_t"], lt.preact["a"][t - 1])
        np.testing.assert_array_equal(v.units["φ′(a_t)"], lt.dphi[t - 1])
        assert factors["max|φ′(a_t)|·σ_max"] == pytest.approx(
            np.abs(lt.dphi[t - 1]).max() * a.sigma_max, rel=1e-12)
    elif scene.cell == "lstm":
        for g, label in (("i", "i_t"), ("f", "f_t"), ("g", "C̃_t (g_t)"), ("o", "o_t")):
            np.testing.assert_array_equal(v.units[label], lt.gates[g][t - 1])
        np.testing.assert_array_equal(v.units["C_t"], lt.c[t])
        assert factors["‖∂C_t/∂C_{t−1}‖₂ = max f_t"] == lt.gates["f"][t - 1].max()
    else:
        for g in "rzn":
            np.testing.assert_array_equal(v.units[f"{g}_t"], lt.gates[g][t - 1])
    expected = _one_step_jacobian_norm(trace, scene.layer, scene.direction, t)
    assert factors["‖∂h_t/∂h_{t−1}‖₂"] == pytest.approx(expected, rel=1e-10)
    assert factors["log10 ‖∂h_t/∂h_0‖₂"] == a.jac.h[t, 0]
    assert factors["σ_max(W_hh)"] == a.sigma_max
    # t = 0: only the initial state, no step factors
    v0 = step_view(a, 0)
    assert set(v0.units) <= {"h_t", "C_t"} and len(v0.factors) == 2


def test_step_view_prefers_the_exact_row_and_falls_back_to_frobenius():
    trace = simulate(Scene(hidden_size=4, steps=9))
    fast = analyse(trace, exact=False, dtype=np.float32)
    assert dict(step_view(fast, 5).factors)["log10 ‖∂h_t/∂h_0‖_F"] == pytest.approx(
        float(fast.jac.h_fro[5, 0]))
    row = fast.row(5)
    assert dict(step_view(fast, 5, row).factors)["log10 ‖∂h_t/∂h_0‖₂"] == float(row.h[0])


def test_equations_name_torchs_rows_biases_and_projection():
    lstm = Scene(cell="lstm", hidden_size=8, proj_size=3, num_layers=2).spec()
    text = "\n".join(f"{e.notes} | {e.torch}" for e in equations(lstm, layer=1, direction=0))
    # W_f is rows [H, 2H) of torch's stacked weights, its bias the sum of both
    assert "f_t = σ(h_{t−1} @ W_hf + x_t @ W_xf + b_f) | rows [8:16) of weight_ih_l1 / weight_hh_l1" in text
    assert "b_f = bias_ih_l1[8:16) + bias_hh_l1[8:16)" in text
    assert "rows [24:32)" in text and "o_t" in text
    assert "weight_hr_l1 (3×8)" in text
    assert "(.T: 3×8 / 3×8)" in text         # layer 1 reads Hh = P = 3 inputs, h has P = 3
    gru = "\n".join(e.notes + " | " + e.torch for e in equations(Scene(cell="gru", hidden_size=4,
                                                                       bidirectional=True).spec(),
                                                                 direction=1))
    assert "weight_ih_l0_reverse" in gru and "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}" in gru
    rnn = equations(Scene(hidden_size=4).spec())
    assert rnn[0].torch.startswith("W_xh = weight_ih_l0.T (1×4)")
    diffs = " ".join(differences(Scene(cell="gru").spec()))
    assert "z ↔ 1 − z" in diffs and "b_hn" in diffs and "bias_ih" in diffs
    assert "sigmoid" in " ".join(differences(Scene(nonlinearity="sigmoid").spec()))
    assert "proj_size = 3" in " ".join(differences(lstm))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_views_code_is_the_scripts_cell_step(cell):
    code = hand_step_code(cell)
    assert code.startswith("def cell_step(")
    script = generate_script(Scene(cell=cell, hidden_size=3, steps=4)).text
    for line in code.splitlines():
        assert line in script
