"""CSV files as spreadsheets write them: encodings, a date column, column choice, headers.

The files are written here in the real encodings (bytes, not Python strings): Excel's "CSV
UTF-8" (with a BOM), plain UTF-8, GBK as Excel writes "CSV" on Chinese Windows, GB18030's
four-byte characters, and "Unicode text" (UTF-16 with a BOM, tab-separated).
"""
import numpy as np
import pytest

from gradviz.core.errors import GradvizError
from gradviz.core.inputs import read_csv, read_table

AIRLINE = "日期,乘客数,温度\r\n1949-01,112,3.5\r\n1949-02,118,4.0\r\n1949-03,132,9.1\r\n"


def write(tmp_path, name, text, encoding):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding,codec", [("gbk", "gb18030"), ("gb18030", "gb18030"),
                                            ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8-sig")])
def test_a_chinese_header_in_every_encoding_excel_writes(tmp_path, encoding, codec):
    path = write(tmp_path, "passengers.csv", AIRLINE, encoding)
    if encoding == "gbk":
        assert path.read_bytes()[:4] == "日期".encode("gbk") == b"\xc8\xd5\xc6\xda"
    table = read_table(path)
    assert table.encoding == codec
    assert table.has_header and table.names == ["日期", "乘客数", "温度"]   # no BOM in a name
    assert table.kinds == ["date", "number", "number"]
    np.testing.assert_array_equal(read_csv(path), [[112, 3.5], [118, 4.0], [132, 9.1]])
    np.testing.assert_array_equal(read_csv(path, columns="乘客数"), [[112], [118], [132]])


def test_gb18030_four_byte_characters_and_utf16_tab_text(tmp_path):
    path = write(tmp_path, "rare.csv", "𠀀值,b\n1,2\n3,4\n", "gb18030")
    assert "𠀀".encode("gb18030") and len("𠀀".encode("gb18030")) == 4
    assert read_table(path).names == ["𠀀值", "b"]
    utf16 = write(tmp_path, "unicode.txt", "\ufeff月份\t数值\n1949-01\t1.5\n1949-02\t2.5\n", "utf-16-le")
    table = read_table(utf16)
    assert (table.encoding, table.delimiter, table.names) == ("utf-16", "\t", ["月份", "数值"])
    np.testing.assert_array_equal(read_csv(utf16), [[1.5], [2.5]])


def test_an_unknown_encoding_is_named_in_the_message(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"x\n1\n\x80\xff\n")
    with pytest.raises(GradvizError, match=r"latin.csv: cannot be read as text: byte 5 is not "
                                           r"UTF-8, UTF-16 or GB18030/GBK; save it .*CSV UTF-8"):
        read_table(path)


def test_a_first_row_of_data_is_never_taken_for_a_header(tmp_path):
    dated = write(tmp_path, "d.csv", "1949-01,112\n1949-02,118\n", "utf-8")
    table = read_table(dated)
    assert not table.has_header and table.names == ["column 1", "column 2"]
    np.testing.assert_array_equal(read_csv(dated), [[112], [118]])         # both rows kept
    numbers = write(tmp_path, "n.csv", "1,2\n3,4\n", "utf-8")
    assert read_csv(numbers).shape == (2, 2)
    labelled = write(tmp_path, "l.csv", "a,1\nb,2\n", "utf-8")              # a label, a number
    assert not read_table(labelled).has_header
    np.testing.assert_array_equal(read_csv(labelled), [[1], [2]])
    typo = write(tmp_path, "t.csv", "x\n1\n2\nfoo\n3\n", "utf-8")
    with pytest.raises(GradvizError, match=r"t.csv: row 4: a cell of 3 character\(s\) that is "
                                           r"not a number \(column 'x'\)"):
        read_csv(typo)


def test_the_time_axis_labels_and_orders_the_steps(tmp_path):
    path = write(tmp_path, "p.csv", AIRLINE, "gbk")
    chosen = read_table(path).select(time="日期")
    assert chosen.names == ["乘客数", "温度"] and chosen.time_name == "日期"
    assert chosen.time_labels == ["1949-01", "1949-02", "1949-03"] and not chosen.sorted_by_time
    years = write(tmp_path, "y.csv", "year,x\n1951,3\n1949,1\n1950,2\n", "utf-8")
    np.testing.assert_array_equal(read_csv(years), [[1951, 3], [1949, 1], [1950, 2]])
    by_year = read_table(years).select(time="year")
    np.testing.assert_array_equal(by_year.values, [[1], [2], [3]])
    assert by_year.sorted_by_time and by_year.time_labels == ["1949", "1950", "1951"]
    np.testing.assert_array_equal(read_csv(years, time="1"), [[1], [2], [3]])   # by number
    cn = write(tmp_path, "cn.csv", "月份,x\n1949年2月,2\n1949年1月,1\n", "gbk")
    np.testing.assert_array_equal(read_table(cn).select(time="月份").values, [[1], [2]])


def test_column_choice_errors_name_file_column_and_row(tmp_path):
    path = write(tmp_path, "p.csv", AIRLINE, "gbk")
    with pytest.raises(GradvizError, match=r"p.csv: no column '风速'; the columns are 1: 日期, "
                                           r"2: 乘客数, 3: 温度"):
        read_csv(path, columns="风速")
    with pytest.raises(GradvizError, match=r"p.csv: row 2: a cell of 7 character\(s\) that is "
                                           r"not a number \(column "
                                           r"'日期' holds dates: choose the numeric columns\)"):
        read_csv(path, columns="日期,乘客数")
    with pytest.raises(GradvizError, match="both the time axis and an input"):
        read_csv(path, columns="乘客数", time="乘客数")
    with pytest.raises(GradvizError, match="chosen twice"):
        read_csv(path, columns="2,乘客数")
    with pytest.raises(GradvizError, match=r"p.csv: 1 column\(s\), expected 2"):
        read_csv(path, columns="3", expected_width=2)
    text = write(tmp_path, "names.csv", "name,city\nAnn,Oslo\nBo,Rome\n", "utf-8")
    with pytest.raises(GradvizError, match=r"names.csv: no column of numbers .*name \(text\)"):
        read_csv(text)
    hole = write(tmp_path, "hole.csv", "a,b\n1,2\n,4\n", "utf-8")
    with pytest.raises(GradvizError, match=r"hole.csv: row 3: an empty cell \(column 'a'\); "
                                           r"expected a number"):
        read_csv(hole)


def test_excel_habits_blank_rows_trailing_cells_thousands_and_semicolons(tmp_path):
    excel = write(tmp_path, "e.csv", 'a,b,,\r\n"1,234",2,,\r\n,,,\r\n5,6,,\r\n', "utf-8-sig")
    np.testing.assert_array_equal(read_csv(excel), [[1234, 2], [5, 6]])
    semi = write(tmp_path, "s.csv", "x;y\n1,5;2\n3;4,25\n", "utf-8")
    np.testing.assert_array_equal(read_csv(semi), [[1.5, 2], [3, 4.25]])


def test_the_scene_keeps_the_choice_and_resolves_with_it(tmp_path):
    from gradviz.core.scene import Scene, resolve

    path = write(tmp_path, "p.csv", AIRLINE, "gbk")
    scene = Scene(inputs_path=str(path), inputs_columns="乘客数", inputs_time="日期")
    assert Scene.from_dict(scene.to_dict()) == scene                 # sessions and presets
    r = resolve(scene, csv_sets_input_size=True)
    assert (r.scene.steps, r.scene.input_size) == (3, 1)
    np.testing.assert_array_equal(r.raw_inputs, [[112], [118], [132]])
