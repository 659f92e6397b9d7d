"""`gradviz export --script FILE.py`: the scene as one runnable torch script (issue 12)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradviz import cli
from gradviz.core.codegen import generate_script, parse_output, weights_file
from gradviz.core.presets import load_preset
from gradviz.core.scene import simulate
from gradviz.core.session import load_session, session_base_net, session_inputs

ROOT = Path(__file__).resolve().parents[1]
SESSION = ROOT / "tests" / "fixtures" / "session_v1.json"


@pytest.fixture
def no_png(monkeypatch):
    monkeypatch.setattr(cli, "_renderer", lambda: None)


def test_script_only_is_the_same_text_as_the_core_generates(tmp_path, capsys):
    path = tmp_path / "vanish.py"
    assert cli.main(["export", "--preset", "tanh-vanishing", "--script", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {path}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vanish.py"]
    preset = load_preset("tanh-vanishing")
    expected = generate_script(preset.scene, step=preset.step, name="vanish").text
    assert path.read_text(encoding="utf-8") == expected


def test_flags_apply_and_an_existing_script_is_replaced(tmp_path, no_png, capsys):
    path = tmp_path / "s.py"
    path.write_text("old")
    rc = cli.main(["export", "--cell", "lstm", "--hidden", "40", "--steps", "7",
                   "--forget-bias", "1", "--script", str(path), "--out", str(tmp_path / "run")])
    assert rc == 0
    text = path.read_text(encoding="utf-8")
    assert 'CELL = "lstm"' in text and "CURSOR = 7" in text and "forget bias" in text
    assert weights_file(path).is_file()              # 40 hidden units: the weights in a .pt
    assert (tmp_path / "run" / "trace.npz").is_file()  # --out still written too


def test_a_session_script_embeds_its_weights_and_inputs_and_runs(tmp_path, capsys):
    """The v1 session (weights and a 2-column CSV embedded, step 17): run the script."""
    path = tmp_path / "session.py"
    assert cli.main(["export", "--session", str(SESSION), "--script", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert "CURSOR = 17" in text and "lstm_small.pt" not in text.split('"""', 2)[2]
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = parse_output(proc.stdout)
    session = load_session(SESSION)
    trace = simulate(session.scene, base=session_base_net(session),
                     inputs=session_inputs(session))   # the amplitude already applied
    np.testing.assert_allclose(out.h, trace.layer(0, 0).h, rtol=0, atol=1e-10)
    assert out.cursor == 17 and out.checks["hand_vs_torch_nn"] <= 1e-10


@pytest.mark.parametrize("args,status,words", [
    ([], 2, ["--out", "--script", "required"]),
    (["--script", "{tmp}/s.txt"], 1, ["s.txt", ".py"]),
    (["--script", "{tmp}/missing/s.py"], 1, ["missing", "does not exist"]),
    (["--cell", "gru", "--forget-bias", "1", "--script", "{tmp}/s.py"], 1, ["--forget-bias"]),
])
def test_bad_script_options_are_one_line_and_write_nothing(tmp_path, capsys, args, status, words):
    argv = ["export", *[a.replace("{tmp}", str(tmp_path)) for a in args]]
    assert cli.main(argv) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    for w in words:
        assert w in err[0], (w, err[0])
    assert list(tmp_path.iterdir()) == []
