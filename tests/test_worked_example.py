"""docs/worked_example.ipynb runs top to bottom with the Python API (executed, so it cannot rot)."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gradviz.core.scene import Scene, analyse, simulate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "worked_example.ipynb"


def test_the_worked_example_executes_and_prints_the_true_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the notebook without outputs"
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 2                          # the gradient flow, RNN vs LSTM
    a = analyse(simulate(Scene(cell="rnn", hidden_size=16, steps=100, init="orthogonal",
                               wr_scale=0.9, input="sine")), exact=True)
    assert f"log10 ‖∂h_100/∂h_0‖₂ = {a.jac.h[100, 0]:.2f}" in text
    assert "def cell_step(w, x_t, h):" in text
    assert "forget bias 3: log10 ‖∂c_100/∂c_0‖₂ = " in text
