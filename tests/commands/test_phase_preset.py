"""Issue 14: `gradviz phase --preset NAME` draws the diagram around a shipped preset's scene
(as `gradviz export --preset`), the options given overriding it."""

import numpy as np
import pytest
import torch

from gradviz import cli
from gradviz.commands import phase as phase_command
from gradviz.core.phase import PhaseSpec, compute_phase, lin_range, log_range
from gradviz.core.presets import load_preset



@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _args(*argv):
    return phase_command.parser().parse_args(phase_command._join_ranges([*map(str, argv),
                                                                          "--out", "x"]))


def test_the_preset_is_the_base_and_options_override_it():
    preset = load_preset("saturation-by-input").scene      # H 64, T 200, noise, A = 3, g = 2
    scene = phase_command.base_scene(_args("--preset", "saturation-by-input"))
    assert scene == preset
    assert scene.input == "noise" and scene.amplitude == 3.0 and scene.hidden_size == 64
    scene = phase_command.base_scene(_args("--preset", "saturation-by-input", "--hidden", 8,
                                           "--steps", 30, "--h0", -0.25))
    assert scene == preset.replace(hidden_size=8, steps=30, h0=-0.25)
    # without --preset: the documented defaults (a tanh RNN, Gaussian W_hh, sine input)
    scene = phase_command.base_scene(_args())
    assert (scene.cell, scene.hidden_size, scene.steps, scene.init, scene.input, scene.h0) == \
        ("rnn", 64, 200, "gaussian", "sine", 0.5)
    # an LSTM preset: its second axis is the forget bias
    spec = phase_command.plan(_args("--preset", "lstm-forget-bias-vs-wr", "--hidden", 4))
    assert spec.scene.cell == "lstm" and spec.y_axis == "forget_bias"


def test_phase_of_a_preset_writes_the_presets_numbers(tmp_path, capsys):
    out = tmp_path / "p"
    rc = cli.main(["phase", "--preset", "edge-of-chaos", "--g-range", "0.5:2:3", "--y-range",
                   "0:1:2", "--hidden", "12", "--steps", "50", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    with np.load(out / "phase.npz") as d:
        lam = d["lambda1"]
    base = load_preset("edge-of-chaos").scene.replace(hidden_size=12, steps=50)
    assert base.input == "zeros" and base.h0 == 0.5           # the preset's, not the defaults
    spec = PhaseSpec(base, log_range(0.5, 2.0, 3), "amplitude", lin_range(0.0, 1.0, 2))
    np.testing.assert_array_equal(lam, compute_phase(spec).lambda1)
    # zero input: the rows do not depend on the amplitude, and g = 0.5 vanishes at ln g
    np.testing.assert_array_equal(lam[0], lam[1])
    assert lam[0, 0] == pytest.approx(np.log(0.5), abs=0.15)
    assert (out / "phase.png").stat().st_size > 5000


@pytest.mark.parametrize("argv, words", [
    (["--preset", "nope"], ["nope"]),
    (["--preset", "lstm-carousel", "--hidden", "8"], ["--hidden", "lstm-carousel",
                                                       "lstm_input_gate_shut.pt"]),
    (["--preset", "edge-of-chaos", "--y", "forget-bias"], ["forget_bias", "LSTM"]),
])
def test_a_bad_preset_is_one_line_and_nothing_is_written(tmp_path, capsys, argv, words):
    out = tmp_path / "o"
    rc = cli.main(["phase", *argv, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1, err
    for w in words:
        assert w in err[0], (w, err[0])
    assert not out.exists()


def test_an_empty_preset_is_a_usage_error(tmp_path, capsys):
    rc = cli.main(["phase", "--preset", "", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--preset" in err and "\n" not in err
