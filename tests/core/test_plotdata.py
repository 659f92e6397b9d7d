"""plotdata returns exactly the core's numbers, sliced to the step a view shows."""
import numpy as np
import pytest

from gradviz.core import plotdata
from gradviz.core.jacobians import LOG10_ZERO
from gradviz.core.scene import Scene, analyse, simulate

CELLS = ["rnn", "lstm", "gru"]


@pytest.fixture(scope="module", params=CELLS)
def analysis(request):
    scene = Scene(cell=request.param, hidden_size=5, steps=30, seed=3)
    return analyse(simulate(scene), exact=True)


def _lt(a):
    return a.trace.layer(a.layer, a.direction)


def test_states_are_the_trace_up_to_step(analysis):
    d = plotdata.states(analysis, 7)
    np.testing.assert_array_equal(d["t"], np.arange(8))
    np.testing.assert_array_equal(d["h"], _lt(analysis).h[:8])
    if analysis.trace.net.spec.kind == "lstm":
        np.testing.assert_array_equal(d["c"], _lt(analysis).c[:8])
    else:
        assert "c" not in d
    assert plotdata.states(analysis)["h"].shape[0] == analysis.steps + 1
    assert plotdata.states(analysis, 999)["h"].shape[0] == analysis.steps + 1


def test_gates_mean_and_range(analysis):
    d = plotdata.gates(analysis, 10)
    np.testing.assert_array_equal(d["t"], np.arange(1, 11))
    kind = analysis.trace.net.spec.kind
    lt = _lt(analysis)
    for name in plotdata.GATE_NAMES[kind]:
        src = {"a": lt.preact.get("a"), "dphi": lt.dphi}.get(name) if kind == "rnn" else lt.gates[name]
        np.testing.assert_array_equal(d[name], src[:10])
        np.testing.assert_allclose(d[f"{name}_mean"], src[:10].mean(1))
        np.testing.assert_array_equal(d[f"{name}_min"], src[:10].min(1))
        np.testing.assert_array_equal(d[f"{name}_max"], src[:10].max(1))
    empty = plotdata.gates(analysis, 0)
    assert empty["t"].shape == (0,)


def test_rnn_gates_are_preactivation_and_its_derivative():
    a = analyse(simulate(Scene(hidden_size=4, steps=12)))
    d = plotdata.gates(a)
    np.testing.assert_allclose(d["dphi"], 1 - np.tanh(d["a"]) ** 2, atol=1e-12)


def test_step_factors(analysis):
    d = plotdata.step_factors(analysis, 20)
    np.testing.assert_array_equal(d["t"], np.arange(1, 21))
    kind = analysis.trace.net.spec.kind
    lt = _lt(analysis)
    if kind == "rnn":
        w = analysis.trace.net.layer_params(0, 0)["w_hh"]
        direct = np.abs(lt.dphi[:20]).max(1) * np.linalg.svd(w, compute_uv=False)[0]
        np.testing.assert_allclose(d["step_factor"], direct, rtol=1e-12)
        np.testing.assert_allclose(d["log10_running_product"], np.cumsum(np.log10(direct)), atol=1e-10)
        # the running product is the Pascanu bound on ‖∂h_t/∂h_0‖
        np.testing.assert_allclose(d["log10_running_product"], analysis.bound_h[1:21, 0], atol=1e-10)
    elif kind == "lstm":
        f = lt.gates["f"][:20]
        np.testing.assert_allclose(d["f_mean"], f.mean(1))
        np.testing.assert_allclose(d["f_max"], f.max(1))
        np.testing.assert_allclose(d["log10_forget_path"], np.log10(np.cumprod(f, 0).max(1)), atol=1e-10)
    else:
        z = lt.gates["z"][:20]
        np.testing.assert_allclose(d["z_mean"], z.mean(1))
        np.testing.assert_allclose(d["z_max"], z.max(1))
        np.testing.assert_allclose(d["log10_update_path"], np.log10(np.cumprod(z, 0).max(1)), atol=1e-10)


