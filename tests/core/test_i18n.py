"""The message catalogs: complete, fresh against the code, placeholders kept; language choice;
the command line (help, argparse's words, errors) and the presets in Chinese."""
from __future__ import annotations

import importlib.util
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gradviz.core import i18n
from gradviz.core.i18n import _

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "gradviz" / "locale" / "zh_CN" / "LC_MESSAGES" / "gradviz.po"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _catalogs():
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "scripts" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def code_messages(tmp_path_factory):
    """The msgids extracted from the code now (Babel, babel.cfg) in a temporary folder."""
    pot = _catalogs().extract(tmp_path_factory.mktemp("pot") / "gradviz.pot")
    with open(pot, "rb") as handle:
        return {m.id if isinstance(m.id, str) else tuple(m.id): m for m in read_po(handle) if m.id}


@pytest.fixture(scope="module")
def zh():
    with open(PO, "rb") as handle:
        return {m.id if isinstance(m.id, str) else tuple(m.id): m
                for m in read_po(handle, locale="zh_CN") if m.id}


@pytest.fixture
def chinese():
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def _strings(message) -> list[str]:
    s = message.string
    return list(s) if isinstance(s, (list, tuple)) else [s]


def test_the_catalog_is_not_stale(code_messages, zh):
    """Every message of the code is in gradviz.po and the .po holds none the code dropped
    (`python scripts/catalogs.py update` merges them)."""
    assert len(code_messages) > 800
    missing = sorted(map(str, set(code_messages) - set(zh)))
    obsolete = sorted(map(str, set(zh) - set(code_messages)))
    assert not missing, f"not in gradviz.po: {missing[:10]}"
    assert not obsolete, f"in gradviz.po but no longer in the code: {obsolete[:10]}"


def test_every_message_has_a_chinese_translation(zh):
    untranslated = [m for m, msg in zh.items() if not all(s.strip() for s in _strings(msg))
                    or "fuzzy" in msg.flags]
    assert not untranslated, f"no Chinese translation: {untranslated[:10]}"
    # a message with English words in it is translated into Chinese, not copied
    wordy = [m for m, msg in zh.items() if isinstance(m, str)
             and re.search(r"\b(the|a|an|of|is|to|and|with|no)\b", re.sub(r"<[^>]+>|\{[^}]*\}", "", m))
             and not CJK.search(_strings(msg)[0])]
    assert not wordy, f"English copied as the translation: {wordy[:10]}"


def _fields(text: str) -> list[str]:
    braces = sorted(f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                    for _lit, name, spec, conv in string.Formatter().parse(text) if name is not None)
    percents = sorted(re.findall(r"%(?:\([a-z_]+\))?[sdr]", text))
    return braces + percents


def test_translations_keep_every_placeholder(zh):
    """{name}, {v:.2f}, {x!r} and argparse's %(prog)s / %s: same set, unchanged, in every
    translation (a dropped or renamed placeholder would crash or lose the number)."""
    bad = []
    for msgid, msg in zh.items():
        ids = [msgid] if isinstance(msgid, str) else list(msgid)
        for text in _strings(msg):
            for source in ids:
                try:
                    want, got = _fields(source), _fields(text)
                except ValueError:
                    want, got = None, "unparsable"
                if isinstance(msgid, tuple):   # plural: singular and plural agree on fields
                    want = _fields(ids[-1])
                if want != got:
                    bad.append((msgid, text))
                    break
    assert not bad, bad[:5]


def test_the_placeholder_check_catches_a_dropped_one():
    assert _fields("{n} frame(s), {seconds:.1f} s") != _fields("{n} 帧")
    assert _fields("t = {step}") != _fields("t = {stap}")
    assert _fields("%(prog)s: error: %(message)s\n") == _fields("%(prog)s：错误：%(message)s\n")


