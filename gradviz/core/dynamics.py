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

from dataclasses import dataclass

import numpy as np

from .cells import RecurrentNet
from .errors import GradvizError
from .kinds import KINDS, LayerTrace
from .i18n import _


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
            raise GradvizError(_("layer {layer} does not exist: the cell has {num_layers} layer(s)")
                               .format(layer=layer, num_layers=spec.num_layers))
        if not 0 <= direction < spec.directions:
            raise GradvizError((_("direction {direction} does not exist: the cell is bidirectional")
                                if spec.bidirectional else
                                _("direction {direction} does not exist: the cell is unidirectional"))
                               .format(direction=direction))
        return self.layers[layer][direction]


def _initial(value, n: int, what: str) -> np.ndarray:
    if value is None:
        return np.zeros(n)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise GradvizError(_("{what} has shape {shape}, expected ({n},)")
                           .format(what=what, shape=arr.shape, n=n))
    return arr.copy()


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
        raise GradvizError(_("inputs have shape {shape}, expected (T, {input_size})")
                           .format(shape=x.shape, input_size=spec.input_size))
    if x.shape[0] == 0:
        raise GradvizError(_("inputs are empty: at least one step is needed"))
    if not np.all(np.isfinite(x)):
        raise GradvizError(_("inputs contain NaN or inf"))
    if forget_clamp is not None:
        if KINDS[spec.kind].bias_field != "forget_bias":
            raise GradvizError(_("the forget-gate clamp applies to an LSTM only"))
        if not 0.0 <= forget_clamp <= 1.0:
            raise GradvizError(_("the forget-gate clamp must lie in [0, 1], got {forget_clamp}")
                               .format(forget_clamp=forget_clamp))
    L, D, Hh, H = spec.num_layers, spec.directions, spec.state_size, spec.hidden_size

    def per_layer(value, n, what):
        if value is None or np.ndim(value) == 0:
            return [_initial(value, n, what)] * (L * D)
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != (L * D, n):
            raise GradvizError(_("{what} has shape {shape}, expected ({value}, {n})")
                               .format(what=what, shape=arr.shape, value=L * D, n=n))
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
            raise GradvizError(_("the state overflows float64 at step 1: nothing to show"))
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
    run_direction = KINDS[spec.kind].run_direction
    layers, layer_in, stop = [], x, T
    for layer in range(spec.num_layers):
        traces = []
        for d in range(D):
            xd = layer_in if d == 0 else layer_in[::-1]
            lt, s = run_direction(net, layer, d, xd, h0s[layer * D + d], c0s[layer * D + d],
                                  forget_clamp)
            traces.append(lt)
            stop = min(stop, s)
        layers.append(traces)
        if stop < T:
            return layers, stop
        layer_in = np.concatenate([traces[0].h[1:]] + ([traces[1].h[1:][::-1]] if D == 2 else []),
                                  axis=1)
    return layers, stop