def test_step_factor_zero_is_an_exact_zero():
    a = analyse(simulate(Scene(nonlinearity="relu", hidden_size=3, steps=10, h0=0.0, amplitude=0.0,
                               seed=1)))
    a.step_factor = np.where(np.arange(10) == 4, LOG10_ZERO, a.step_factor)
    d = plotdata.step_factors(a)
    assert d["step_factor"][4] == 0.0
    assert np.all(d["log10_running_product"][4:] == LOG10_ZERO)


def _direct_products(a, t):
    """∂s_t/∂s_i by plain float64 products (fine for short runs)."""
    J = a.jacobians
    n = J.shape[1]
    P = np.eye(n)
    out = [P.copy()]
    for i in range(t, 0, -1):
        P = P @ J[i - 1]
        out.append(P.copy())
    return out   # index = lag


def test_gradient_flow_matches_direct_products(analysis):
    t = 25
    row = analysis.row(t)
    d = plotdata.gradient_flow(analysis, t, row)
    np.testing.assert_array_equal(d["lag"], np.arange(t + 1))
    hs = analysis.h_size
    prods = _direct_products(analysis, t)
    direct2 = [np.log10(np.linalg.norm(P[:hs, :hs], 2)) for P in prods]
    directf = [np.log10(np.linalg.norm(P[:hs, :hs])) for P in prods]
    np.testing.assert_allclose(d["log10_jac_h"], direct2, atol=1e-9)
    np.testing.assert_allclose(d["log10_jac_h_fro"], directf, atol=1e-9)
    # without a row: the analysis' exact map gives the same numbers
    d2 = plotdata.gradient_flow(analysis, t)
    np.testing.assert_allclose(d2["log10_jac_h"], d["log10_jac_h"], atol=1e-9)
    kind = analysis.trace.net.spec.kind
    if kind == "rnn":
        w = analysis.trace.net.layer_params(0, 0)["w_hh"]
        np.testing.assert_allclose(d["log10_sigma_power"],
                                   np.arange(t + 1) * np.log10(np.linalg.norm(w, 2)), atol=1e-12)
        np.testing.assert_array_equal(d["log10_bound_h"], analysis.bound_h[t, :t + 1][::-1])
        assert np.all(d["log10_jac_h"] <= d["log10_bound_h"] + 1e-9)
    elif kind == "lstm":
        directc = [np.log10(np.linalg.norm(P[hs:, hs:], 2)) for P in prods]
        np.testing.assert_allclose(d["log10_jac_c"], directc, atol=1e-9)
        np.testing.assert_array_equal(d["log10_forget_path"], analysis.forget_path[t, :t + 1][::-1])
    else:
        np.testing.assert_array_equal(d["log10_update_path"], analysis.update_path[t, :t + 1][::-1])


def test_gradient_flow_frobenius_only_analysis():
    a = analyse(simulate(Scene(cell="lstm", hidden_size=4, steps=15)), exact=False, dtype=np.float32)
    d = plotdata.gradient_flow(a, 15)
    assert "log10_jac_h" not in d and "log10_jac_c" not in d
    np.testing.assert_array_equal(d["log10_jac_h_fro"], a.jac.h_fro[15, :16][::-1])
    with pytest.raises(ValueError):
        plotdata.gradient_flow(a, 14, a.row(15))


def test_jacobian_at_step_rnn_is_diag_dphi_whh():
    a = analyse(simulate(Scene(hidden_size=6, steps=10)))
    w = a.trace.net.layer_params(0, 0)["w_hh"]
    d = plotdata.jacobian_at_step(a, 4)
    direct = np.diag(a.trace.layer().dphi[3]) @ w
    np.testing.assert_allclose(d["jacobian"], direct, atol=1e-14)
    np.testing.assert_allclose(d["singular_values"], np.linalg.svd(direct, compute_uv=False))
    assert "eig_whh_real" not in d
    with pytest.raises(ValueError):
        plotdata.jacobian_at_step(a, 0)


