"""Sessions hold the training lab's setup and trained weights (issue 13): a real file round
trip that restores the exact weights and metrics, and malformed training entries refused in
one line that names the session file and the key."""
from __future__ import annotations

import copy
import os
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradviz.core import training as tr
from gradviz.core.errors import GradvizError
from gradviz.core.scene import Scene
from gradviz.core.session import (OutsideFileError, Session, load_session, read_autosave,
                                  save_session, write_autosave)

torch.set_num_threads(1)

ADDING = tr.TrainConfig(task="adding", model="lstm", hidden=5, layers=1, steps=8, batch=8,
                        iters=12, lr=1e-2, clip_norm=1.0, record_every=4, eval_every=3,
                        test_size=32)


@pytest.fixture(scope="module")
def run():
    return tr.train(ADDING)


def _lab_state(result, setup=None):
    """What ``TrainingLab.session_state`` gives: the setup on screen and the last run."""
    return {"config": (setup or result.config).to_dict(), "result": tr.result_state(result)}


def _save(tmp_path, training, name="lab.gradviz.json"):
    session = Session(scene=Scene(hidden_size=3, steps=10), step=4, training=training)
    return save_session(tmp_path / name, session)


def test_training_round_trips_through_a_real_file(tmp_path, run):
    setup = ADDING.replace(iters=500, seed=3)            # the controls changed after the run
    path = _save(tmp_path, _lab_state(run, setup))
    text = path.read_text()
    assert '"training"' in text and "torch" not in text   # plain numbers, never pickled code
    loaded = load_session(path)
    assert loaded.scene == Scene(hidden_size=3, steps=10) and loaded.step == 4
    cfg, back = tr.restore_lab_state(loaded.training, source=path.name)
    assert cfg == setup and back.config == ADDING
    assert back.iterations == run.iterations == 12
    assert back.stopped_nonfinite is None and back.cancelled is False
    assert back.elapsed == run.elapsed
    arrays, expected = back.history.arrays(), run.history.arrays()
    assert arrays.keys() == expected.keys() and "forget_mean" in arrays
    for k, v in expected.items():
        assert arrays[k].dtype == v.dtype, k
        np.testing.assert_array_equal(arrays[k], v, err_msg=k)
    assert expected["grad_h"].shape == (4, 8)             # iterations 1, 4, 8, 12; T = 8
    ours, theirs = run.model.state_dict(), back.model.state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        assert ours[k].dtype == theirs[k].dtype == torch.float32
        assert torch.equal(ours[k], theirs[k]), k
    assert back.final_test_loss == run.final_test_loss

    # the restored weights give the same test MSE in plain torch (float64), on the adding
    # problem's fixed test set
    x, y = tr.adding_batch(np.random.default_rng(2_000_003 + ADDING.steps), ADDING.test_size,
                           ADDING.steps)
    lstm = torch.nn.LSTM(2, 5, 1, batch_first=True).double()
    lstm.load_state_dict(back.recurrent_state_dict())
    head = torch.nn.Linear(5, 1).double()
    head.load_state_dict(back.head_state_dict())
    with torch.no_grad():
        out, _ = lstm(torch.tensor(x))
        mse = float(torch.mean((head(out[:, -1]).reshape(-1) - torch.tensor(y).reshape(-1)) ** 2))
    assert mse == pytest.approx(run.final_test_loss, rel=1e-12)
    assert 0 < mse < 1


def test_forecast_run_reproduces_its_rmse_and_the_autosave_carries_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADVIZ_DATA_DIR", str(tmp_path / "data"))
    cfg = tr.default_config("airline", "gru").replace(iters=6, hidden=3, layers=1,
                                                      record_every=3)
    r = tr.train(cfg)
    write_autosave(Session(scene=Scene(hidden_size=3, steps=10), training=_lab_state(r)))
    loaded = read_autosave()
    _cfg, back = tr.restore_lab_state(loaded.training)
    assert back.metrics.test_rmse == r.metrics.test_rmse
    assert back.metrics.train_mae == r.metrics.train_mae
    assert {k: (m.test_rmse, m.test_mae) for k, m in back.baselines.items()} == \
        {k: (m.test_rmse, m.test_mae) for k, m in r.baselines.items()}
    np.testing.assert_array_equal(back.test_inputs, r.test_inputs)


def test_setup_alone_and_ar_without_weights(tmp_path):
    path = _save(tmp_path, {"config": ADDING.to_dict(), "result": None})
    cfg, result = tr.restore_lab_state(load_session(path).training)
    assert cfg == ADDING and result is None
    ar = tr.train(tr.default_config("airline", "ar"))
    path = _save(tmp_path, _lab_state(ar), "ar.gradviz.json")
    _cfg, back = tr.restore_lab_state(load_session(path).training)
    assert back.model is None and back.metrics.test_rmse == ar.metrics.test_rmse


