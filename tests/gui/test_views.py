"""Each view holds the core's numbers in its plot items, shows steps 0..t, and restyles."""
import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QPen
from PyQt6.QtWidgets import QApplication

from gradviz.core import plotdata
from gradviz.core.cells import CellSpec, RecurrentNet
from gradviz.core.dynamics import run
from gradviz.core.jacobians import LOG10_ZERO, step_jacobians
from gradviz.core.scene import Scene, analyse, simulate
from gradviz.gui.views import (ALL_VIEWS, CompareView, GatesView, GradientFlowView,
                               JacobianMapView, JacobianStepView, StatesView, StepFactorsView)
from gradviz.gui.views.base import Appearance
from gradviz.gui.views.jacobian_map import SENTINEL, display_map

CELLS = ["rnn", "lstm", "gru"]
T = 40


@pytest.fixture(scope="module")
def runs():
    """(scene, exact analysis, window-style Frobenius analysis) per cell kind."""
    out = {}
    for cell in CELLS:
        scene = Scene(cell=cell, hidden_size=6, steps=T, seed=2)
        trace = simulate(scene)
        out[cell] = (scene, analyse(trace), analyse(trace, exact=False, dtype=np.float32))
    return out


def make(qtbot, cls, size=(700, 450)):
    view = cls()
    qtbot.addWidget(view)
    view.resize(*size)
    return view


def xy(item):
    x, y = item.getData()
    empty = np.zeros(0)
    return (empty, empty) if x is None else (np.asarray(x), np.asarray(y))


def test_all_views_listed():
    assert [c.file_stem for c in ALL_VIEWS] == ["states", "gates", "gradient_flow", "jacobian_map",
                                                "step_factors", "jacobian_step"]
    assert all(c.title for c in ALL_VIEWS)


@pytest.mark.parametrize("cell", CELLS)
def test_views_accept_steps_before_analysis_and_out_of_range(qtbot, runs, cell):
    scene, _exact, fro = runs[cell]
    for cls in ALL_VIEWS:
        v = make(qtbot, cls)
        v.set_step(3, None)              # nothing to show yet: no error
        v.set_analysis(scene, fro)
        v.set_step(10_000, None)         # clamped to the last step
        assert v.step == T
        v.set_step(0, None)
        assert v.step == 0


@pytest.mark.parametrize("cell", CELLS)
def test_states_lines_hold_h_up_to_step(qtbot, runs, cell):
    scene, _, a = runs[cell]
    v = make(qtbot, StatesView)
    v.set_analysis(scene, a)
    assert not v.heatmap   # 6 units: lines
    v.set_step(17, None)
    lt = a.trace.layer()
    h = v.panels["h"]
    assert len(h.curves) == 6
    for j, c in enumerate(h.curves):
        x, y = xy(c)
        np.testing.assert_array_equal(x, np.arange(18))
        np.testing.assert_array_equal(y, lt.h[:18, j])
    assert h.cursor.value() == 17
    if cell == "lstm":
        assert v._shown == ["h", "c"]
        x, y = xy(v.panels["c"].curves[3])
        np.testing.assert_array_equal(y, lt.c[:18, 3])
    else:
        assert v._shown == ["h"]


def test_states_heatmap_default_for_many_units(qtbot):
    scene = Scene(hidden_size=20, steps=12)
    a = analyse(simulate(scene), exact=False)
    v = make(qtbot, StatesView)
    v.set_analysis(scene, a)
    assert v.heatmap
    v.set_step(5, None)
    img = v.panels["h"].heatmap.image
    np.testing.assert_array_equal(img.image, a.trace.layer().h[:6])
    lo, hi = img.getLevels()
    assert lo == -hi and hi == pytest.approx(np.abs(a.trace.layer().h).max())
    v.heatmap_box.setChecked(False)   # the user's choice wins over the default
    assert len(v.panels["h"].curves) == 20
    v.set_analysis(scene, a)
    assert not v.heatmap


