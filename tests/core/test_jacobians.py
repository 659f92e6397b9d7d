"""JacobianProducts: appending extends the map, rescaling keeps any range, float32 vs float64."""
import math

import numpy as np
import pytest

from gradviz.core.cells import CellSpec, init_net, scale_recurrent
from gradviz.core.dynamics import run
from gradviz.core.jacobians import (LOG10_ZERO, JacobianMap, JacobianProducts, jacobian_map,
                                    jacobian_map_steps, row_norms, row_norms_steps,
                                    step_jacobians)
from gradviz.core.scene import Scene, analyse, simulate


def drain(generator):
    """(what the generator yielded, what it returned)."""
    yielded = []
    while True:
        try:
            yielded.append(next(generator))
        except StopIteration as done:
            return yielded, done.value


def orthogonal(n, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def trace_jacobians(kind, H=5, T=30, sigma=1.1, seed=0):
    net = scale_recurrent(init_net(CellSpec(kind=kind, input_size=2, hidden_size=H), seed=seed), sigma)
    trace = run(net, np.random.default_rng(seed).normal(size=(T, 2)))
    return step_jacobians(trace), net.spec.state_size


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_appending_a_step_extends_the_map_without_touching_known_rows(kind, dtype):
    J, hs = trace_jacobians(kind)
    T = J.shape[0]
    prods = JacobianProducts(J.shape[1], hs, T, dtype=dtype, exact=True)
    for k in range(T - 1):
        prods.append(J[k])
    known = {name: getattr(prods, name)[:T].copy() for name in ("h_fro", "h_2", "c_fro", "c_2")
             if getattr(prods, name) is not None}
    assert prods.t == T - 1 and np.all(np.isnan(prods.h_fro[T]))
    prods.append(J[T - 1])                  # only the new step's Jacobian is given
    assert prods.t == T
    for name, rows in known.items():
        np.testing.assert_array_equal(getattr(prods, name)[:T], rows)
    full = jacobian_map(J, hs, exact=True, dtype=dtype)
    np.testing.assert_allclose(prods.h_fro[T], full.h_fro[T], atol=1e-12)
    np.testing.assert_allclose(prods.h_2[T], full.h[T], atol=1e-12)
    np.testing.assert_array_equal(prods.current_row(), prods.h_fro[T, :T + 1])
    with pytest.raises(IndexError):
        prods.append(J[0])


@pytest.mark.parametrize("n,hs", [(4, 4), (6, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a", [1e-3, 1e3, 0.5])
def test_rescaling_keeps_norms_exact_far_beyond_float_range(n, hs, dtype, a):
    """J = a·Q (Q orthogonal): ‖∂s_t/∂s_i‖₂ = a^(t-i) exactly, up to ±450 decades."""
    T = 150
    Q = [orthogonal(n, k) for k in range(T)]
    J = np.stack([a * q for q in Q])
    m = jacobian_map(J, n, exact=True, dtype=dtype)
    t, i = np.tril_indices(T + 1)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(m.h[t, i], (t - i) * math.log10(a), atol=tol, rtol=0)
    np.testing.assert_allclose(m.h_fro[t, i], (t - i) * math.log10(a) + 0.5 * math.log10(n),
                               atol=tol, rtol=0)
    if hs < n:   # the h- and c-blocks of a product of block-diagonal Jacobians
        Jb = np.zeros_like(J)
        Jb[:, :hs, :hs] = a * np.stack([orthogonal(hs, k) for k in range(T)])
        Jb[:, hs:, hs:] = a * np.stack([orthogonal(n - hs, k + T) for k in range(T)])
        mb = jacobian_map(Jb, hs, exact=True, dtype=dtype)
        np.testing.assert_allclose(mb.h[t, i], (t - i) * math.log10(a), atol=tol, rtol=0)
        np.testing.assert_allclose(mb.c[t, i], (t - i) * math.log10(a), atol=tol, rtol=0)


def test_values_below_the_zero_sentinel_stay_real_numbers():
    J = np.full((1100, 1, 1), 0.1)
    m = jacobian_map(J, 1, exact=True)
    assert m.h[1100, 0] == pytest.approx(-1100.0, abs=1e-9)
    assert m.h[1100, 1099] == pytest.approx(-1.0, abs=1e-12)


def test_an_exactly_zero_product_is_log10_zero_and_stays_zero():
    J = np.stack([np.eye(3) * 0.9] * 6)
    J[2] = 0.0                                    # step 3 passes no gradient at all
    for dtype in (np.float32, np.float64):
        m = jacobian_map(J, 3, exact=True, dtype=dtype)
        for t in range(7):
            for i in range(t + 1):
                spans = i < 3 <= t
                assert (m.h[t, i] == LOG10_ZERO) == spans
                assert (m.h_fro[t, i] == LOG10_ZERO) == spans
        assert not np.any(np.isinf(m.h_fro[np.tril_indices(7)]))
    row = row_norms(J, 6, 3)
    np.testing.assert_allclose(row.h, m.h[6], atol=1e-12)


def test_a_zero_h_block_beside_a_live_c_block():
    J = np.zeros((4, 2, 2))
    J[:, 1, 1] = 0.5                              # only the "c" unit carries anything
    m = jacobian_map(J, 1, exact=True)
    assert m.h[4, 0] == LOG10_ZERO and m.h[4, 4] == 0.0
    assert m.c[4, 0] == pytest.approx(4 * math.log10(0.5))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_row_norms_equal_the_map_rows_including_c(kind):
    J, hs = trace_jacobians(kind, T=20, sigma=1.4)
    m = jacobian_map(J, hs, exact=True)
    for t in (0, 7, 20):
        row = row_norms(J, t, hs)
        np.testing.assert_allclose(row.h, m.h[t, :t + 1], atol=1e-9)
        np.testing.assert_allclose(row.h_fro, m.h_fro[t, :t + 1], atol=1e-9)
        if kind == "lstm":
            np.testing.assert_allclose(row.c, m.c[t, :t + 1], atol=1e-9)
            np.testing.assert_allclose(row.c_fro, m.c_fro[t, :t + 1], atol=1e-9)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_a_row_in_parts_is_exact_on_every_part_nearest_lags_first(kind):
    """Partial rows (shown while a large row is computed) agree with autograd-checked full rows
    on what they hold, grow towards i = 0, hold NaN only below ``first``; the last is whole."""
    J, hs = trace_jacobians(kind, T=25, sigma=1.3)
    full = row_norms(J, 25, hs)
    parts, last = drain(row_norms_steps(J, 25, hs, every=0.0))     # a part after every step
    assert [p.first for p in parts] == list(range(25, 0, -1)) and last.complete
    for p in parts:
        assert not p.complete and np.isnan(p.h[:p.first]).all()
        for name in ("h", "h_fro") + (("c", "c_fro") if kind == "lstm" else ()):
            np.testing.assert_array_equal(getattr(p, name)[p.first:],
                                          getattr(full, name)[p.first:])
    for name in ("h", "h_fro"):
        np.testing.assert_array_equal(getattr(last, name), getattr(full, name))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_map_is_within_1e_4_decades_of_float64(cell):
    """What lets the window use float32 (the benchmark reports the same at every size)."""
    scene = Scene(cell=cell, hidden_size=16, steps=200, wr_scale=1.05, input="noise", seed=1)
    trace = simulate(scene)
    a64 = analyse(trace, exact=False, dtype=np.float64)
    a32 = analyse(trace, exact=False, dtype=np.float32)
    low = np.tril_indices(201)
    assert np.max(np.abs(a64.jac.h_fro[low] - a32.jac.h_fro[low])) < 1e-4


def test_wide_blocks_2_norms_by_lanczos_equal_the_svd():
    """Blocks wider than SVD_SIZE (a trained model's 512 × 512) get Lanczos, warm-started from
    the previous block: the same σ_max as LAPACK's SVD, a zero block exactly 0."""
    from gradviz.core.jacobians import SVD_SIZE, _largest_sv
    rng = np.random.default_rng(7)
    n = SVD_SIZE + 72
    base = rng.normal(size=(n, n))
    stack = np.stack([base + 0.05 * k * rng.normal(size=(n, n)) for k in range(4)]
                     + [np.zeros((n, n)), np.diag(np.linspace(1.0, 1.0 + 1e-9, n))])
    got = _largest_sv(stack)
    want = np.linalg.svd(stack, compute_uv=False)[:, 0]
    assert got[4] == 0.0
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


def test_a_wide_lstm_coarse_map_by_structured_products_equals_the_dense_products():
    """H = 128 (state 256 wide): block products multiply only the h-columns of each step's
    Jacobian; they equal the dense products J_{ks} ··· J_{(k-1)s+1}."""
    from gradviz.core.jacobians import block_products
    J, hs = trace_jacobians("lstm", H=128, T=12, sigma=1.2)
    Q, scale = block_products(J, 4)
    for k in range(3):
        dense = np.eye(2 * hs)
        for j in range(k * 4, (k + 1) * 4):
            dense = J[j] @ dense
        np.testing.assert_allclose(Q[k] * 10.0 ** scale[k], dense, rtol=1e-12,
                                   atol=1e-14 * np.abs(dense).max())


@pytest.mark.parametrize("scene,stride", [
    (Scene(cell="lstm", hidden_size=64, steps=70, wr_scale=1.3), 1),   # the zeros left out
    (Scene(cell="lstm", hidden_size=8, steps=90, proj_size=3), 1),
    (Scene(cell="rnn", hidden_size=32, steps=120, wr_scale=1.6), 1),
    (Scene(cell="gru", hidden_size=24, steps=150, wr_scale=2.0), 1),
    (Scene(cell="lstm", hidden_size=64, steps=90, wr_scale=1.3), 4),   # a coarse map
    (Scene(cell="rnn", hidden_size=16, steps=200, wr_scale=0.4), 3),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_threads_give_the_numbers_of_one_bit_for_bit(scene, stride, dtype):
    """The window's finest map and the export run on both cores: every row is cut into the
    same pieces whatever the threads, so the maps are identical, not merely close."""
    from gradviz.core.jacobians import coarse_map
    a = analyse(simulate(scene), exact=False, stride=None)
    one, two = (coarse_map(a.jacobians, a.h_size, stride, exact=dtype == np.float64,
                           dtype=dtype, threads=k) for k in (1, 2))
    for name in ("h_fro", "h", "c_fro", "c"):
        mine, theirs = getattr(one, name), getattr(two, name)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            np.testing.assert_array_equal(mine, theirs)
    assert np.isfinite(one.h_fro[np.tril_indices(one.h_fro.shape[0])]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_wide_lstm_map_without_the_diagonals_zeros_equals_the_dense_products(monkeypatch,
                                                                                 dtype):
    """From a state 128 wide, a map's rows multiply only the h-columns of each step (the
    c-columns' diagonals added apart); the map equals the one from the dense products."""
    from gradviz.core import jacobians as jm
    scene = Scene(cell="lstm", hidden_size=64, steps=60, wr_scale=1.4)
    a = analyse(simulate(scene), exact=False, stride=None)
    J = np.asarray(a.jacobians)
    assert jm._diagonal_c_columns(J[0], 64, smallest=jm._STACK_DIAGONAL_FROM) is not None
    structured = jacobian_map(J, 64, exact=True, dtype=dtype)
    monkeypatch.setattr(jm, "_STACK_DIAGONAL_FROM", 10**9)      # every step multiplied whole
    dense = jacobian_map(J, 64, exact=True, dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for name in ("h_fro", "h", "c_fro", "c"):
        np.testing.assert_allclose(getattr(structured, name), getattr(dense, name),
                                   rtol=0, atol=tol)


@pytest.mark.parametrize("scene", [Scene(cell="lstm", hidden_size=64, steps=90, wr_scale=1.3),
                                   Scene(cell="gru", hidden_size=40, steps=400, wr_scale=1.9),
                                   Scene(cell="lstm", hidden_size=20, steps=800, proj_size=7)])
def test_a_step_is_the_same_whichever_steps_are_asked_for(scene):
    """Aligned pieces: a slice, a chunk of a model too large to hold and the whole give the
    same numbers for every step, and the first row's pieces, scaled and converted before the
    whole exists, are those of the whole (batched arithmetic would round by the batch)."""
    from gradviz.core import jacobians as jm
    trace = simulate(scene)
    held = jm.StepJacobians(trace)
    chunked = jm.StepJacobians(trace, eager_bytes=0)          # computed a chunk at a time
    T = held.shape[0]
    assert held.piece < T and not chunked.eager
    before = list(held.normalised_back(T))                     # nothing held yet
    assert held._whole is None
    whole = np.asarray(held)
    for a, b in ((0, T), (3, 41), (held.piece - 1, held.piece + 2), (T - 5, T)):
        np.testing.assert_array_equal(held[a:b], whole[a:b])
        np.testing.assert_array_equal(chunked[a:b], whole[a:b])
    for k in (0, held.piece, T - 1):
        np.testing.assert_array_equal(chunked[k], whole[k])
    after = list(held.normalised_back(T))                      # from the whole now
    assert [a for a, *_ in before] == [a for a, *_ in after]
    for (a, steps, exps), (_, steps2, exps2) in zip(before, after):
        np.testing.assert_array_equal(steps, steps2)
        np.testing.assert_array_equal(exps, exps2)
        ref, ref_exps = jm._normalised_steps(whole, a, a + len(steps), np.float32)
        np.testing.assert_array_equal(steps, ref)
        np.testing.assert_array_equal(exps, ref_exps)


def test_step_jacobians_are_computed_when_first_needed_and_equal_the_whole():
    """The window's first stage never pays for the one-step Jacobians it does not draw; one
    step asked for (a view's) computes its piece only, a range all of them (the same numbers
    whatever is asked first)."""
    from gradviz.core.jacobians import StepJacobians, step_jacobians
    s = Scene(cell="lstm", hidden_size=6, steps=30, wr_scale=1.3)
    trace = simulate(s)
    J = StepJacobians(trace)
    assert J.eager and J._whole is None
    whole = step_jacobians(trace)         # one piece here (30 steps of 12 × 12)
    np.testing.assert_array_equal(J[7], whole[7])
    assert J._whole is None
    np.testing.assert_array_equal(J[3:9], whole[3:9])
    assert J._whole is not None
    np.testing.assert_array_equal(np.asarray(J), whole)


@pytest.mark.parametrize("scene", [
    Scene(cell="rnn", hidden_size=7, steps=90, wr_scale=1.6),
    Scene(cell="lstm", hidden_size=5, steps=60, wr_scale=1.3),
    Scene(cell="lstm", hidden_size=6, steps=40, proj_size=3),
    Scene(cell="gru", hidden_size=6, steps=70, wr_scale=2.0),
    Scene(cell="rnn", hidden_size=4, steps=400, wr_scale=0.3),      # 10^-200 and below
])
def test_the_quick_frobenius_row_equals_the_stepwise_one_and_autograd(scene):
    a = analyse(simulate(scene), exact=False, stride=None)
    t = a.steps
    quick = a.row(t, exact=False)
    _parts, stepwise = drain(row_norms_steps(a.jacobians, t, a.h_size, exact=False))
    np.testing.assert_allclose(quick.h_fro, stepwise.h_fro, rtol=0, atol=1e-11)
    if stepwise.c_fro is not None:
        np.testing.assert_allclose(quick.c_fro, stepwise.c_fro, rtol=0, atol=1e-11)
    assert np.all(np.isfinite(quick.h_fro))
    # and the plain product of the one-step Jacobians (those are checked against torch's
    # autograd in test_parity), where float64 holds it
    J = np.asarray(a.jacobians)
    hs = a.h_size
    for i in (t - 1, t // 2, 0):
        P = np.eye(J.shape[1])
        for k in range(i, t):
            P = J[k] @ P
        norm = np.linalg.norm(P[:hs, :hs])
        if 1e-300 < norm < 1e300:
            ref = np.log10(norm)
            assert quick.h_fro[i] == pytest.approx(ref, abs=1e-9)
    if scene.wr_scale == 0.3:
        assert quick.h_fro[0] < -200         # far below float64's range: a value to show


@pytest.mark.parametrize("scene", [Scene(cell="lstm", hidden_size=6, steps=50, wr_scale=1.4),
                                   Scene(cell="lstm", hidden_size=6, steps=40, proj_size=3)])
def test_a_cell_states_map_in_two_passes_equals_the_products_of_both_parts_at_once(scene):
    """∂h_t/∂h_i from the h-columns of the products only, ∂c_t/∂c_i from the c-columns only:
    the same norms as the whole products (every column of a product evolves on its own)."""
    a = analyse(simulate(scene), exact=False, stride=None)
    J, hs, T = np.asarray(a.jacobians), a.h_size, a.steps
    whole = JacobianProducts(J.shape[1], hs, T, exact=True)
    for Jk in J:
        whole.append(Jk)
    two = jacobian_map(J, hs, exact=True)
    for name, mine in (("h_fro", two.h_fro), ("h_2", two.h), ("c_fro", two.c_fro), ("c_2", two.c)):
        np.testing.assert_allclose(mine, getattr(whole, name), rtol=0, atol=1e-12)
    # h first: a map of ∂h_t/∂h_i alone comes between the passes, the very numbers of the end
    seen, final = drain(jacobian_map_steps(J, hs, exact=False, dtype=np.float32, every=7,
                                           h_first=True))
    maps = [s for s in seen if isinstance(s, JacobianMap)]
    assert len(maps) == 1 and maps[0].c_fro is None and maps[0].full
    assert seen.index(maps[0]) == T // 7          # after the h pass, before the c pass
    np.testing.assert_array_equal(maps[0].h_fro, final.h_fro)
    assert final.c_fro is not None
    plain = jacobian_map(J, hs, exact=False, dtype=np.float32)
    np.testing.assert_array_equal(final.h_fro, plain.h_fro)
    np.testing.assert_array_equal(final.c_fro, plain.c_fro)


def test_a_state_without_a_cell_has_one_pass_and_no_c_part():
    J, hs = trace_jacobians("gru")
    seen = list(jacobian_map_steps(J, hs, every=5, h_first=True))
    assert all(isinstance(s, int) for s in seen)
    with pytest.raises(ValueError, match="part"):
        JacobianProducts(J.shape[1], hs, 3, part="c")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_windows_float32_quick_row_is_float64s_to_float32_rounding(cell):
    """The first stage's Frobenius row in float32 (like the map): within 1e-5 decades of
    float64 at H = 64, T = 200, 10^-60 deep included."""
    a = analyse(simulate(Scene(cell=cell, hidden_size=64, steps=200, wr_scale=0.6)),
                exact=False, stride=None)
    quick = a.row(200, exact=False, dtype=np.float32)
    ref = a.row(200, exact=False)
    assert ref.h_fro[0] < -10
    np.testing.assert_allclose(quick.h_fro, ref.h_fro, rtol=0, atol=1e-5)
    if ref.c_fro is not None:
        np.testing.assert_allclose(quick.c_fro, ref.c_fro, rtol=0, atol=1e-5)


@pytest.mark.parametrize("scene", [
    Scene(cell="lstm", hidden_size=6, steps=40, num_layers=2, bidirectional=True, layer=1,
          direction=1, wr_scale=1.3),
    Scene(cell="lstm", hidden_size=6, steps=40, forget_clamp=0.9),
    Scene(cell="rnn", nonlinearity="relu", hidden_size=7, steps=40, num_layers=2, layer=1,
          bidirectional=True, direction=1, wr_scale=1.2),
], ids=["lstm-layer1-reverse", "lstm-clamped", "rnn-relu-layer1-reverse"])
def test_the_quick_row_by_step_factors_equals_the_row_by_jacobians(scene):
    """Any layer and direction (and a clamped forget gate): the factored steps give the
    Jacobians' row in float64, and float32 stays within 1e-4 decades of it."""
    a = analyse(simulate(scene), scene.layer, scene.direction, exact=False)
    assert a.kind.row_factors(a.trace, a.layer, a.direction, np.float64) is not None
    want = row_norms(a.jacobians, a.steps, a.h_size, exact=False)          # by J, no factors
    got = a.row(a.steps, exact=False, dtype=np.float64)
    quick = a.row(a.steps, exact=False, dtype=np.float32)
    names = ("h_fro", "c_fro") if scene.cell == "lstm" else ("h_fro",)
    for name in names:
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0, atol=1e-12)
        assert np.max(np.abs(getattr(quick, name) - getattr(want, name))) < 1e-4


def test_step_factors_are_left_out_where_they_do_not_apply():
    """A projection (h = W_hh·... then W_hr) and a GRU use the Jacobians."""
    from gradviz.core.kinds import KINDS

    proj = analyse(simulate(Scene(cell="lstm", hidden_size=6, proj_size=3, steps=20)), exact=False)
    assert proj.kind.row_factors(proj.trace, 0, 0, np.float32) is None
    assert KINDS["gru"].row_factors is None




@pytest.mark.parametrize("make", ["saturated", "tiny-w", "huge-w"])
def test_the_quick_row_by_step_factors_keeps_any_range_in_float32(make):
    """Steps that shrink or grow a float32 product by 10^25 or more in one go: each step's factors
    and W_hh are scaled by powers of two first (as the Jacobians are), so the row equals the
    float64 row (no false "exact zero", nothing out of range)."""
    if make == "saturated":   # every unit's σ′ ≈ e^-100 at step 6: that step shrinks by 10^-43
        net = init_net(CellSpec(kind="rnn", nonlinearity="sigmoid", input_size=1, hidden_size=4),
                       seed=2)
        net.layer_params(0, 0)["w_ih"][:] = 1.0
        x = np.ones((12, 1))
        x[5] = -100.0
        trace, cell = run(net, x), "rnn"
    else:
        scene = (Scene(cell="rnn", hidden_size=5, steps=12, wr_scale=1e-25) if make == "tiny-w"
                 else Scene(cell="lstm", hidden_size=5, steps=12, wr_scale=1e12))
        trace, cell = simulate(scene), scene.cell
    a = analyse(trace, exact=False)
    assert a.kind.row_factors(a.trace, 0, 0, np.float32) is not None
    want = row_norms(a.jacobians, a.steps, a.h_size, exact=False)            # float64, by J
    quick = a.row(a.steps, exact=False, dtype=np.float32)
    for name in ("h_fro", "c_fro") if cell == "lstm" else ("h_fro",):
        got, ref = getattr(quick, name), getattr(want, name)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)
    assert np.min(want.h_fro[:-1]) < -25 or np.max(want.h_fro) > 25     # the range was wide


def test_a_coarse_map_stops_between_its_products_not_only_between_blocks():
    """A drag's next scene waits for the coarse map of the last one to notice it: the map
    asks ``should_stop`` before each block and before each row of the blocks' products (at
    H = 64, T = 200 the products alone took 20-25 ms), and stops with Stopped there."""
    from gradviz.core.jacobians import Stopped, coarse_map
    a = analyse(simulate(Scene(cell="rnn", hidden_size=16, steps=60, wr_scale=1.2)),
                exact=False, stride=None)
    stride = 3
    blocks = a.steps // stride
    asked = []
    coarse_map(a.jacobians, a.h_size, stride, should_stop=lambda: asked.append(1) and False)
    assert len(asked) == 2 * blocks          # once per block, once per row of the products
    calls = []

    def stop_after_the_blocks():
        calls.append(1)
        return len(calls) > blocks + 1       # the blocks done, one row of their products too

    with pytest.raises(Stopped):
        coarse_map(a.jacobians, a.h_size, stride, should_stop=stop_after_the_blocks)
    assert len(calls) == blocks + 2


def test_loading_the_step_jacobians_stops_between_pieces_and_keeps_nothing_half_done():
    """The worker loads a scene's one-step Jacobians after its first stage is painted; a newer
    scene stops it before the next piece (an LSTM's at H = 64, T = 200 took 7-30 ms), and a
    later load computes them all, the same numbers."""
    from gradviz.core.jacobians import StepJacobians, Stopped, step_jacobians
    trace = simulate(Scene(cell="lstm", hidden_size=64, steps=50, wr_scale=1.3))
    J = StepJacobians(trace)
    pieces = -(-50 // J.piece)
    assert pieces >= 3
    asked = []
    with pytest.raises(Stopped):
        J.load(should_stop=lambda: asked.append(1) or len(asked) > 2)
    assert len(asked) == 3 and J._whole is None
    np.testing.assert_array_equal(J.load(should_stop=lambda: False), step_jacobians(trace))


@pytest.mark.parametrize("scene", [
    Scene(cell="lstm", hidden_size=12, steps=150, wr_scale=1.4),
    Scene(cell="lstm", hidden_size=6, steps=300, wr_scale=0.3),          # far below 10^-30
    Scene(cell="lstm", hidden_size=5, steps=60, proj_size=3),            # no factors: by J
    Scene(cell="gru", hidden_size=6, steps=80, wr_scale=2.0),
    Scene(cell="rnn", hidden_size=7, steps=90, wr_scale=1.6),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_frobenius_row_in_parts_on_two_threads_is_the_row_of_one(scene, dtype):
    """A trained model's first row: the h and c rows of the product on two threads, each with
    its own scale, in parts (nearest lags first). Every part holds the final row's values at
    its lags, and the row equals the one-thread row (its float64 Frobenius norms by J within
    float rounding)."""
    a = analyse(simulate(scene), exact=False)
    want = row_norms(a.jacobians, a.steps, a.h_size, exact=False)          # float64, by J
    parts, row = drain(a.row_steps(a.steps, exact=False, every=0.0, dtype=dtype, threads=2))
    one = a.row(a.steps, exact=False, dtype=dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    names = ("h_fro", "c_fro") if scene.cell == "lstm" else ("h_fro",)
    assert row.complete and not row.exact and len(parts) >= a.steps // 2
    assert [p.first for p in parts] == sorted((p.first for p in parts), reverse=True)
    for name in names:
        got = getattr(row, name)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, getattr(want, name), rtol=0, atol=tol)
        np.testing.assert_allclose(got, getattr(one, name), rtol=0, atol=tol)
        for part in parts:
            values = getattr(part, name)
            assert np.isnan(values[:part.first]).all()
            np.testing.assert_array_equal(values[part.first:], got[part.first:])


@pytest.mark.parametrize("scene,stride", [
    (Scene(cell="lstm", hidden_size=12, steps=120, wr_scale=1.3), 10),
    (Scene(cell="lstm", hidden_size=8, steps=200, wr_scale=0.3, forget_clamp=0.5), 25),  # tiny
    (Scene(cell="rnn", hidden_size=9, steps=90, wr_scale=1.7), 6),
])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_coarse_map_by_step_factors_equals_the_one_by_jacobians(scene, stride, threads):
    """A trained model's coarse map multiplies its blocks by the step factors (no Jacobian
    formed), on both cores: float64 factors give the blocks' map by J to rounding, float32
    within 1e-4 decades, one thread or two."""
    from gradviz.core.jacobians import coarse_map
    a = analyse(simulate(scene), exact=False, stride=None)
    want = coarse_map(a.jacobians, a.h_size, stride, dtype=np.float64)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        got = coarse_map(a.jacobians, a.h_size, stride, dtype=dtype, threads=threads,
                         factors=a.step_factors(dtype, threads))
        assert got.stride == stride
        for name in ("h_fro", "c_fro") if scene.cell == "lstm" else ("h_fro",):
            mine, theirs = getattr(got, name), getattr(want, name)
            low = np.tril_indices(mine.shape[0])
            assert np.all(np.isfinite(mine[low]))
            np.testing.assert_allclose(mine[low], theirs[low], rtol=0, atol=tol)


def test_factored_blocks_stop_inside_a_block_and_blocks_by_j_need_no_shared_cache():
    """A trained model's block is dozens of steps (62 at T = 1000, about 1 s): the factored
    blocks ask ``should_stop`` every 8 steps inside it. Blocks by J from Jacobians too large
    to hold fetch their steps piece by piece, so two threads do not overwrite each other's
    cached chunk: the same numbers as from the whole, bit for bit (found in review)."""
    from gradviz.core.jacobians import StepJacobians, Stopped, block_products
    a = analyse(simulate(Scene(cell="lstm", hidden_size=8, steps=96, wr_scale=1.2)),
                exact=False, stride=None)
    asked = []
    with pytest.raises(Stopped):
        block_products(a.jacobians, 48, should_stop=lambda: asked.append(1) or len(asked) > 3,
                       factors=a.step_factors(np.float32, 1))
    assert len(asked) == 4                     # the block's start, then within its steps
    whole = block_products(a.jacobians, 12)
    chunked = StepJacobians(a.trace, eager_bytes=0)
    assert not chunked.eager
    for threads in (1, 2):
        Q, scale = block_products(chunked, 12, threads=threads)
        np.testing.assert_array_equal(Q, whole[0])
        np.testing.assert_array_equal(scale, whole[1])
