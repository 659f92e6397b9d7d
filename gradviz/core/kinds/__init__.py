"""The registry of cell kinds: one :class:`CellKind` per kind, and the cell names ``--cell`` takes.

Everything gradviz does per kind (its gates, torch class, forward step, one-step Jacobian, theory
path, slider, labels, array names) is read from here. A new kind, say an IndRNN, is one module
beside these defining its ``KIND`` (a ``run_direction`` and a ``step_jacobians``; optionally
``row_factors`` for a quick row without Jacobians), one entry in
:data:`KINDS` and its names in :data:`CELL_NAMES`; the views, the export, sessions and presets
follow.
"""
from __future__ import annotations

from ..errors import GradvizError
from ..i18n import N_
from . import gru, lstm, rnn
from .base import CellKind, CellName, LayerTrace, sigmoid
from ..i18n import _

KINDS: dict[str, CellKind] = {k.name: k for k in (rnn.KIND, lstm.KIND, gru.KIND)}

#: the names ``--cell`` accepts and the cell box lists, in that order
CELL_NAMES: dict[str, CellName] = {c.name: c for c in (
    CellName("rnn", "rnn", "tanh", N_("RNN (tanh)")),
    CellName("rnn-relu", "rnn", "relu", N_("RNN (relu)")),
    CellName("rnn-sigmoid", "rnn", "sigmoid", N_("RNN (sigmoid)")),
    CellName("lstm", "lstm", "tanh", "LSTM"),
    CellName("gru", "gru", "tanh", "GRU"),
)}
NONLINEARITIES = tuple(rnn.PHI)
GAMMA = rnn.GAMMA


def kind(name: str) -> CellKind:
    """The kind called ``name``; an unknown one is a GradvizError listing the known."""
    try:
        return KINDS[name]
    except KeyError:
        raise GradvizError(_("unknown cell kind {name!r}: expected one of {value}")
                           .format(name=name, value=', '.join(KINDS))) from None


def cell_name(kind_name: str, nonlinearity: str = "tanh") -> str:
    """The ``--cell`` name of a kind and nonlinearity: rnn, rnn-relu, rnn-sigmoid, lstm, gru."""
    if kind_name == "rnn" and nonlinearity != "tanh":
        return f"rnn-{nonlinearity}"
    return kind_name


__all__ = ["CELL_NAMES", "GAMMA", "KINDS", "NONLINEARITIES", "CellKind", "CellName", "LayerTrace",
           "cell_name", "kind", "sigmoid"]