@pytest.mark.parametrize("cell", CELLS)
def test_gates_hold_mean_range_and_heatmap(qtbot, runs, cell):
    scene, _, a = runs[cell]
    v = make(qtbot, GatesView)
    v.set_analysis(scene, a)
    v.set_step(12, None)
    d = plotdata.gates(a)
    names = plotdata.GATE_NAMES[cell]
    assert v.names == names
    for name in names:
        x, y = xy(v.means[name])
        np.testing.assert_array_equal(x, np.arange(1, 13))
        np.testing.assert_allclose(y, d[f"{name}_mean"][:12])
        lo, hi, _ = v.bands[name]
        np.testing.assert_array_equal(xy(lo)[1], d[f"{name}_min"][:12])
        np.testing.assert_array_equal(xy(hi)[1], d[f"{name}_max"][:12])
    default = {"rnn": "dphi", "lstm": "f", "gru": "z"}[cell]
    assert v.heatmap_gate == default
    np.testing.assert_array_equal(v.heatmap.image.image, d[default][:12])
    v.gate_box.setCurrentIndex(0)
    np.testing.assert_array_equal(v.heatmap.image.image, d[names[0]][:12])
    v.set_step(0, None)
    assert xy(v.means[names[0]])[0].size == 0 and not v.heatmap.image.isVisible()


@pytest.mark.parametrize("cell", CELLS)
def test_gradient_flow_exact_row_and_overlays(qtbot, runs, cell):
    scene, _, a = runs[cell]
    v = make(qtbot, GradientFlowView)
    v.set_analysis(scene, a)
    t = 30
    v.set_step(t, None)     # row still computing: Frobenius shown, and said so
    x, y = xy(v.main)
    np.testing.assert_array_equal(x, np.arange(t + 1))
    np.testing.assert_allclose(y, a.jac.h_fro[t, :t + 1][::-1])
    assert "Frobenius until" in v.plot.legend.items[0][1].text
    row = a.row(t)
    v.set_step(t, row)
    np.testing.assert_allclose(xy(v.main)[1], row.h[::-1])
    assert "until" not in v.plot.legend.items[0][1].text
    d = plotdata.gradient_flow(a, t, row)
    expected = {"rnn": ["log10_bound_h", "log10_sigma_power"],
                "lstm": ["log10_jac_c", "log10_forget_path"], "gru": ["log10_update_path"]}[cell]
    assert [k for k, _ in v.overlays] == expected
    for key, c in v.overlays:
        key = "log10_jac_c" if key == "log10_jac_c" else key
        np.testing.assert_allclose(xy(c)[1], d[key])
    v.norm_box.setCurrentIndex(1)   # Frobenius
    np.testing.assert_allclose(xy(v.main)[1], row.h_fro[::-1])
    v.set_step(t - 1, row)          # a stale row (other step) is not used
    np.testing.assert_allclose(xy(v.main)[1], a.jac.h_fro[t - 1, :t][::-1])


def test_gradient_flow_exact_zero_drawn_on_the_floor(qtbot, runs):
    scene, _, a = runs["rnn"]
    a = analyse(a.trace, exact=False)
    a.jac.h_fro[25, :10] = LOG10_ZERO    # as if a relu layer had switched every unit off
    v = make(qtbot, GradientFlowView)
    v.norm_box.setCurrentIndex(1)
    v.set_analysis(scene, a)
    v.set_step(25, None)
    y = xy(v.main)[1]
    real = a.jac.h_fro[~np.isnan(a.jac.h_fro) & (a.jac.h_fro > LOG10_ZERO)]
    assert v.floor < real.min() and v.floor > real.min() - 5   # the range is not stretched
    np.testing.assert_array_equal(y[-10:], v.floor)
    (_, _), (ylo, _) = v.plot.vb.viewRange()
    assert ylo == pytest.approx(v.floor)


