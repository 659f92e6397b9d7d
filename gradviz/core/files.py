"""Atomic file writes: a temp file beside the target, renamed over it only when complete.

A failed or cancelled write leaves neither a half-written target nor the temp file, and an
existing file is never replaced unless the caller says ``overwrite=True`` (the window asks the
user first; :class:`TargetExistsError` is what it catches to ask).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import GradvizError
from .i18n import _


class TargetExistsError(GradvizError):
    """The target file exists and ``overwrite`` was not given."""

    def __init__(self, path):
        self.path = Path(path)
        super().__init__(_("{path}: already exists; not overwritten (choose another name or "
                           "confirm overwriting)").format(path=self.path))


def process_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _check_target(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise GradvizError(_("{path}: is a folder, expected a file name").format(path=path))
    if not path.parent.is_dir():
        raise GradvizError(_("{path}: folder {parent} does not exist").format(path=path, parent=path.parent))
    if path.exists() and not overwrite:
        raise TargetExistsError(path)


def _commit(tmp: Path, path: Path, overwrite: bool) -> None:
    """Make ``tmp`` the file ``path``: durable, with ordinary permissions, atomically."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~process_umask()
        os.chmod(tmp, mode)
    except OSError:
        pass
    if overwrite:
        os.replace(tmp, path)
        return
    try:   # a hard link fails if the target appeared meanwhile: no race with another writer
        os.link(tmp, path)
    except FileExistsError:
        raise TargetExistsError(path) from None
    except OSError:   # file systems without hard links
        if path.exists():
            raise TargetExistsError(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path, overwrite: bool = False):
    """Yield a temp path beside ``path`` (same suffix) to write; rename it to ``path`` on success.

    On any exception inside the block (an error, or a cancel the caller raises) the temp file
    is removed and the exception propagates; ``path`` is untouched. An ``OSError`` (disk full,
    permission) becomes a :class:`GradvizError` naming the file.
    """
    path = Path(path)
    _check_target(path, overwrite)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}",
                                    dir=path.parent)
    except OSError as exc:
        raise GradvizError(_("{path}: cannot write here ({value})")
                           .format(path=path, value=exc.strerror or exc)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _commit(tmp, path, overwrite)
    except OSError as exc:
        raise GradvizError(_("{path}: cannot write ({value})")
                           .format(path=path, value=exc.strerror or exc)) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def atomic_write_bytes(path, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path, text: str, overwrite: bool = False, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines as given); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)


#: the largest text file (a session with embedded weights) gradviz reads whole
MAX_TEXT_BYTES = 256 * 2**20


def read_user_text(path, what: str, encoding: str = "utf-8") -> str:
    """The text of a file the user chose; a missing or unreadable one is a GradvizError."""
    path = Path(path)
    if not path.is_file():
        raise GradvizError(_("{path}: no such file").format(path=path))
    try:
        if path.stat().st_size > MAX_TEXT_BYTES:
            raise GradvizError(_("{path}: {size:.0f} MB is too large to be read as {what} (at "
                                 "most {limit} MB)")
                               .format(path=path, size=path.stat().st_size / 2**20, what=what,
                                       limit=MAX_TEXT_BYTES // 2**20))
        return path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as exc:
        raise GradvizError(_("{path}: cannot be read as {what} ({name})")
                           .format(path=path, what=what, name=type(exc).__name__)) from None


def check_folder_target(out, option: str = "--out") -> None:
    """Raise a GradvizError naming ``option`` if ``out`` (or a parent) is a file."""
    out = Path(out)
    p = out
    while not p.exists() and p.parent != p:
        p = p.parent
    if p.exists() and not p.is_dir():
        raise GradvizError((_("{option} {out}: is a file, expected a folder") if p == out else
                            _("{option} {out}: {p} is a file, expected a folder"))
                           .format(option=option, out=out, p=p))


@contextlib.contextmanager
def atomic_folder(out, option: str = "--out"):
    """Yield a private temp folder beside the folder ``out``; on success its files move into
    ``out`` (created with missing parents; same-named files replaced), on any exception
    nothing appears: the temp folder and the parents this call created are removed.
    ``option`` names the setting in error messages."""
    import shutil

    out = Path(out)
    check_folder_target(out, option)
    created = []
    q = out.parent
    while not q.exists():
        created.append(q)
        q = q.parent
    tmp, done = None, False
    try:
        try:
            for folder in reversed(created):
                folder.mkdir()
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        except OSError as exc:
            raise GradvizError(_("{option} {out}: cannot write ({value})")
                               .format(option=option, out=out, value=exc.strerror or exc)) from None
        yield tmp
        names = sorted(f.name for f in tmp.iterdir())
        mask = process_umask()
        try:
            for name in names:
                os.chmod(tmp / name, 0o666 & ~mask)
            os.chmod(tmp, 0o777 & ~mask)
            if not out.exists():
                os.rename(tmp, out)
                tmp = None
            else:
                for name in names:
                    os.replace(tmp / name, out / name)
        except OSError as exc:
            raise GradvizError(_("{option} {out}: cannot write ({value})")
                               .format(option=option, out=out, value=exc.strerror or exc)) from None
        done = True
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if not done:
            for folder in created:   # innermost first; only the folders made here
                try:
                    folder.rmdir()
                except OSError:
                    break
