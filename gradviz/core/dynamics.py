r"""Step-by-step forward pass in float64, recording everything the views plot.

Equations (torch.nn, eval mode; dropout acts only in training, so gradviz never applies it):

    RNN   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,   h_t = φ(a_t),  φ ∈ {tanh, relu, sigmoid}
    LSTM  [i f g o] = [σ σ tanh σ](W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
          c_t = f ⊙ c_{t-1} + i ⊙ g,   m_t = o ⊙ tanh(c_t),   h_t = m_t  or  W_hr m_t
    GRU   [r z] = σ(W_i[rz] x_t + b_i[rz] + W_h[rz] h_{t-1} + b_h[rz])
          n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn)),   h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

Shapes: ``inputs`` (T, input_size) (one sequence, time first); per layer and direction
``h`` (T+1, Hh) with row 0 = h0, ``c`` (T+1, H), each gate (T, H). Direction 1 is stored in
processing order: its step 1 consumes the last input. ``output`` (T, D*Hh) is what the torch
module returns (time order, last layer, directions concatenated).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cells import RecurrentNet
from .errors import GradvizError


def _sigmoid(x):
    # exp of a negative argument only: no overflow warnings for large |x|
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_PHI = {
    "tanh": (np.tanh, lambda a, h: 1.0 - h * h),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a, h: (a > 0).astype(np.float64)),
    "sigmoid": (_sigmoid, lambda a, h: h * (1.0 - h)),
}


@dataclass
class LayerTrace:
    """What one layer and direction did, step by step (see module docstring for shapes)."""

    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    preact: dict[str, np.ndarray] = field(default_factory=dict)
    dphi: np.ndarray | None = None   # RNN: φ'(a_t), (T, H)

    @property
    def steps(self) -> int:
        return self.h.shape[0] - 1


@dataclass
class Trace:
    """A whole run: per [layer][direction] traces, the module's output, and where it stopped."""

    net: RecurrentNet
    inputs: np.ndarray
    layers: list[list[LayerTrace]]
    output: np.ndarray
    forget_clamp: float | None = None
    overflow_step: int | None = None   # first step whose state left float64; steps before kept

    @property
    def steps(self) -> int:
        return self.output.shape[0]

    def layer(self, layer: int = 0, direction: int = 0) -> LayerTrace:
        spec = self.net.spec
        if not 0 <= layer < spec.num_layers:
            raise GradvizError(f"layer {layer} does not exist: the cell has {spec.num_layers} layer(s)")
        if not 0 <= direction < spec.directions:
            raise GradvizError(f"direction {direction} does not exist: the cell is "
                               f"{'bi' if spec.bidirectional else 'uni'}directional")
        return self.layers[layer][direction]


def _initial(value, n: int, what: str) -> np.ndarray:
    if value is None:
        return np.zeros(n)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise GradvizError(f"{what} has shape {arr.shape}, expected ({n},)")
    return arr.copy()


def _run_direction(net, layer, direction, x, h0, c0, forget_clamp):
    """One layer, one direction over x (T, in) already in processing order."""
    spec = net.spec
    p = net.layer_params(layer, direction)
    T, H, Hh = x.shape[0], spec.hidden_size, spec.state_size
    w_ih, w_hh = p["w_ih"], p["w_hh"]
    h = np.zeros((T + 1, Hh))
    h[0] = h0
    lt = LayerTrace(h=h, c=None)
    stop = T
    with np.errstate(over="ignore", invalid="ignore"):
        xin = x @ w_ih.T + p["b_ih"]          # input part of every pre-activation, (T, G*H)
        if spec.kind == "rnn":
            phi, dphi = _PHI[spec.nonlinearity]
            a_all = np.zeros((T, H))
            d_all = np.zeros((T, H))
            for t in range(T):
                a = xin[t] + p["b_hh"] + w_hh @ h[t]
                ht = phi(a)
                if not (np.all(np.isfinite(a)) and np.all(np.isfinite(ht))):
                    stop = t
                    break
                a_all[t], h[t + 1], d_all[t] = a, ht, dphi(a, ht)
            lt.preact = {"a": a_all[:stop]}
            lt.dphi = d_all[:stop]
        elif spec.kind == "lstm":
            c = np.zeros((T + 1, H))
            c[0] = c0
            pre = np.zeros((T, 4 * H))
            gates = np.zeros((T, 4 * H))
            w_hr = p.get("w_hr")
            for t in range(T):
                a = xin[t] + p["b_hh"] + w_hh @ h[t]
                i, f, o = _sigmoid(a[:H]), _sigmoid(a[H:2 * H]), _sigmoid(a[3 * H:])
                if forget_clamp is not None:
                    f = np.full(H, float(forget_clamp))
                g = np.tanh(a[2 * H:3 * H])
                ct = f * c[t] + i * g
                m = o * np.tanh(ct)
                ht = w_hr @ m if w_hr is not None else m
                if not (np.all(np.isfinite(ct)) and np.all(np.isfinite(ht))):
                    stop = t
                    break
                pre[t], c[t + 1], h[t + 1] = a, ct, ht
                gates[t] = np.concatenate([i, f, g, o])
            lt.c = c[:stop + 1]
            for k, name in enumerate("ifgo"):
                lt.gates[name] = gates[:stop, k * H:(k + 1) * H]
                lt.preact[name] = pre[:stop, k * H:(k + 1) * H]
        else:  # gru
            pre = np.zeros((T, 3 * H))
            gates = np.zeros((T, 3 * H))
            for t in range(T):
                hh = w_hh @ h[t] + p["b_hh"]
                r = _sigmoid(xin[t, :H] + hh[:H])
                z = _sigmoid(xin[t, H:2 * H] + hh[H:2 * H])
                an = xin[t, 2 * H:] + r * hh[2 * H:]
                n = np.tanh(an)
                ht = (1.0 - z) * n + z * h[t]
                if not np.all(np.isfinite(ht)):
                    stop = t
                    break
                pre[t] = np.concatenate([xin[t, :2 * H] + hh[:2 * H], an])
                gates[t] = np.concatenate([r, z, n])
                h[t + 1] = ht
            for k, name in enumerate("rzn"):
                lt.gates[name] = gates[:stop, k * H:(k + 1) * H]
                lt.preact[name] = pre[:stop, k * H:(k + 1) * H]
    lt.h = h[:stop + 1]
    return lt, stop


