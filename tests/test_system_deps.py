"""scripts/system-deps.sh names (or installs) every system library Qt's xcb platform needs.

The list is checked against the real plugin: the libraries its ELF files ask for (DT_NEEDED),
resolved by ``ldd`` and traced to Debian packages by ``dpkg -S``.
"""
import os
import re
import stat
import struct
import subprocess
import sys
from pathlib import Path

import PyQt6

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "system-deps.sh"
QT = Path(PyQt6.__file__).parent / "Qt6"
XCB = [QT / "plugins" / "platforms" / "libqxcb.so", QT / "lib" / "libQt6XcbQpa.so.6"]
#: part of every Debian system (the C and C++ runtimes)
BASE = {"libc6", "libstdc++6", "libgcc-s1"}


def needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of a 64-bit little-endian ELF file (what it links against)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, path
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + k * shentsize) for k in range(shnum)]
    dynamic = next(s for s in sections if s[1] == 6)          # SHT_DYNAMIC
    strtab = sections[dynamic[6]][4]
    out = []
    for off in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, value = struct.unpack_from("<qQ", data, off)
        if tag == 1:                                           # DT_NEEDED
            start = strtab + value
            out.append(data[start:data.index(b"\0", start)].decode())
    return out


def script_packages() -> set[str]:
    text = SCRIPT.read_text()
    listed = re.search(r'qt_pkgs="([^"]*)"', text).group(1)
    return set(listed.split())


def _owner(path: str) -> str:
    """The Debian package of a library file (dpkg knows /lib/... or /usr/lib/... after usrmerge)."""
    real = os.path.realpath(path)
    for candidate in (path, real, real.removeprefix("/usr")):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":")[0]
    raise AssertionError(f"no Debian package owns {path}")


def test_the_xcb_plugin_finds_every_library():
    for lib in XCB:
        out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, check=True).stdout
        assert "not found" not in out, f"{lib.name}:\n{out}"


def test_every_library_the_xcb_plugin_links_is_in_the_script():
    listed = script_packages()
    for name in ("libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0", "libxcb-xinerama0",
                 "libxkbcommon-x11-0", "fonts-wqy-microhei"):
        assert name in listed
    paths = set()
    for lib in XCB:
        resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", subprocess.run(
            ["ldd", str(lib)], capture_output=True, text=True, check=True).stdout, re.M))
        paths |= {resolved[soname] for soname in needed(lib)
                  if not Path(resolved[soname]).resolve().is_relative_to(QT.resolve())}  # not in the wheel
    wanted = {_owner(path) for path in paths}
    assert wanted - BASE <= listed, sorted(wanted - BASE - listed)
    assert len(wanted) > 15          # really read: the plugin links some twenty X/GL libraries


def test_check_mode_passes_on_this_machine():
    done = subprocess.run(["sh", str(SCRIPT), "--check", "--test", sys.executable],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def _fake_dpkg(folder: Path, absent: set[str]) -> dict:
    """A `dpkg -s` that reports ``absent`` packages as not installed (a machine without them)."""
    fake = folder / "dpkg"
    real = subprocess.run(["sh", "-c", "command -v dpkg"], capture_output=True,
                          text=True).stdout.strip()
    names = " ".join(sorted(absent))
    fake.write_text(f'#!/bin/sh\ncase " {names} " in *" $2 "*) exit 1;; esac\nexec {real} "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_check_mode_names_what_is_missing(tmp_path):
    env = _fake_dpkg(tmp_path, {"libxcb-icccm4", "libxcb-keysyms1", "xvfb"})
    done = subprocess.run(["sh", str(SCRIPT), "--check"], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert "libxcb-icccm4 libxcb-keysyms1" in done.stderr
    assert "xvfb" not in done.stderr                           # only asked for with --test
    done = subprocess.run(["sh", str(SCRIPT), "--check", "--test"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 1 and "xvfb" in done.stderr


def test_unknown_option_is_refused():
    done = subprocess.run(["sh", str(SCRIPT), "--nope"], capture_output=True, text=True)
    assert done.returncode == 2 and "--nope" in done.stderr