def test_set_language_switches_every_later_message(chinese):
    assert _("Gradient flow") == "梯度流"
    assert _("Save the changes to {name}?").format(name="a.json") == "保存对 a.json 的修改吗？"
    assert i18n.language() == "zh_CN"
    i18n.set_language("en")
    assert _("Gradient flow") == "Gradient flow"


def test_the_catalog_loads_from_the_po_when_no_mo_was_compiled(tmp_path, monkeypatch):
    """A source tree where `make catalogs` has not run yet still shows Chinese (the .po is
    compiled in memory); `make` / setup.py build write the .mo."""
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "gradviz.po").write_bytes(PO.read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        i18n.set_language("zh_CN")
        assert _("Gradient flow") == "梯度流"
    finally:
        i18n.set_language("en")


def test_compiling_writes_a_mo_that_gettext_reads(tmp_path, monkeypatch):
    import gettext
    module = _catalogs()
    folder = tmp_path / "gradviz" / "locale" / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "gradviz.po").write_bytes(PO.read_bytes())
    monkeypatch.setattr(module, "LOCALE", tmp_path / "gradviz" / "locale")
    [mo] = module.compile_all()
    assert mo == folder / "gradviz.mo"
    with open(mo, "rb") as handle:
        assert gettext.GNUTranslations(handle).gettext("&File") == "文件(&F)"


@pytest.mark.parametrize("value, lang", [
    ("zh_CN.UTF-8", "zh_CN"), ("zh-CN", "zh_CN"), ("zh", "zh_CN"), ("zh_Hans_CN", "zh_CN"),
    ("en_US.UTF-8", "en"), ("C", "en"), ("POSIX", "en"), ("de_DE.UTF-8", None), ("", None)])
def test_normalize(value, lang):
    assert i18n.normalize(value) == lang


def test_choice_order_flag_env_remembered_system(monkeypatch):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", i18n.ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.choose_language() == "zh_CN"                    # the system locale
    assert i18n.choose_language(remembered="en") == "en"        # then what was chosen last
    monkeypatch.setenv(i18n.ENV, "zh_CN")
    assert i18n.choose_language(remembered="en") == "zh_CN"     # GRADVIZ_LANG over that
    assert i18n.choose_language("en", remembered="zh_CN") == "en"   # --lang over everything
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.delenv(i18n.ENV)
    assert i18n.choose_language() == "en"                       # no French: English


