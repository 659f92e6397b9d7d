"""The phase diagram: batched tangent runs equal the per-point path (simulate + step_jacobians,
both checked against torch), coarse-to-fine order, progress, cancel, cache, a point's scene."""
import math

import numpy as np
import pytest

from gradviz.core.errors import GradvizError
from gradviz.core.jacobians import step_jacobians
from gradviz.core.lyapunov import lyapunov, mean_field_rate
from gradviz.core.phase import (PhaseCache, PhaseSpec, batch_lambda1, compute_phase, lin_range,
                                log_range, nearest_point, point_lambda1, point_scene,
                                refinement_order, theory_curve, x_kind, x_label)
from gradviz.core.scene import Scene, load_base_net, simulate


def spec_for(cell="rnn", nonlinearity="tanh", y_axis=None, nx=6, ny=4, H=12, steps=60,
             seeds=1, **scene):
    y_axis = y_axis or {"rnn": "amplitude", "lstm": "forget_bias", "gru": "update_bias"}[cell]
    ys = lin_range(0.0, 2.0, ny) if y_axis == "amplitude" else lin_range(-2.0, 2.0, ny)
    base = Scene(cell=cell, nonlinearity=nonlinearity, hidden_size=H, steps=steps,
                 init=scene.pop("init", "gaussian"), wr_scale=None, input=scene.pop("input", "sine"),
                 h0=0.5, **scene)
    return PhaseSpec(base, log_range(0.3, 3.0, nx), y_axis, ys, seeds=seeds)


@pytest.mark.parametrize("cell,nonlinearity,extra", [
    ("rnn", "tanh", {}), ("rnn", "relu", {}), ("rnn", "sigmoid", {}),
    ("lstm", "tanh", {}), ("lstm", "tanh", {"forget_clamp": 0.8}), ("gru", "tanh", {}),
    ("rnn", "tanh", {"init": "orthogonal", "input": "noise"}), ("lstm", "tanh", {"init": "default"}),
])
def test_batched_tangent_runs_equal_the_per_point_path(cell, nonlinearity, extra):
    spec = spec_for(cell, nonlinearity, **extra)
    base = load_base_net(spec.scene)
    points = [(ix, iy) for iy in range(4) for ix in range(6)]
    scenes = [point_scene(spec, ix, iy) for ix, iy in points]
    batched = batch_lambda1(scenes, spec.measure_from, base)
    for scene, (lam, err) in zip(scenes, batched):
        ref = lyapunov(step_jacobians(simulate(scene)), transient=spec.measure_from, k=1,
                       seed=scene.seed)
        assert lam == pytest.approx(ref.lambda1, abs=1e-9)
        assert err == pytest.approx(ref.lambda1_err, abs=1e-9)
        assert (lam, err) == pytest.approx(point_lambda1(scene, spec.measure_from), abs=1e-9)


def test_point_scenes_set_the_gain_or_the_sigma_max_target():
    spec = spec_for("lstm")
    s = point_scene(spec, 2, 1)
    assert x_kind(spec.scene) == "gain" and "g²/H" in x_label(spec.scene)
    assert s.gain == spec.g[2] and s.wr_scale is None and s.forget_bias == spec.y[1]
    other = PhaseSpec(spec.scene.replace(init="orthogonal"), spec.g, "forget_bias", spec.y)
    s2 = point_scene(other, 3, 0, seed_offset=2)
    assert x_kind(other.scene) == "sigma_max" and "σ_max" in x_label(other.scene)
    assert s2.wr_scale == other.g[3] and s2.gain is None and s2.seed == other.scene.seed + 2
    assert nearest_point(spec, spec.g[4] * 1.01, spec.y[2] - 0.01) == (4, 2)