def run(net: RecurrentNet, inputs, h0=None, c0=None, forget_clamp: float | None = None) -> Trace:
    """Drive ``net`` over one sequence ``inputs`` (T, input_size) and record every step.

    ``h0``/``c0``: None (zeros), a scalar (every unit, every layer and direction) or an array
    (num_layers*D, Hh) / (num_layers*D, H) as torch's ``h_0``/``c_0`` without the batch axis.
    ``forget_clamp``: LSTM only; force f_t to this constant (then ∂c_t/∂c_{t-1} = f·I exactly).
    If a state leaves float64 (a relu RNN with σ_max > 1), the run stops before that step and
    ``overflow_step`` says which; everything before it is kept.
    """
    spec = net.spec
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 1 and spec.input_size == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != spec.input_size:
        raise GradvizError(f"inputs have shape {x.shape}, expected (T, {spec.input_size})")
    if x.shape[0] == 0:
        raise GradvizError("inputs are empty: at least one step is needed")
    if not np.all(np.isfinite(x)):
        raise GradvizError("inputs contain NaN or inf")
    if forget_clamp is not None:
        if spec.kind != "lstm":
            raise GradvizError("the forget-gate clamp applies to an LSTM only")
        if not 0.0 <= forget_clamp <= 1.0:
            raise GradvizError(f"the forget-gate clamp must lie in [0, 1], got {forget_clamp}")
    L, D, Hh, H = spec.num_layers, spec.directions, spec.state_size, spec.hidden_size

    def per_layer(value, n, what):
        if value is None or np.ndim(value) == 0:
            return [_initial(value, n, what)] * (L * D)
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (L * D, n):
            raise GradvizError(f"{what} has shape {arr.shape}, expected ({L * D}, {n})")
        return list(arr)

    h0s = per_layer(h0, Hh, "h0")
    c0s = per_layer(c0, H, "c0")
    overflow = None
    while True:
        layers, stop = _run_layers(net, x, h0s, c0s, forget_clamp)
        if stop == x.shape[0]:
            break
        # a state left float64 at step stop + 1: keep what came before it. Re-running on the
        # shortened input keeps every layer and direction consistent with torch on that input.
        overflow = stop + 1 if overflow is None else min(overflow, stop + 1)
        if stop == 0:
            raise GradvizError("the state overflows float64 at step 1: nothing to show")
        x = x[:stop]
    last = layers[-1]
    output = np.concatenate([last[0].h[1:]] + ([last[1].h[1:][::-1]] if D == 2 else []), axis=1)
    return Trace(net=net, inputs=x, layers=layers, output=output, forget_clamp=forget_clamp,
                 overflow_step=overflow)


def _run_layers(net, x, h0s, c0s, forget_clamp):
    """All layers and directions over x; returns the traces and the steps completed everywhere."""
    spec = net.spec
    D = spec.directions
    T = x.shape[0]
    layers, layer_in, stop = [], x, T
    for layer in range(spec.num_layers):
        traces = []
        for d in range(D):
            xd = layer_in if d == 0 else layer_in[::-1]
            lt, s = _run_direction(net, layer, d, xd, h0s[layer * D + d], c0s[layer * D + d],
                                   forget_clamp)
            traces.append(lt)
            stop = min(stop, s)
        layers.append(traces)
        if stop < T:
            return layers, stop
        layer_in = np.concatenate([traces[0].h[1:]] + ([traces[1].h[1:][::-1]] if D == 2 else []),
                                  axis=1)
    return layers, stop