def _gradviz(*args, env_lang=None):
    import os
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV}
    if env_lang:
        env[i18n.ENV] = env_lang
    return subprocess.run([sys.executable, "-m", "gradviz", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_help_in_chinese_with_argparse_words_too():
    out = _gradviz("--lang", "zh_CN", "--help").stdout
    assert out.startswith("用法：gradviz")
    assert "选项" in out and "显示此帮助信息并退出" in out and "列出预设并退出" in out
    assert "usage:" not in out and "options:" not in out and "show this help" not in out
    english = _gradviz("--lang", "en", "--help").stdout
    assert english.startswith("usage: gradviz") and "list the presets and exit" in english


def test_cli_errors_in_chinese_by_flag_or_environment(tmp_path):
    r = _gradviz("export", "--steps", "abc", "--out", str(tmp_path / "o"), env_lang="zh_CN")
    assert r.returncode == 2
    assert r.stderr.strip() == "gradviz export：错误：参数 --steps：需要一个正整数，得到的是 'abc'"
    r = _gradviz("export", "--lang=zh_CN", "--preset", "nope", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and r.stderr.startswith("gradviz export：错误：未知的预设 'nope'")
    assert not (tmp_path / "o").exists()
    r = _gradviz("export", "--preset", "nope", "--out", str(tmp_path / "o"), env_lang="en")
    assert "unknown preset 'nope'" in r.stderr
    r = _gradviz("--lang", "fr")
    assert r.returncode == 2 and "--lang" in r.stderr and "zh_CN" in r.stderr


def test_gradviz_errors_of_the_core_in_chinese(chinese):
    from gradviz.core.errors import GradvizError
    from gradviz.core.scene import Scene
    with pytest.raises(GradvizError, match="方向 1 不存在：该网络是单向的"):
        Scene(direction=1).validate()


PRESET_FILES = sorted((ROOT / "assets" / "presets").glob("*.json")) + sorted(
    (ROOT / "assets" / "training").glob("*.json"))


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.name)
def test_every_preset_has_chinese_and_states_its_claims_in_each_language(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert CJK.search(data["title_zh"]) and CJK.search(data["explanation_zh"])
    claims = data.get("claim", [])
    for claim in [claims] if isinstance(claims, dict) else claims:
        assert claim["statement"] in data["explanation"]
        assert claim["statement_zh"] in data["explanation_zh"]


def test_presets_shown_in_the_current_language(chinese):
    from gradviz.core.presets import load_preset
    from gradviz.core.training_presets import preset_from_dict
    # this checkout's files (an editable install elsewhere may map gradviz.assets to another)
    p = load_preset("tanh-vanishing", folder=ROOT / "assets" / "presets")
    assert p.title_text() == "tanh RNN，σ_max(W_R) < 1：梯度按几何级数消失"
    assert "上界从未被突破" in p.explanation_text() and "上界从未被突破" in p.statements()
    for path in sorted((ROOT / "assets" / "training").glob("*.json")):
        t = preset_from_dict(json.loads(path.read_text(encoding="utf-8")), source=path.name)
        assert CJK.search(t.title_text()) and t.explanation_text() == t.explanation_zh
    i18n.set_language("en")
    assert p.title_text() == p.title and "the bound is never violated" in p.statements()


def test_setup_py_build_compiles_the_catalog(tmp_path):
    """`setup.py build_py` (what pip runs to build a wheel) puts a compiled .mo in the package."""
    import gettext
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    mo = tmp_path / "gradviz" / "locale" / "zh_CN" / "LC_MESSAGES" / "gradviz.mo"
    with open(mo, "rb") as handle:
        assert gettext.GNUTranslations(handle).gettext("Gradient flow") == "梯度流"
    assert "*.mo" in (ROOT / ".gitignore").read_text().split()
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True,
                             text=True).stdout
    assert tracked.strip() == "", "a compiled catalog is committed"


def test_readme_in_chinese_has_the_same_set_up_commands():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    for command in ("    make run ", "    make test "):
        assert command in english and command in chinese
    headings = [line for line in chinese.splitlines() if line.startswith("#")]
    assert len(headings) == len([line for line in english.splitlines() if line.startswith("#")])
    assert "docs/screenshot-zh.png" in chinese and "docs/glossary.md" in chinese


GLOSSARY = {"forget gate": "遗忘门", "forget-gate": "遗忘门", "input gate": "输入门",
            "output gate": "输出门", "update gate": "更新门", "update-gate": "更新门",
            "reset gate": "重置门", "cell state": "细胞状态", "hidden state": "隐藏状态",
            "clipping": "裁剪", "jacobian": "雅可比", "singular value": "奇异值",
            "eigenvalue": "特征值", "learning rate": "学习率", "preset": "预设",
            "session": "会话", "heatmap": "热力图"}


def test_the_glossary_terms_are_used_consistently(zh):
    """docs/glossary.md fixes the words; every message with a term uses its Chinese word."""
    glossary = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for chinese in GLOSSARY.values():
        assert chinese in glossary
    bad = []
    for msgid, msg in zh.items():
        if not isinstance(msgid, str):
            continue
        text = re.sub(r"<[^>]+>|\{[^}]*\}|--[\w-]+", "", msgid).lower()   # no option names
        for english, chinese in GLOSSARY.items():
            if re.search(rf"\b{re.escape(english)}", text) and chinese not in _strings(msg)[0]:
                bad.append((english, msgid, _strings(msg)[0]))
    assert not bad, bad[:8]
