"""Issues 9 and 11 together: hostile input refused in one line in the user's language, and no
message of the code left outside ``_()`` (an AST scan of every ``raise …Error("…")``)."""
import ast
import re
from pathlib import Path

import pytest
import torch

from gradviz import cli
from gradviz.core import i18n

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _english_after():
    torch.set_num_threads(1)
    yield
    i18n.set_language("en")


def _expanded(path: Path, hidden: int) -> Path:
    """A 2.5 KB checkpoint of stride-0 expanded tensors that would allocate 80 GB if read."""
    z = torch.zeros(1)
    torch.save({"weight_ih_l0": z.expand(hidden, 1), "weight_hh_l0": z.expand(hidden, hidden),
                "bias_ih_l0": z.expand(hidden), "bias_hh_l0": z.expand(hidden)}, path)
    assert path.stat().st_size < 4000
    return path


def _chinese_line(capsys, rc: int) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc != 0 and len(lines) == 1, err
    line = lines[0]
    assert line.startswith("gradviz export：错误："), line
    assert "internal error" not in line and "Traceback" not in err
    # Chinese prose: CJK characters, and no English sentence left (formula symbols, option
    # names, paths and numbers aside)
    assert CJK.search(line), line
    return line


def test_a_negative_seed_is_refused_in_chinese(tmp_path, capsys):
    out = tmp_path / "o"
    line = _chinese_line(capsys, cli.main(["--lang", "zh_CN", "export", "--seed", "-1",
                                           "--out", str(out)]))
    assert "--seed" in line and "'-1'" in line and "整数" in line
    assert not out.exists()


def test_an_oversized_hidden_size_is_refused_in_chinese(tmp_path, capsys):
    out = tmp_path / "o"
    line = _chinese_line(capsys, cli.main(["--lang", "zh_CN", "export", "--hidden", "100000",
                                           "--out", str(out)]))
    assert "H = 100000" in line and "隐藏层维度" in line and "GB" in line
    assert "needs about" not in line and "reduce" not in line
    assert not out.exists()


def test_a_map_too_large_for_any_stride_is_refused_in_chinese(tmp_path, capsys):
    line = _chinese_line(capsys, cli.main(["--lang", "zh_CN", "export", "--cell", "lstm",
                                           "--hidden", "512", "--steps", "1500",
                                           "--out", str(tmp_path / "o")]))
    # the coarsest stride is T // 16 = 93: "every 93rd step" in English, 每 93 个时间步 here
    assert "每 93 个时间步" in line and "T = 1500" in line and "93rd" not in line


def test_a_bomb_checkpoint_is_refused_in_chinese_naming_the_file(tmp_path, capsys):
    bomb = _expanded(tmp_path / "bomb.pt", 100_000)
    line = _chinese_line(capsys, cli.main(["--lang", "zh_CN", "export", "--state-dict", str(bomb),
                                           "--out", str(tmp_path / "o")]))
    assert str(bomb) in line and "隐藏层维度 100000" in line and "float64" in line
    assert "its weights need" not in line


def test_the_same_bomb_in_english(tmp_path, capsys):
    bomb = _expanded(tmp_path / "bomb.pt", 100_000)
    rc = cli.main(["--lang", "en", "export", "--state-dict", str(bomb), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err
    assert f"{bomb}: its weights need" in err and "(hidden size 100000)" in err


def test_a_session_with_a_bad_version_is_refused_in_chinese(tmp_path):
    from gradviz.core.errors import GradvizError
    from gradviz.core.session import load_session
    path = tmp_path / "s.json"
    path.write_text('{"format": "gradviz-session", "version": true, "scene": {}}', encoding="utf-8")
    i18n.set_language("zh_CN")
    with pytest.raises(GradvizError) as err:
        load_session(path)
    assert str(err.value) == 's.json："version" 必须是整数，得到的是 True'


def test_a_csv_with_a_text_cell_is_refused_in_chinese(tmp_path):
    from gradviz.core.errors import GradvizError
    from gradviz.core.inputs import read_csv
    path = tmp_path / "x.csv"
    path.write_text("x\n1\n2\nabc\n", encoding="utf-8")
    i18n.set_language("zh_CN")
    with pytest.raises(GradvizError) as err:
        read_csv(path)
    text = str(err.value)
    assert text.startswith(f"{path}：第 4 行：") and "不是数字" in text and "'x'" in text


# ---------------------------------------------------------------- no message outside _()

_ERRORS = ("GradvizError", "ArgumentTypeError", "OutsideFileError", "TargetExistsError")
_WORDS = re.compile(r"[A-Za-z]{2,}[^A-Za-z{}]+[A-Za-z]{2,}")


def _translated(node) -> bool:
    """``_("…")``, ``N_("…")``, ``ngettext(…)``, or ``.format(…)`` of one of these."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in ("_", "N_", "ngettext"):
            return True
        if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return _translated(node.func.value)
    return False


def _prose(node) -> list[str]:
    """The English prose written as a literal in a message expression (not inside ``_()``):
    string constants, the literal parts of f-strings, both sides of ``+`` and of ``a if c else b``,
    and a ``"…".format()`` receiver. Names, symbols and punctuation alone are not prose."""
    if _translated(node):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    elif isinstance(node, ast.BinOp):
        return _prose(node.left) + _prose(node.right)
    elif isinstance(node, ast.IfExp):
        return _prose(node.body) + _prose(node.orelse)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        return _prose(node.func.value)
    else:
        return []
    return [ast.unparse(node)] if _WORDS.search(re.sub(r"\{[^}]*\}", " ", text)) else []


def _untranslated_messages(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        is_super_init = called == "__init__" and isinstance(func, ast.Attribute) \
            and isinstance(func.value, ast.Call) and getattr(func.value.func, "id", "") == "super"
        if called in _ERRORS or is_super_init:
            found += [f"{name}:{node.lineno}: {text}" for text in _prose(node.args[0])]
    return found


def test_the_scan_finds_an_untranslated_message():
    code = ('raise GradvizError(f"{path}: no such file")\n'
            'raise GradvizError(_("{path}: no such file").format(path=p))\n'
            'raise GradvizError(f"{source}: {exc}")\n'
            'raise GradvizError(msg if ok else "nothing to do here")\n'
            'super().__init__(f"{p}: already exists")\n')
    assert _untranslated_messages(code, "x.py") == [
        "x.py:1: f'{path}: no such file'", "x.py:4: 'nothing to do here'",
        "x.py:5: f'{p}: already exists'"]


def test_every_error_message_of_gradviz_goes_through_the_catalog():
    """A GradvizError (and argparse's type errors) is what a user reads: its prose is a ``_()``
    message with named placeholders, never an f-string or a plain literal."""
    found = []
    for path in sorted((ROOT / "gradviz").rglob("*.py")):
        found += _untranslated_messages(path.read_text(encoding="utf-8"),
                                        str(path.relative_to(ROOT)))
    assert not found, found
