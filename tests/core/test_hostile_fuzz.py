"""Fuzz (hypothesis) over session JSON and CSV text: a clean refusal (GradvizError, one line)
or a valid scene, never another exception."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradviz.core.errors import GradvizError
from gradviz.core.inputs import read_csv
from gradviz.core.scene import Scene
from gradviz.core.session import load_session

FIELDS = list(Scene().to_dict())
leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**400, 10**400),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                 st.sampled_from(["rnn", "lstm", "gru", "tanh", "relu", "sine", "noise", "../x",
                                  "/etc/passwd", "", "orthogonal"]))
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=6), inner,
                                                                   max_size=3)), max_leaves=8)
small_int = st.integers(-3, 40)
scene = st.dictionaries(st.sampled_from(FIELDS + ["bogus"]),
                        st.one_of(value, small_int), max_size=8)
weights = st.one_of(st.none(), value, st.fixed_dictionaries({"params": st.lists(
    st.fixed_dictionaries({"key": st.sampled_from(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                   "x", "weight_hh_l1"]),
                           "shape": st.lists(st.integers(-1, 3), max_size=3),
                           "values": value}), max_size=4)}))
session = st.fixed_dictionaries(
    {"format": st.sampled_from(["gradviz-session", "other"]),
     "version": st.one_of(st.just(1), value)},
    optional={"scene": scene, "step": st.one_of(small_int, value), "compare": value,
              "preset": value, "view_layout": value, "weights": weights,
              "inputs": st.one_of(st.none(), value, st.fixed_dictionaries({"values": value})),
              "junk": value})


def _one_line(exc: GradvizError) -> None:
    text = str(exc)
    assert text and "\n" not in text and len(text) < 400, text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=session, bom=st.booleans(), raw=st.booleans())
def test_session_json_is_refused_cleanly_or_valid(tmp_path, data, bom, raw):
    path = tmp_path / "f.gradviz.json"
    text = json.dumps(data)
    if raw:   # break it at a random-ish place
        text = text[: len(text) * 2 // 3]
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    try:
        s = load_session(path)
    except GradvizError as exc:
        _one_line(exc)
        return
    s.scene.validate()
    assert isinstance(s.scene, Scene)


cell = st.one_of(st.integers(-10**30, 10**30).map(str), st.floats().map(repr),
                 st.text(alphabet="0123456789.,-eE+ \"'abc日期", max_size=6),
                 st.sampled_from(["", "nan", "inf", "1,5", "1949-01", "1e400", "\u00a0", "-"]))
row = st.lists(cell, min_size=0, max_size=4)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=6), sep=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"]),
       columns=st.one_of(st.none(), st.sampled_from(["1", "2", "x", "1,1", "0", ""])))
def test_csv_text_is_refused_cleanly_or_finite_numbers(tmp_path, rows, sep, encoding, columns):
    path = tmp_path / "f.csv"
    path.write_bytes("\n".join(sep.join(r) for r in rows).encode(encoding))
    try:
        values = read_csv(path, columns=columns)
    except GradvizError as exc:
        _one_line(exc)
        return
    assert values.ndim == 2 and values.shape[0] >= 1 and values.shape[1] >= 1
    assert (values == values).all() and abs(values).max() < float("inf")