@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_at_step_h2_eigenvalues(cell):
    a = analyse(simulate(Scene(cell=cell, hidden_size=2, steps=8)))
    d = plotdata.jacobian_at_step(a, 8)
    assert d["jacobian"].shape == (2, 2)
    ev = np.linalg.eigvals(a.jacobians[7][:2, :2])
    eig = d["eig_jac_real"] + 1j * d["eig_jac_imag"]
    np.testing.assert_allclose(np.sort_complex(eig), np.sort_complex(ev))
    if cell == "rnn":
        w = a.trace.net.layer_params(0, 0)["w_hh"]
        ev = np.linalg.eigvals(w)
        np.testing.assert_allclose(np.sort_complex(d["eig_whh_real"] + 1j * d["eig_whh_imag"]),
                                   np.sort_complex(ev))
    else:
        assert "eig_whh_real" not in d


def test_jacobian_map_and_tables(analysis):
    maps = plotdata.jacobian_map(analysis)
    np.testing.assert_array_equal(maps["log10_jac_h"], analysis.jac.h)
    table = plotdata.pair_table(maps)
    T = analysis.steps
    assert table["t"].shape == ((T + 1) * (T + 2) // 2,)
    assert np.all(table["i"] <= table["t"])
    for name in maps:
        assert np.all(np.isfinite(table[name]))
    k = np.flatnonzero((table["t"] == 9) & (table["i"] == 4))[0]
    assert table["log10_jac_h_fro"][k] == analysis.jac.h_fro[9, 4]
    cols = plotdata.unit_columns(plotdata.states(analysis, 3))
    assert list(cols)[:3] == ["t", "h_0", "h_1"]
    np.testing.assert_array_equal(cols["h_4"], _lt(analysis).h[:4, 4])


def test_finite_extent_ignores_nan_and_zero_marker():
    m = np.array([[0.0, np.nan], [LOG10_ZERO, -3.0]])
    assert plotdata.finite_extent(m, None) == (-3.0, 0.0)
    assert plotdata.finite_extent(np.array([np.nan])) is None


def test_gate_means_of_a_state_near_the_float64_limit_stay_finite():
    """A relu RNN that overflows at step 518 keeps states up to ~8e307 before it: the plain
    sum of 8 such units is inf, the mean over units is not."""
    scene = Scene(nonlinearity="relu", wr_scale=4, steps=600, init="identity", input="step",
                  hidden_size=8)
    a = analyse(simulate(scene), exact=False, dtype=np.float32)
    assert a.trace.overflow_step == 518
    with np.errstate(over="raise"):
        d = plotdata.gates(a)
    a_t = a.trace.layer().preact["a"]
    assert a_t.max() > 1e307
    assert np.all(np.isfinite(d["a_mean"]))
    np.testing.assert_allclose(d["a_mean"], np.mean(a_t / 1e300, axis=1) * 1e300, rtol=1e-12)
    np.testing.assert_array_equal(d["a_max"], a_t.max(axis=1))


def test_a_steady_range_stays_while_the_data_fit_it_well_and_moves_when_they_do_not():
    # first draw: exactly what the data want
    assert plotdata.steady_range(None, (-0.2, 1.6)) == (-0.2, 1.6)
    shown = (-1.0, 1.0)
    # the data move a little inside it: the axis stands still
    assert plotdata.steady_range(shown, (-0.9, 0.95)) == shown
    # they leave it at the top: the top moves out with headroom, the bottom stays
    lo, hi = plotdata.steady_range(shown, (-0.9, 1.2))
    assert lo == -1.0 and hi == pytest.approx(1.2 + plotdata.STEADY_ROOM * 2.1)
    # the next tick of the same drag fits the new range
    assert plotdata.steady_range((lo, hi), (-0.9, 1.3)) == (lo, hi)
    # they shrink well inside it: the range follows them exactly
    assert plotdata.steady_range(shown, (-0.3, 0.3)) == (-0.3, 0.3)


def test_a_steady_range_always_holds_the_data():
    rng = np.random.default_rng(3)
    shown = None
    for _ in range(500):
        lo = rng.normal() * 3
        wanted = (lo, lo + abs(rng.normal()) * 2 + 1e-3)
        shown = plotdata.steady_range(shown, wanted)
        assert shown[0] <= wanted[0] and wanted[1] <= shown[1]
        # and the data fill most of it (no axis left stretched by an old scene)
        fill = (wanted[1] - wanted[0]) / (shown[1] - shown[0])
        assert fill >= min(plotdata.STEADY_FILL, 1 / (1 + 2 * plotdata.STEADY_ROOM)) - 1e-12