def test_the_grid_fills_coarse_to_fine_with_progress_and_the_same_numbers():
    spec = spec_for(nx=20, ny=10)
    levels = refinement_order(20, 10)
    flat = [p for level in levels for p in level]
    assert sorted(flat) == sorted((ix, iy) for ix in range(20) for iy in range(10))
    assert len(set(flat)) == 200 and len(levels[0]) == 4 * 3   # 0, 8, 16, 19 × 0, 8, 9
    seen = []
    def progress(result, done, total):
        filled = result.filled()
        assert np.all(np.isfinite(filled)) and filled.shape == (10, 20)
        seen.append((done, total, int(result.done.sum())))
    result = compute_phase(spec, progress=progress)
    assert result.complete and result.done.all()
    assert seen[0][0] == 12 and seen[-1] == (200, 200, 200)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert np.all(np.isfinite(result.lambda1)) and np.all(np.isfinite(result.lambda1_std))
    np.testing.assert_array_equal(result.filled(), result.lambda1)
    # any point, opened as a scene, gives its number through the per-point path
    for ix, iy in ((0, 0), (13, 7), (19, 9)):
        lam, _ = point_lambda1(point_scene(spec, ix, iy), spec.measure_from)
        assert result.lambda1[iy, ix] == pytest.approx(lam, abs=1e-9)
    arrays = result.arrays()
    assert arrays["lambda1"].shape == (10, 20) and arrays["g"].shape == (20,)
    assert arrays["y"].shape == (10,) and arrays["lambda1_std"].dtype == np.float64


def test_cancel_stops_early_and_the_cache_serves_repeats():
    spec = spec_for(nx=12, ny=6)
    cache = PhaseCache()
    calls = {"n": 0}
    def cancel():
        calls["n"] += 1
        return calls["n"] > 1        # after the first chunk
    partial = compute_phase(spec, cancel=cancel, cache=cache)
    assert not partial.complete and 0 < partial.done.sum() < 72
    assert np.all(np.isnan(partial.lambda1[~partial.done]))
    first = int(partial.done.sum())
    assert len(cache) == first
    full = compute_phase(spec, cache=cache)
    assert full.complete and full.cached == first and len(cache) == 72
    np.testing.assert_array_equal(full.lambda1[partial.done], partial.lambda1[partial.done])
    again = compute_phase(spec, cache=cache)
    assert again.cached == 72
    np.testing.assert_array_equal(again.lambda1, full.lambda1)
    # a finer range reuses the points it shares
    wider = PhaseSpec(spec.scene, spec.g + (4.0,), spec.y_axis, spec.y)
    assert compute_phase(wider, cache=cache).cached == 72
    small = PhaseCache(capacity=5)
    compute_phase(spec, cache=small)
    assert len(small) == 5


def test_seeds_give_the_spread_over_seeds():
    spec = spec_for(nx=3, ny=2, seeds=3)
    result = compute_phase(spec)
    base_scene = spec.scene
    lams = []
    for s in range(3):
        scene = point_scene(spec, 1, 1, s)
        assert scene.seed == base_scene.seed + s
        lams.append(point_lambda1(scene, spec.measure_from)[0])
    assert result.lambda1[1, 1] == pytest.approx(np.mean(lams), abs=1e-9)
    assert result.lambda1_std[1, 1] == pytest.approx(np.std(lams, ddof=1), abs=1e-9)


def test_zero_input_tanh_rows_follow_the_theory():
    spec = PhaseSpec(Scene(hidden_size=128, init="gaussian", wr_scale=None, input="zeros",
                           h0=0.5, steps=300), (0.5, 2.0), "amplitude", (0.0,))
    result = compute_phase(spec)
    g, lam = theory_curve(spec, points=50)
    assert g[0] == pytest.approx(0.5) and g[-1] == pytest.approx(2.0)
    np.testing.assert_allclose(lam, mean_field_rate(g))
    assert abs(result.lambda1[0, 0] - math.log(0.5)) < 0.1
    assert abs(result.lambda1[0, 1] - mean_field_rate(2.0)) < 0.05
    assert theory_curve(spec_for("lstm")) is None


@pytest.mark.parametrize("change,message", [
    ({"y_axis": "forget_bias"}, "applies to LSTM"),
    ({"y_axis": "nope"}, "unknown second axis"),
    ({"g": ()}, "at least one"),
    ({"g": (0.0, 1.0)}, "positive"),
    ({"seeds": 0}, "seeds"),
    ({"transient": 60}, "transient"),
])
def test_bad_specs_are_one_line_errors(change, message):
    spec = spec_for()
    bad = PhaseSpec(**{**{"scene": spec.scene, "g": spec.g, "y_axis": spec.y_axis,
                          "y": spec.y}, **change})
    with pytest.raises(GradvizError, match=message):
        compute_phase(bad)


def test_ranges():
    assert log_range(0.1, 4.0, 3) == pytest.approx((0.1, math.sqrt(0.4), 4.0))
    assert lin_range(-1, 1, 3) == (-1.0, 0.0, 1.0)
    with pytest.raises(GradvizError):
        log_range(0.0, 1.0, 3)
    with pytest.raises(GradvizError):
        lin_range(1.0, 0.0, 3)