@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_map_image_and_click(qtbot, runs, cell):
    scene, exact, a = runs[cell]
    v = make(qtbot, JacobianMapView)
    v.set_analysis(scene, a)
    v.set_step(25, None)
    img = v.image.image
    assert img.shape == (26, T + 1)
    assert np.all(np.isfinite(img))
    expected = display_map(a.jac.h_fro, v.level)[:26]
    np.testing.assert_array_equal(img, expected)
    assert np.all(img[np.triu_indices(26, 1, T + 1)] == SENTINEL)
    lo, hi = v.bar.levels()
    assert lo == -hi == -v.level
    # exact maps are preferred when there are
    v.set_analysis(scene, exact)
    assert v.key == "log10_jac_h"
    qtbot.waitExposed(v) if v.isVisible() else (v.show(), qtbot.waitExposed(v))
    v.set_step(T, None)
    vb = v.plot.vb
    point = v.graphics.mapFromScene(vb.mapViewToScene(QPointF(7, 31)))
    with qtbot.waitSignal(v.pair_selected, timeout=2000) as sig:
        qtbot.mouseClick(v.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert sig.args == [31, 7]
    assert v.col_line.value() == 7
    # above the diagonal: no pair
    point = v.graphics.mapFromScene(vb.mapViewToScene(QPointF(30, 5)))
    with qtbot.assertNotEmitted(v.pair_selected):
        qtbot.mouseClick(v.graphics.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_jacobian_map_theory_choice(qtbot, runs):
    scene, _, a = runs["lstm"]
    v = make(qtbot, JacobianMapView)
    v.set_analysis(scene, a)
    assert [v.map_box.itemData(k) for k in range(v.map_box.count())] == ["h", "c", "forget"]
    v.map_box.setCurrentIndex(2)
    v.set_step(T, None)
    np.testing.assert_array_equal(v.image.image, display_map(a.forget_path, v.level))


@pytest.mark.parametrize("cell", CELLS)
def test_step_factors(qtbot, runs, cell):
    scene, _, a = runs[cell]
    v = make(qtbot, StepFactorsView)
    v.set_analysis(scene, a)
    v.set_step(22, None)
    d = plotdata.step_factors(a)
    for key, c in v.curves:
        x, y = xy(c)
        np.testing.assert_array_equal(x, np.arange(1, 23))
        np.testing.assert_array_equal(y, d[key][:22])
    key = {"rnn": "log10_running_product", "lstm": "log10_forget_path",
           "gru": "log10_update_path"}[cell]
    np.testing.assert_array_equal(xy(v.product)[1], d[key][:22])
    assert v.one.value() == 1.0
    if cell == "rnn":
        assert np.all(xy(v.sigma)[1] == pytest.approx(a.sigma_max)) and v.sigma.isVisible()
        assert f"= {a.sigma_max:.2f}" in v.upper.legend.items[-1][1].text


@pytest.mark.parametrize("cell", CELLS)
def test_jacobian_step(qtbot, runs, cell):
    scene, _, a = runs[cell]
    v = make(qtbot, JacobianStepView)
    v.set_analysis(scene, a)
    v.set_step(9, None)
    d = plotdata.jacobian_at_step(a, 9)
    np.testing.assert_array_equal(v.heatmap.image.image, a.jacobians[8][:6, :6])
    np.testing.assert_allclose(xy(v.sv_curve)[1], d["singular_values"])
    assert v._with_eig is False
    v.set_step(0, None)   # no step taken yet
    assert not v.heatmap.image.isVisible()


def test_jacobian_step_h2_eigenvalues(qtbot):
    scene = Scene(hidden_size=2, steps=10, wr_scale=1.3)
    a = analyse(simulate(scene), exact=False)
    v = make(qtbot, JacobianStepView)
    v.set_analysis(scene, a)
    v.set_step(10, None)
    assert v._with_eig
    w = a.trace.net.layer_params(0, 0)["w_hh"]
    pts = v.eig_whh.getData()
    np.testing.assert_allclose(np.sort_complex(pts[0] + 1j * pts[1]), np.sort_complex(np.linalg.eigvals(w)))
    pts = v.eig_jac.getData()
    np.testing.assert_allclose(np.sort_complex(pts[0] + 1j * pts[1]),
                               np.sort_complex(np.linalg.eigvals(a.jacobians[9])))


def test_compare(qtbot, runs):
    v = make(qtbot, CompareView)
    results = {cell: runs[cell][2] for cell in CELLS}
    v.set_compare(results, 33)
    assert set(v.curves) == set(CELLS)
    for cell, a in results.items():
        x, y = xy(v.curves[cell])
        np.testing.assert_array_equal(x, np.arange(34))
        np.testing.assert_allclose(y, np.maximum(a.jac.h_fro[33, :34][::-1], v.floor))
    v.set_step(T, None)
    assert xy(v.curves["gru"])[0].size == T + 1
    v.set_compare({"lstm": runs["lstm"][1]}, 5)
    assert set(v.curves) == {"lstm"}
    np.testing.assert_allclose(xy(v.curves["lstm"])[1], runs["lstm"][1].jac.h[5, :6][::-1])


def pen_width(item):
    pen = item.pen if isinstance(getattr(item, "pen", None), QPen) else item.opts["pen"]
    return pen.widthF()


def test_appearance_changes_fonts_pens_and_background(qtbot, runs):
    scene, _, a = runs["rnn"]
    for cls in ALL_VIEWS + [CompareView]:
        v = make(qtbot, cls)
        if cls is CompareView:
            v.set_compare({"rnn": a}, 10)
        else:
            v.set_analysis(scene, a)
        v.set_appearance(Appearance.presentation(dark=True))
        plot = v.styler._plots[0][0]
        assert plot.getAxis("bottom").style["tickFont"].pointSizeF() == 18
        assert plot.getAxis("bottom").labelStyle["font-size"] == "19pt"
        assert v.graphics.backgroundBrush().color().name() == "#16181c"
        widths = [pen_width(item) for item, *_ in v.styler._curves]
        assert widths and min(widths) >= 2.0   # presentation: nothing hairline
        big = max(widths)
        v.set_appearance(Appearance())
        assert max(pen_width(item) for item, *_ in v.styler._curves) == big / 2
        assert plot.getAxis("bottom").style["tickFont"].pointSizeF() == 11
        assert v.graphics.backgroundBrush().color().name() == "#ffffff"


def test_unit_lines_restyle(qtbot, runs):
    scene, _, a = runs["lstm"]
    v = make(qtbot, StatesView)
    v.set_analysis(scene, a)
    v.set_appearance(Appearance(line_width=4.0))
    assert v.panels["c"].curves[0].opts["pen"].widthF() == 3.0


def tick_labels(axis) -> list[float]:
    """The numbers an axis prints (after any SI scaling it applies)."""
    lo, hi = axis.range
    out = []
    for spacing, values in axis.tickValues(lo, hi, 300):
        out += axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
    return [float(s.replace("−", "-")) for s in out]


def test_jacobian_step_colour_bar_keeps_the_data_range_after_appearance(qtbot, runs):
    scene, _, a = runs["rnn"]
    v = make(qtbot, JacobianStepView)
    v.set_analysis(scene, a)
    v.set_step(T, None)
    m = plotdata.jacobian_extent(a)
    assert 0.01 < m < 1.0   # the range pyqtgraph would print in milli-units (±200 for ±0.2)
    for appearance in (Appearance.presentation(), Appearance(dark=True), Appearance()):
        v.set_appearance(appearance)
        assert v.heatmap.bar.levels() == pytest.approx((-m, m))
        np.testing.assert_array_equal(v.heatmap.image.getLevels(), np.float64([-m, m]))
        labels = tick_labels(v.heatmap.bar.axis)
        assert labels and max(abs(x) for x in labels) <= m * (1 + 1e-9)
        assert max(abs(x) for x in labels) >= m / 5
    for plot, _ in v.styler._plots:   # no axis prints scaled numbers either
        assert plot.getAxis("left").autoSIPrefixScale == 1.0


def shown(qtbot, view, size):
    """Lay ``view`` out offscreen at ``size`` the way render_views does."""
    view.resize(*size)
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.show()
    qtbot.waitUntil(lambda: view.isVisible())
    for _ in range(3):
        QApplication.processEvents()


def scene_rect(item):
    return item.mapRectToScene(item.boundingRect())


def check_layout(view, size):
    """Every legend is shown, outside its plot's data (above it, or beside it when the plot is
    short) and inside the view; nothing is cut off on the right."""
    width = view.graphics.width()
    for plot, _ in view.styler._plots:
        if not plot.isVisible() or plot.scene() is None:   # not part of this layout
            continue
        data = scene_rect(plot.vb)
        assert data.right() <= width + 1, (type(view).__name__, size, plot.titleLabel.text)
        assert data.height() > 10, (type(view).__name__, size, plot.titleLabel.text)
        lg = getattr(plot, "legend", None)
        if lg is not None and lg.enabled and lg.items:
            assert lg.isVisible(), (type(view).__name__, size, plot.titleLabel.text)
            box = scene_rect(lg)
            assert not box.adjusted(1, 1, -1, -1).intersects(data), (type(view).__name__, size)
            assert box.right() <= width + 1, (type(view).__name__, size, box, width)
            if lg.where == "top":
                assert box.bottom() <= data.top() + 1
            else:
                assert box.left() >= data.right() - 1


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("appearance", [Appearance(), Appearance.presentation(dark=True)],
                         ids=["normal", "presentation"])
def test_legends_never_cover_data_and_nothing_is_cut_off(qtbot, runs, cell, appearance):
    scene, _, a = runs[cell]
    sizes = [(450, 300), (520, 380), (960, 600)] if not appearance.font_pt > 11 else \
        [(640, 420), (960, 600)]
    for cls in ALL_VIEWS:
        v = make(qtbot, cls)
        v.set_appearance(appearance)
        v.set_analysis(scene, a)
        v.set_step(T, a.row(T))
        for size in sizes:
            shown(qtbot, v, size)
            check_layout(v, size)


def test_legend_moves_out_of_the_way_when_the_view_is_short(qtbot, runs):
    scene, _, a = runs["rnn"]
    v = make(qtbot, GradientFlowView)
    v.set_analysis(scene, a)
    v.set_step(T, None)
    shown(qtbot, v, (960, 600))
    lg = v.plot.legend
    assert lg.isVisible() and lg.columnCount == 3        # one row above the data
    shown(qtbot, v, (450, 600))
    assert lg.isVisible() and lg.columnCount < 3          # entries wrap onto more rows
    shown(qtbot, v, (450, 160))
    assert lg.isVisible() and lg.where == "right"        # too short: beside the data
    check_layout(v, (450, 160))
    shown(qtbot, v, (960, 600))
    assert lg.isVisible() and lg.where == "top"


def every_view(qtbot, scene, analysis, step, row=None):
    views = {}
    for cls in ALL_VIEWS:
        v = make(qtbot, cls)
        v.set_analysis(scene, analysis)
        v.set_step(step, row)
        views[cls] = v
    return views


def test_views_show_the_chosen_layer_and_direction(qtbot):
    scene = Scene(num_layers=2, bidirectional=True, layer=1, direction=1, hidden_size=5, steps=20,
                  seed=4)
    trace = simulate(scene)
    a = analyse(trace, scene.layer, scene.direction, exact=False, dtype=np.float32)
    lt = trace.layer(1, 1)
    assert not np.allclose(lt.h, trace.layer(0, 0).h)   # the choice matters
    t = 12
    v = every_view(qtbot, scene, a, t, a.row(t))
    h = v[StatesView].panels["h"]
    for j, c in enumerate(h.curves):
        np.testing.assert_array_equal(xy(c)[1], lt.h[:t + 1, j])
    g = v[GatesView]
    np.testing.assert_array_equal(g.heatmap.image.image, lt.dphi[:t])
    np.testing.assert_allclose(xy(g.means["a"])[1], lt.preact["a"][:t].mean(axis=1))
    J = step_jacobians(trace, 1, 1)
    np.testing.assert_allclose(v[JacobianStepView].heatmap.image.image, J[t - 1])
    np.testing.assert_allclose(xy(v[GradientFlowView].main)[1], a.row(t).h[::-1])
    np.testing.assert_array_equal(v[JacobianMapView].values, a.jac.h_fro)
    np.testing.assert_allclose(xy(v[StepFactorsView].curves[0][1])[1],
                               plotdata.step_factors(a)["step_factor"][:t])


def test_views_on_a_projected_lstm_keep_h_and_c_sizes_apart(qtbot):
    scene = Scene(cell="lstm", proj_size=3, hidden_size=8, steps=20, seed=1)
    trace = simulate(scene)
    a = analyse(trace, exact=False, dtype=np.float32)
    lt = trace.layer()
    assert lt.h.shape == (21, 3) and lt.c.shape == (21, 8) and a.h_size == 3
    t = 15
    v = every_view(qtbot, scene, a, t, a.row(t))
    states = v[StatesView]
    assert len(states.panels["h"].curves) == 3 and len(states.panels["c"].curves) == 8
    np.testing.assert_array_equal(xy(states.panels["h"].curves[2])[1], lt.h[:t + 1, 2])
    np.testing.assert_array_equal(xy(states.panels["c"].curves[7])[1], lt.c[:t + 1, 7])
    gates = v[GatesView]
    assert gates.heatmap.image.image.shape == (t, 8)          # gates have H units
    np.testing.assert_array_equal(gates.heatmap.image.image, lt.gates["f"][:t])
    step = v[JacobianStepView]
    np.testing.assert_array_equal(step.heatmap.image.image, a.jacobians[t - 1][:3, :3])
    assert xy(step.sv_curve)[1].size == 3                     # ∂h_t/∂h_{t-1} is P × P
    flow = v[GradientFlowView]
    np.testing.assert_allclose(xy(flow.main)[1], a.row(t).h[::-1])
    np.testing.assert_allclose(flow.shown["log10_jac_c"], a.row(t).c[::-1])


@pytest.fixture(scope="module")
def overflow():
    scene = Scene(nonlinearity="relu", wr_scale=4, steps=600, init="identity", input="step",
                  hidden_size=8)
    a = analyse(simulate(scene), exact=False, dtype=np.float32)
    return scene, a


def test_views_show_the_steps_before_an_overflow_and_say_why_the_run_stopped(qtbot, overflow):
    scene, a = overflow
    assert a.trace.overflow_step == 518 and a.steps == 517 < scene.steps
    v = every_view(qtbot, scene, a, scene.steps)     # asking for step 600 shows the last one
    for view in v.values():
        assert view.step == 517
        assert not view.notice.isHidden()
        assert "overflowed float64 at step 518" in view.notice.text()
        assert "t = 517" in view.notice.text()
    h = v[StatesView].panels["h"]
    states = a.trace.layer().h
    k = int(np.floor(np.log10(states.max())))   # 1e307-sized states are drawn in units of 10^k
    assert h.exponent == k == 307 and "×10<sup>307</sup>" in h.plot.getAxis("left").labelText
    for j, c in enumerate(h.curves):
        x, y = xy(c)
        np.testing.assert_array_equal(x, np.arange(518))
        np.testing.assert_allclose(y * 10.0 ** k, states[:, j], rtol=1e-12)
    (_, _), (lo, hi) = h.plot.vb.viewRange()
    assert lo < 0 and states.max() / 10.0 ** k <= hi < 1.1 * states.max() / 10.0 ** k
    gates = v[GatesView]
    assert np.all(np.isfinite(xy(gates.means["a"])[1]))    # the mean of 1e307s stays finite
    flow = v[GradientFlowView]
    assert xy(flow.main)[0].size == 518
    (_, _), (lo, hi) = flow.plot.vb.viewRange()
    assert hi >= a.jac.h_fro[517, 0] > 300
    # a run that does not overflow has no notice
    ok = Scene(hidden_size=4, steps=10)
    view = v[StatesView]
    view.set_analysis(ok, analyse(simulate(ok), exact=False))
    assert view.notice.isHidden() and view.notes == {}


def dying_relu():
    """h_t = relu(0.7 h_{t-1} - 0.2) from h_0 in [0.5, 1.5]: every unit is off after 4 steps,
    so φ' = 0 and every ∂h_t/∂h_i across those steps is exactly 0 (LOG10_ZERO)."""
    H = 6
    spec = CellSpec(kind="rnn", nonlinearity="relu", input_size=1, hidden_size=H)
    net = RecurrentNet(spec, {"weight_ih_l0": np.ones((H, 1)), "weight_hh_l0": 0.7 * np.eye(H),
                              "bias_ih_l0": np.full(H, -0.2), "bias_hh_l0": np.zeros(H)})
    trace = run(net, np.zeros((40, 1)), h0=np.linspace(0.5, 1.5, H)[None])
    return Scene(nonlinearity="relu", hidden_size=H, steps=40), analyse(trace, exact=False)


def test_exact_zero_gradients_do_not_stretch_any_axis(qtbot):
    scene, a = dying_relu()
    assert np.all(a.trace.layer().h[10:] == 0) and np.all(a.trace.layer().dphi[10:] == 0)
    assert np.sum(a.jac.h_fro == LOG10_ZERO) > 500 and np.any(a.step_factor == LOG10_ZERO)
    v = every_view(qtbot, scene, a, 40, a.row(40))
    flow = v[GradientFlowView]
    (_, _), (lo, hi) = flow.plot.vb.viewRange()
    assert -40 < lo < -1 and hi < 5
    y = xy(flow.main)[1]
    assert np.all(y >= lo - 1e-9) and np.sum(y == flow.floor) > 30   # zeros on the floor
    assert "0 exactly from lag" in flow.notice.text() and not flow.notice.isHidden()
    factors = v[StepFactorsView]
    (_, _), (lo, hi) = factors.lower.vb.viewRange()
    assert -40 < lo < 0 and hi < 5
    assert np.all(xy(factors.product)[1] >= lo - 1e-9)
    assert "exactly 0 from step" in factors.notice.text()
    m = v[JacobianMapView]
    assert m.level <= 2
    zeros = a.jac.h_fro[:41] == LOG10_ZERO
    assert np.all(m.image.image[zeros] == -m.level)          # drawn as the deepest blue ...
    lo, hi = m._levels()
    assert np.floor((-m.level - lo) * 256 / (hi - lo)) >= 1   # ... not as the background
    step = v[JacobianStepView]
    assert step.heatmap.bar.levels() == pytest.approx((-0.7, 0.7))
    np.testing.assert_array_equal(step.heatmap.image.image, np.zeros((6, 6)))
    states = v[StatesView]
    (_, _), (lo, hi) = states.panels["h"].plot.vb.viewRange()
    assert -0.2 < lo < 0 and 1.5 < hi < 1.7


def test_a_map_kept_from_the_previous_scene_says_it_is_updating(qtbot, runs):
    """While a slider moves the map of the last scene that had one stays on screen (a map per
    tick would not keep up): its title says so, and the new scene's map replaces it."""
    import dataclasses

    scene, _, a = runs["lstm"]
    v = make(qtbot, JacobianMapView)
    v.set_analysis(scene, a)
    title = v.plot.titleLabel.text
    assert "updating" not in title
    newer = dataclasses.replace(a, jac=None)
    v.set_analysis(scene, newer)
    assert v.waiting and v.plot.titleLabel.text == title + " (updating…)"
    np.testing.assert_array_equal(v.values, a.jac.h_fro)       # the old numbers, said so
    newer.jac = a.jac
    v.set_analysis(scene, newer)
    assert not v.waiting and v.plot.titleLabel.text == title
