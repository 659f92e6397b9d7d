"""Theory against measurement: the Pascanu bound, γ, the forget- and update-gate paths, 10^-361."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradviz.core import theory
from gradviz.core.jacobians import LOG10_ZERO
from gradviz.core.scene import Scene, analyse, simulate

LOG10_HALF_1200 = 1200 * math.log10(0.5)      # -361.2360...


def lower(m):
    return m[np.tril_indices(m.shape[0])]


def assert_clean(m):
    """Finite on and below the diagonal, NaN above it."""
    assert np.all(np.isfinite(lower(m)))
    assert np.all(np.isnan(m[np.triu_indices(m.shape[0], 1)]))


@pytest.mark.parametrize("nl", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("w", [0.7, -1.4, 2.5])
def test_h1_measured_equals_the_bound(nl, w):
    scene = Scene(nonlinearity=nl, hidden_size=1, wr_scale=w, steps=40, input="noise", seed=1)
    a = analyse(simulate(scene))
    np.testing.assert_allclose(lower(a.jac.h), lower(a.bound_h), atol=1e-10, rtol=0)
    np.testing.assert_allclose(lower(a.jac.h_fro), lower(a.bound_h), atol=1e-10, rtol=0)
    assert_clean(a.bound_h)


def test_h1_relu_dead_step_is_an_exact_zero_in_both():
    scene = Scene(nonlinearity="relu", hidden_size=1, wr_scale=1.0, steps=30, input="sine",
                  amplitude=3.0, seed=0)
    a = analyse(simulate(scene))
    dead = np.flatnonzero(a.trace.layer().dphi[:, 0] == 0)
    assert dead.size                                      # the sine switches the unit off
    k = dead[0] + 1                                       # step k has φ' = 0
    assert a.bound_h[k, k - 1] == LOG10_ZERO and a.jac.h[k, k - 1] == LOG10_ZERO
    assert a.bound_h[-1, 0] == LOG10_ZERO and a.jac.h[-1, 0] == LOG10_ZERO
    np.testing.assert_array_equal(lower(a.jac.h) == LOG10_ZERO, lower(a.bound_h) == LOG10_ZERO)


@settings(max_examples=12, deadline=None)
@given(nl=st.sampled_from(["tanh", "sigmoid", "relu"]), hidden=st.integers(2, 8),
       sigma=st.floats(0.3, 3.0), seed=st.integers(0, 1000),
       signal=st.sampled_from(["sine", "noise", "step", "airline"]),
       init=st.sampled_from(["default", "gaussian", "orthogonal"]))
def test_the_bound_is_never_below_the_measured_norm(nl, hidden, sigma, seed, signal, init):
    scene = Scene(nonlinearity=nl, hidden_size=hidden, wr_scale=sigma, steps=25, input=signal,
                  seed=seed, init=init, amplitude=1.0)
    a = analyse(simulate(scene))
    measured, bound = lower(a.jac.h), lower(a.bound_h)
    assert np.all(measured <= bound + 1e-9)
    assert_clean(a.bound_h)


def test_sigmoid_gamma_is_a_quarter():
    assert theory.GAMMA == {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}
    base = dict(hidden_size=4, wr_scale=1.6, steps=20, input="zeros", init="gaussian", h0=0.0)
    sig = analyse(simulate(Scene(nonlinearity="sigmoid", **base)))
    tanh = analyse(simulate(Scene(nonlinearity="tanh", **base)))
    assert np.all(sig.trace.layer().dphi <= 0.25)
    # step 1 has a = 0 (zero input, zero biases, h0 = 0): φ'(0) = 1/4 for sigmoid, 1 for tanh
    assert sig.step_factor[0] == pytest.approx(math.log10(1.6 / 4), abs=1e-12)
    assert tanh.step_factor[0] == pytest.approx(math.log10(1.6), abs=1e-12)
    assert np.all(sig.step_factor <= math.log10(1.6 / 4) + 1e-12)
    # so a sigmoid RNN with σ_max = 1.6 < 4 vanishes even where tanh would not
    assert sig.bound_h[-1, 0] < 20 * math.log10(1.6 / 4) + 1e-9


@pytest.mark.parametrize("clamp", [0.3, 0.8, 0.999])
def test_forget_clamp_gives_the_exact_forget_path(clamp):
    scene = Scene(cell="lstm", hidden_size=3, steps=30, forget_clamp=clamp, input="noise", seed=2)
    a = analyse(simulate(scene))
    t, i = np.tril_indices(31)
    np.testing.assert_allclose(a.forget_path[t, i], (t - i) * math.log10(clamp), atol=1e-12, rtol=0)
    # with W_hh = 0 only the direct path is left: ‖∂c_t/∂c_i‖ = f^(t-i) exactly
    a0 = analyse(simulate(scene.replace(wr_scale=0.0)))
    np.testing.assert_allclose(a0.jac.c[t, i], (t - i) * math.log10(clamp), atol=1e-12, rtol=0)
    np.testing.assert_allclose(a0.jac.c_fro[t, i] - 0.5 * math.log10(3), (t - i) * math.log10(clamp),
                               atol=1e-12, rtol=0)


def test_forget_path_is_the_max_over_units_of_the_product_of_f():
    a = analyse(simulate(Scene(cell="lstm", hidden_size=3, steps=12, input="noise", seed=5)))
    f = a.trace.layer().gates["f"]
    for t in range(13):
        for i in range(t + 1):
            direct = np.prod(f[i:t], axis=0).max() if t > i else 1.0
            assert a.forget_path[t, i] == pytest.approx(math.log10(direct), abs=1e-12)


def test_gru_update_path_is_the_product_of_z_and_exact_without_recurrent_weights():
    scene = Scene(cell="gru", hidden_size=4, steps=15, input="noise", seed=3, update_bias=2.0)
    a = analyse(simulate(scene))
    z = a.trace.layer().gates["z"]
    for t in range(16):
        for i in range(t + 1):
            direct = np.prod(z[i:t], axis=0).max() if t > i else 1.0
            assert a.update_path[t, i] == pytest.approx(math.log10(direct), abs=1e-12)
    assert_clean(a.update_path)
    # W_hh = 0: ∂h_t/∂h_{t-1} = diag(z_t), so the measured 2-norm is the update path
    a0 = analyse(simulate(scene.replace(wr_scale=0.0)))
    np.testing.assert_allclose(lower(a0.jac.h), lower(a0.update_path), atol=1e-12, rtol=0)


def test_half_to_the_1200_is_ten_to_the_minus_361():
    scene = Scene(cell="lstm", hidden_size=1, steps=1200, forget_clamp=0.5, wr_scale=0.0,
                  input="zeros")
    a = analyse(simulate(scene))
    assert a.forget_path[1200, 0] == pytest.approx(LOG10_HALF_1200, abs=1e-9)
    assert round(a.forget_path[1200, 0], 2) == -361.24
    assert a.jac.c[1200, 0] == pytest.approx(LOG10_HALF_1200, abs=1e-9)
    assert a.jac.c_fro[1200, 0] == pytest.approx(LOG10_HALF_1200, abs=1e-9)
    for name, m in a.arrays().items():
        if name.startswith("log10_") and m.ndim == 2:
            assert_clean(m)
    # float32, as the window computes it, gives the same to well below 1e-4 decades
    a32 = analyse(a.trace, exact=False, dtype=np.float32)
    assert a32.jac.c_fro[1200, 0] == pytest.approx(LOG10_HALF_1200, abs=1e-4)


def test_sigma_power_and_running_sum():
    w = np.diag([2.0, 0.5])
    np.testing.assert_allclose(theory.sigma_power(w, 4), np.arange(5) * math.log10(2.0))
    logs = np.array([-1.0, 0.5, LOG10_ZERO, 2.0])
    np.testing.assert_array_equal(theory.running_sum(logs), [0.0, -1.0, -0.5, LOG10_ZERO, LOG10_ZERO])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_an_analysis_rows_and_start_column_from_its_running_sums_equal_the_map(cell):
    """The views' theory row comes from running sums the worker computed once: the same numbers
    as the whole map's row and as pair_row, also with exact zeros among the factors."""
    scene = Scene(cell=cell, hidden_size=6, steps=30, wr_scale=1.3, seed=2)
    a = analyse(simulate(scene), exact=False)
    full = theory._pair_map(a.theory_logs)
    column = a.theory_from_start()
    np.testing.assert_array_equal(column, full[:, 0])
    for t in (0, 1, 7, 30):
        np.testing.assert_array_equal(a.theory_row(t), full[t, :t + 1])
        np.testing.assert_array_equal(a.theory_row(t), theory.pair_row(a.theory_logs, t))
    logs = np.array([[0.1, -0.2], [LOG10_ZERO, -0.1], [0.3, 0.2], [-0.4, LOG10_ZERO]])
    sums = theory.unit_running_sums(logs)
    np.testing.assert_array_equal(theory.start_column(sums), theory.from_start(logs))
    for t in range(5):
        np.testing.assert_array_equal(theory.row_of(sums, t), theory._pair_map(logs)[t, :t + 1])
    # the row at t = 2: lag 2 crosses the zero of unit 0 at step 2, so only unit 1 counts
    assert theory.row_of(sums, 2)[0] == pytest.approx(-0.2 - 0.1)
