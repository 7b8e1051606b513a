"""The one way the app writes a state file: all or nothing, private, never through a planted link.

    atomic_write(path, text)              # settings, reminder memory, instance info, ui state...

A temporary file with a fresh random name is created beside `path` with O_EXCL and O_NOFOLLOW
(a fixed name like `instance.json.tmp` could be a symlink planted by someone who can write the
folder: the token would then go wherever it points), written, fsynced, made 0600 and renamed
over `path`; the folder is fsynced so the rename survives a power cut. `path` then holds either
its old content or the new one, never a mix, and is readable by the user only.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

PRIVATE_FILE = 0o600
_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)  # absent on Windows, where O_EXCL already refuses links
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def atomic_write(
    path: Path | str, data: str | bytes, mode: int = PRIVATE_FILE, make_dirs: bool = True
) -> None:
    """Replace `path` with `data` (str is written as UTF-8), creating its folder (0700) unless
    `make_dirs` is False. Raises OSError; leaves no temporary file behind."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if make_dirs:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = _create_temp(path, mode)
    try:
        try:
            with contextlib.suppress(AttributeError):  # no fchmod on Windows
                os.fchmod(fd, mode)  # the umask may have taken bits away, never added any
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _create_temp(path: Path, mode: int) -> tuple[int, Path]:
    for _attempt in range(16):
        tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, _FLAGS, mode), tmp
        except FileExistsError:
            continue  # 48 random bits taken: someone is guessing; draw again
    raise FileExistsError(f"no free temporary name beside {path}")


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX only: Windows cannot open a folder)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private(target: Path | str, write: Callable[[TextIO], None]) -> None:
    """An export the user asked for: 0600 (the history is theirs) and all or nothing. A target
    that is not a regular file (a pipe, /dev/stdout) is written as it is."""
    try:
        regular = stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        regular = True
    if not regular:
        with open(target, "w", encoding="utf-8", newline="") as out:
            write(out)
        return
    buffer = io.StringIO(newline="")
    write(buffer)
    atomic_write(target, buffer.getvalue(), make_dirs=False)  # a folder the user named exists


def set_aside(path: Path) -> Path:
    """Move a damaged state file out of the way as `<name>.corrupt`, kept for the user to look
    at; returns where it now is (`path` itself when it could not be moved)."""
    aside = path.with_name(path.name + ".corrupt")
    try:
        path.replace(aside)
    except OSError:
        return path
    return aside