def _mutations(state):
    """(change, words the one-line message must hold) for a valid lab state."""
    def edit(fn):
        s = copy.deepcopy(state)
        fn(s)
        return s

    w = "rnn.weight_hh_l0"
    return [
        ("not an object", "training: the training lab's state is not an object"),
        (edit(lambda s: s.update(extra=1)), "unknown key 'extra'"),
        (edit(lambda s: s["config"].update(hidden=0)), "training: setup"),
        (edit(lambda s: s["config"].update(lr="fast")), "lr"),
        (edit(lambda s: s["result"]["config"].update(model="transformer")), "model"),
        (edit(lambda s: s["result"]["history"].update(loss=[0.1] * 11 + ["x"])),
         "history loss: expected numbers"),
        (edit(lambda s: s["result"]["history"].update(loss=[0.1] * 11 + [True])),
         "history loss: expected numbers"),
        (edit(lambda s: s["result"]["history"]["grad_norm"].pop()),
         "history loss, grad_norm"),
        (edit(lambda s: s["result"]["history"].update(clipped=[1] * 12)), "history clipped"),
        (edit(lambda s: s["result"]["history"].update(nope=[])), "history entry 'nope'"),
        (edit(lambda s: s["result"]["history"]["grad_h"][0].pop()), "history grad_h"),
        (edit(lambda s: s["result"].update(iterations=99)), "iterations"),
        (edit(lambda s: s["result"].update(elapsed=-1)), "elapsed"),
        (edit(lambda s: s["result"].update(weights=None)), "holds no weights"),
        (edit(lambda s: s["result"]["weights"][w][0].__setitem__(0, "1")),
         f"weights {w}: expected numbers"),
        (edit(lambda s: s["result"]["weights"][w].pop()),
         f"weight '{w}' has shape (19, 5) or is not finite; expected (20, 5)"),
        (edit(lambda s: s["result"]["weights"].update(extra=[1.0])),
         "weight 'extra' does not belong to the lstm model"),
        (edit(lambda s: s["result"]["weights"].update(code="__import__('os')")),
         "weights code: expected numbers"),
    ]


def test_malformed_training_is_one_line_naming_file_and_key(tmp_path, run):
    good = json.loads(json.dumps(_lab_state(run)))
    good_text = _save(tmp_path, good).read_text()
    base = json.loads(good_text)
    for n, (training, words) in enumerate(_mutations(good)):
        bad = tmp_path / f"bad{n}.gradviz.json"
        bad.write_text(json.dumps({**base, "training": training}))
        with pytest.raises(GradvizError) as info:
            tr.restore_lab_state(load_session(bad).training, source=f"{bad.name}: training")
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith(f"bad{n}.gradviz.json: training"), msg
        assert words in msg, (words, msg)


def test_nan_and_infinity_in_training_are_refused(tmp_path, run):
    base = json.loads(_save(tmp_path, _lab_state(run)).read_text())
    text = json.dumps(base).replace('"loss": [', '"loss": [NaN, ', 1)
    bad = tmp_path / "nan.gradviz.json"
    bad.write_text(text)
    with pytest.raises(GradvizError, match="^nan.gradviz.json: "):
        load_session(bad)
    base["training"]["result"]["history"]["loss"][0] = 1e400   # json reads it as inf
    bad.write_text(json.dumps(base).replace("Infinity", "1e400"))
    with pytest.raises(GradvizError, match="nan.gradviz.json: training: result: history loss: "
                                           "contains NaN or inf"):
        load_session(bad)


def test_a_training_csv_outside_the_session_folder_is_not_read_unasked(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    csv = data / "series.csv"
    csv.write_text("month,value\n" + "\n".join(f"{k},{10 + (k % 12) + k / 3:.3f}"
                                               for k in range(60)) + "\n")
    cfg = tr.TrainConfig(task="csv", model="ar", csv_path=str(csv), ar_order=2, season=12)
    r = tr.train(cfg)
    folder = tmp_path / "lecture"
    folder.mkdir()
    path = _save(folder, _lab_state(r))
    with pytest.raises(OutsideFileError, match="training result csv_path names a file outside"):
        load_session(path)
    loaded = load_session(path, allow_outside=True)
    _cfg, back = tr.restore_lab_state(loaded.training)
    assert back.metrics.test_rmse == r.metrics.test_rmse
    # named relative to the session, inside its folder: read without asking
    (folder / "series.csv").write_text(csv.read_text())
    rel = Path(path).read_text().replace(json.dumps(str(csv)), '"series.csv"')
    Path(path).write_text(rel)
    loaded = load_session(path)
    assert loaded.training["result"]["config"]["csv_path"] == str(folder / "series.csv")
    assert tr.restore_lab_state(loaded.training)[1].metrics.test_rmse == r.metrics.test_rmse


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield from _paths(v, prefix + (i,))


TINY = tr.TrainConfig(task="adding", model="gru", hidden=2, layers=1, steps=4, batch=4, iters=3,
                      record_every=2, test_size=8)
_leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.integers(-10**400, 10**400),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                  st.sampled_from(["lstm", "csv", "../x.csv", "/etc/passwd", "rnn.weight_hh_l0"]))
_value = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=5), inner,
                                                                     max_size=2)), max_leaves=6)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_training_entries_open_or_are_refused_in_one_line(tmp_path, data):
    state = json.loads(json.dumps(_lab_state(_tiny_run())))
    for _ in range(data.draw(st.integers(1, 2))):
        paths = list(_paths(state))[1:]
        if not paths:
            break
        where = data.draw(st.sampled_from(paths))
        node = state
        for k in where[:-1]:
            node = node[k]
        node[where[-1]] = data.draw(_value)
    path = tmp_path / "f.gradviz.json"
    path.write_text(json.dumps({"format": "gradviz-session", "version": 1,
                                "scene": Scene(hidden_size=2, steps=4).to_dict(),
                                "training": state}))
    try:
        _cfg, result = tr.restore_lab_state(load_session(path).training,
                                           source="f.gradviz.json: training")
    except GradvizError as exc:
        text = str(exc)
        assert text.startswith("f.gradviz.json") and "\n" not in text and len(text) < 400, text
        return
    if result is not None and result.model is not None:
        for v in result.model.state_dict().values():
            assert torch.isfinite(v).all()


_TINY_RUN = []


def _tiny_run():
    if not _TINY_RUN:
        _TINY_RUN.append(tr.train(TINY))
    return _TINY_RUN[0]
