"""Input signals, the airline series, and CSV files (errors name the file and the row)."""
import math

import numpy as np
import pytest

from gradviz.core.errors import GradvizError
from gradviz.core.inputs import SIGNALS, airline_series, make_signal, read_csv


def test_signals_are_what_their_names_say():
    T, A = 60, 1.5
    np.testing.assert_array_equal(make_signal("zeros", T, 2, A), np.zeros((T, 2)))
    imp = make_signal("impulse", T, 1, A)[:, 0]
    assert imp[0] == A and np.all(imp[1:] == 0)              # x_1 = A
    np.testing.assert_array_equal(make_signal("step", T, 3, A), np.full((T, 3), A))
    sine = make_signal("sine", T, 1, A)[:, 0]
    np.testing.assert_allclose(sine, A * np.sin(2 * math.pi * np.arange(1, T + 1) / 25), atol=1e-15)
    noise = make_signal("noise", 4000, 2, A, seed=3)
    assert noise.std() == pytest.approx(A, rel=0.05) and abs(noise.mean()) < 0.1
    assert not np.array_equal(noise[:, 0], noise[:, 1])      # independent units
    np.testing.assert_array_equal(noise, make_signal("noise", 4000, 2, A, seed=3))
    assert not np.array_equal(noise, make_signal("noise", 4000, 2, A, seed=4))
    for kind in SIGNALS:
        x = make_signal(kind, 7, 2, 0.5)
        assert x.shape == (7, 2) and x.dtype == np.float64


def test_airline_series_is_normalised_to_the_unit_interval():
    s = airline_series()
    assert s.shape == (144,)
    assert s.min() == 0.0 and s.max() == 1.0
    assert s[0] == pytest.approx((112 - 104) / (622 - 104))   # Jan 1949: 112 passengers
    x = make_signal("airline", 300, 1, 2.0)[:, 0]
    np.testing.assert_array_equal(x[:144], 2.0 * s)
    np.testing.assert_array_equal(x[144:288], 2.0 * s)        # repeated past 144 months


def test_signal_errors():
    with pytest.raises(GradvizError, match="unknown input 'saw'"):
        make_signal("saw", 10)
    with pytest.raises(GradvizError, match="steps must be a positive integer"):
        make_signal("sine", 0)
    with pytest.raises(GradvizError, match="amplitude"):
        make_signal("sine", 5, amplitude=float("nan"))


def test_csv_with_and_without_header(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("x,y\n1,2\n3.5,-4e-3\n")
    np.testing.assert_array_equal(read_csv(a), [[1, 2], [3.5, -4e-3]])
    b = tmp_path / "b.csv"
    b.write_text("1\n2\n\n3\n")                                # blank lines are skipped
    np.testing.assert_array_equal(read_csv(b, expected_width=1), [[1], [2], [3]])


@pytest.mark.parametrize("text,message", [
    ("1,2\n3,x\n", r"c.csv: row 2: a cell of 1 character\(s\) that is not a number"),
    ("h\n1\n2\nfoo\n", r"c.csv: row 4: a cell of 3 character\(s\) that is not a number"),
    ("1\nnan\n", r"c.csv: row 2: NaN or inf"),
    ("1\n2\ninf\n", r"c.csv: row 3: NaN or inf"),
    ("1,2\n3,4\n5\n", r"c.csv: row 3 has 1 columns, expected 2"),
    ("", r"c.csv: empty"),
    ("a,b\n", r"c.csv: no rows of numbers"),
])
def test_csv_errors_name_file_and_row(tmp_path, text, message):
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(GradvizError, match=message):
        read_csv(p)


def test_csv_width_missing_and_unreadable(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("1,2,3\n")
    with pytest.raises(GradvizError, match=r"w.csv: 3 column\(s\), expected 2"):
        read_csv(p, expected_width=2)
    with pytest.raises(GradvizError, match="no such file"):
        read_csv(tmp_path / "none.csv")
    with pytest.raises(GradvizError, match="no such file"):
        read_csv(tmp_path)                                     # a folder
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(128, 256)))
    with pytest.raises(GradvizError, match="bin.csv: cannot be read"):
        read_csv(binary)
