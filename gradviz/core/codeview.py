r"""What the Code view shows, Qt-free: equations ↔ torch layout ↔ code, and the cursor's numbers.

:func:`equations` lists the current cell's formulas as the notes write them (row vectors,
``x @ W``), each with where its weights sit in torch's stacked ``weight_ih_l{l}`` /
``weight_hh_l{l}`` (which rows are W_i, W_f, W_g, W_o), how the two biases combine, and
``weight_hr`` for proj_size. :func:`differences` says where the notes and torch differ.
:func:`hand_step_code` is the hand-written step in plain torch: the very ``cell_step`` of the
exported script (:mod:`gradviz.core.codegen`). :func:`step_view` reads the numbers of one step
(a_t, φ'(a_t), the gates, h_t, c_t, this step's Jacobian factor) out of an
:class:`~gradviz.core.scene.Analysis`: the view formats them and computes nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import codegen
from .cells import CellSpec
from .i18n import _
from .jacobians import LOG10_ZERO


@dataclass(frozen=True)
class Equation:
    """One formula as in the notes, and where torch keeps what it uses."""

    notes: str
    torch: str


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


def equations(spec: CellSpec, layer: int = 0, direction: int = 0) -> list[Equation]:
    """The cell's equations (notes' layout) with torch's names, rows and shapes."""
    sfx = _suffix(layer, direction)
    H, Hh, n_in = spec.hidden_size, spec.state_size, spec.layer_input_size(layer)
    wih, whh, bih, bhh = (f"{k}{sfx}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def rows(k):
        return f"[{k * H}:{(k + 1) * H})" if spec.gate_count > 1 else f"[0:{H})"

    if spec.kind == "rnn":
        phi = {"tanh": "tanh", "relu": "relu", "sigmoid": "σ"}[spec.nonlinearity]
        dphi = {"tanh": "1 − h_t²", "relu": "1[a_t > 0]", "sigmoid": "h_t (1 − h_t)"}[
            spec.nonlinearity]
        return [
            Equation("a_t = x_t @ W_xh + h_{t−1} @ W_hh + b_h",
                     f"W_xh = {wih}.T ({n_in}×{H}),  W_hh = {whh}.T ({H}×{H}),  "
                     f"b_h = {bih} + {bhh}"),
            Equation(f"h_t = {phi}(a_t)", f"φ′(a_t) = {dphi}"),
            Equation("∂h_t/∂h_{t−1} = diag(φ′(a_t)) · W_R",
                     _("W_R = {whh} ({H}×{H}) = the notes' W_hh transposed").format(whh=whh, H=H)),
        ]
    if spec.kind == "lstm":
        eqs = []
        names = (("i", "σ", _("input gate")), ("f", "σ", _("forget gate")), ("g", "tanh", "C̃_t"),
                 ("o", "σ", _("output gate")))
        for k, (g, act, what) in enumerate(names):
            lhs = "C̃_t" if g == "g" else f"{g}_t"
            eqs.append(Equation(
                f"{lhs} = {act}(h_{{t−1}} @ W_h{g} + x_t @ W_x{g} + b_{g})",
                _("rows {rows} of {wih} / {whh} (.T: {n_in}×{H} / {Hh}×{H}); ").format(
                    rows=rows(k), wih=wih, whh=whh, n_in=n_in, H=H, Hh=Hh)
                + f"b_{g} = {bih}{rows(k)} + {bhh}{rows(k)}  ({what})"))
        eqs.append(Equation("C_t = f_t ⊙ C_{t−1} + i_t ⊙ C̃_t", "torch: c_t (g_t = C̃_t)"))
        if spec.proj_size:
            eqs.append(Equation("m_t = o_t ⊙ tanh(C_t),   h_t = m_t @ W_hr.T",
                                f"W_hr = weight_hr{sfx} ({spec.proj_size}×{H}): proj_size = "
                                + _("{p}, not in the notes").format(p=spec.proj_size)))
        else:
            eqs.append(Equation("h_t = o_t ⊙ tanh(C_t)", "torch: h_t"))
        eqs.append(Equation("∂C_t/∂C_{t−1} = diag(f_t)", _("the forget-gate path (c held apart)")))
        return eqs
    gru_gates = (("r", _("reset gate")), ("z", _("update gate")))
    eqs = [Equation(f"{g}_t = σ(h_{{t−1}} @ W_h{g} + x_t @ W_x{g} + b_{g})",
                    _("rows {rows} of {wih} / {whh} (.T: {n_in}×{H} / {Hh}×{H}); ").format(
                        rows=rows(k), wih=wih, whh=whh, n_in=n_in, H=H, Hh=H)
                    + f"b_{g} = {bih}{rows(k)} + {bhh}{rows(k)}  ({what})")
           for k, (g, what) in enumerate(gru_gates)]
    eqs.append(Equation("n_t = tanh(x_t @ W_xn + b_in + r_t ⊙ (h_{t−1} @ W_hn + b_hn))",
                        _("rows {rows}; ").format(rows=rows(2))
                        + f"b_in = {bih}{rows(2)}, b_hn = {bhh}{rows(2)} "
                        + _("(inside the reset)")))
    eqs.append(Equation("h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}",
                        _("torch's z keeps the OLD state")))
    return eqs


def differences(spec: CellSpec) -> list[str]:
    """Where the notes and torch differ, for this cell (plain sentences)."""
    out = [_("Layout: the notes write row vectors and x @ W with W of shape (input_dim, "
             "hidden); torch stores the transpose and computes W @ x. Its gates are stacked "
             "row-wise in one weight_ih / weight_hh."),
           _("Two biases: torch adds bias_ih and bias_hh; only their sum b = bias_ih + "
             "bias_hh acts (gradviz's forget/update bias slider sets bias_ih = B, "
             "bias_hh = 0).")]
    if spec.kind == "gru":
        out.append(_("GRU: the notes write h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t (z = share "
                     "of the new state); torch writes h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1} "
                     "(z = share of the old state): the same cell with z ↔ 1 − z."))
        out.append(_("GRU: the notes reset before the matrix, (r_t ⊙ h) @ W_hh; torch after "
                     "it, r_t ⊙ (h @ W_hn + b_hn), with b_hn inside the reset."))
    if spec.kind == "lstm" and spec.proj_size:
        out.append(_("proj_size = {p}: torch returns h_t = W_hr (o_t ⊙ tanh(C_t)) with "
                     "weight_hr of shape (P, H); h has P numbers, C keeps H.").format(
                         p=spec.proj_size))
    if spec.kind == "rnn" and spec.nonlinearity == "sigmoid":
        out.append(_("torch.nn.RNN has no sigmoid nonlinearity (tanh or relu only): "
                     "gradviz adds it for γ = 1/4, and only the hand-written loop runs it."))
    return out


def hand_step_code(kind: str) -> str:
    """The hand-written step in plain torch: ``cell_step`` of the exported script."""
    body = {"rnn": codegen._RNN, "lstm": codegen._LSTM, "gru": codegen._GRU}[kind]
    start = body.index("def cell_step(")
    end = body.index("\n\n\n", start)
    lines = body[start:end].splitlines()
    return "\n".join(line for line in lines if not line.strip().startswith('"""'))


@dataclass
class StepView:
    """The numbers of one step t, read from an Analysis (what the Code view prints)."""

    step: int
    steps: int
    hidden: int
    units: dict[str, np.ndarray] = field(default_factory=dict)   # label -> per-unit values
    factors: list[tuple[str, float]] = field(default_factory=list)  # label -> number
    clamp: float | None = None


def _finite(v: float) -> float:
    return float(v) if math.isfinite(v) else float("nan")


def step_view(analysis, t: int, row=None) -> StepView:
    """a_t, φ'(a_t), the gates, h_t (c_t) and this step's Jacobian factor at step t.

    ``row`` (RowNorms of step t, when known) gives the exact 2-norm of ∂h_t/∂h_0; without it
    the analysis' 2-norm map, else its Frobenius map (what the window computes per tick)."""
    trace = analysis.trace
    spec = trace.net.spec
    lt = trace.layer(analysis.layer, analysis.direction)
    T = analysis.steps
    t = max(0, min(int(t), T))
    view = StepView(step=t, steps=T, hidden=spec.hidden_size, clamp=trace.forget_clamp)
    Hh = spec.state_size
    if t >= 1:
        if analysis.layer == 0:
            x = trace.inputs if analysis.direction == 0 else trace.inputs[::-1]
            view.units["x_t"] = np.asarray(x[t - 1], dtype=np.float64)
        if spec.kind == "rnn":
            view.units["a_t"] = lt.preact["a"][t - 1]
            view.units["φ′(a_t)"] = lt.dphi[t - 1]
        elif spec.kind == "lstm":
            for g, label in (("i", "i_t"), ("f", "f_t"), ("g", "C̃_t (g_t)"), ("o", "o_t")):
                view.units[label] = lt.gates[g][t - 1]
        else:
            for g in "rzn":
                view.units[f"{g}_t"] = lt.gates[g][t - 1]
    if spec.kind == "lstm":
        view.units["C_t"] = lt.c[t]
    view.units["h_t"] = lt.h[t]
    view.factors.append(("σ_max(W_hh)", analysis.sigma_max))
    if t >= 1:
        J = np.asarray(analysis.jacobians[t - 1], dtype=np.float64)
        view.factors.append(("‖∂h_t/∂h_{t−1}‖₂", float(np.linalg.norm(J[:Hh, :Hh], 2))))
        if spec.kind == "rnn":
            log = float(analysis.step_factor[t - 1])
            view.factors.append(("max|φ′(a_t)|·σ_max", 0.0 if log <= LOG10_ZERO else 10 ** log))
        elif spec.kind == "lstm":
            f = lt.gates["f"][t - 1]
            view.factors.append(("‖∂C_t/∂C_{t−1}‖₂ = max f_t", float(np.max(f))))
            view.factors.append((_("mean f_t"), float(analysis.gate_stats["f_mean"][t - 1])))
        else:
            view.factors.append((_("mean z_t"), float(analysis.gate_stats["z_mean"][t - 1])))
    jac = analysis.jac
    if row is not None and row.t == t and row.h is not None:
        view.factors.append(("log10 ‖∂h_t/∂h_0‖₂", float(row.h[0])))
    elif row is not None and row.t == t:
        view.factors.append(("log10 ‖∂h_t/∂h_0‖_F", float(row.h_fro[0])))
    elif jac is not None and jac.full and jac.h is not None:
        view.factors.append(("log10 ‖∂h_t/∂h_0‖₂", float(jac.h[t, 0])))
    elif jac is not None and jac.full:
        view.factors.append(("log10 ‖∂h_t/∂h_0‖_F", float(jac.h_fro[t, 0])))
    # else: this step's row is still being computed
    view.factors = [(k, _finite(v)) for k, v in view.factors]
    return view
