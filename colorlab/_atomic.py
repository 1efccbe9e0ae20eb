"""Writing files atomically: a temporary file in the target folder, flushed to disk, then a rename.

``os.replace`` within one folder is atomic on POSIX and Windows, so the target either keeps its old content or holds
the complete new file — an interrupted run never leaves half an image, JSON file, checkpoint or model behind. The
file's data is fsynced before the rename and the folder after it, so a power cut does not undo a finished write.
Every file colorlab writes goes through :func:`atomic_write`.

The temporary file of ``NAME`` is ``.NAME.XXXXXXXX.tmp`` (eight hex digits). A process killed while writing (SIGKILL,
a power cut) leaves it behind; :func:`remove_temporaries` deletes such leftovers when nothing writes the folder.
A full disk is reported as ``no space left on device while writing PATH``, the previous file kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: The name of a temporary file of :func:`atomic_write`: ``.TARGET.XXXXXXXX.tmp``.
_TEMPORARY = re.compile(r"\.(?P<target>.+)\.[0-9a-f]{8}\.tmp")
#: errno values of a full disk (ENOSPC) or an exhausted quota (EDQUOT, where the platform has it).
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _disk_full(error: BaseException) -> bool:
    """Whether ``error`` or an exception it was raised from is a full disk (torch.save turns the OSError of a
    full disk into a RuntimeError "unexpected pos", raised while handling it)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file beside ``path``, fsync it, then rename it to ``path``.

    The new file gets the mode any new file gets (0o666 minus the process's umask, which is never changed). The
    folder must exist. On any error the temporary file is removed and the error propagates; a full disk raises
    ``OSError`` (errno ENOSPC) "no space left on device while writing PATH". Returns the path.
    """
    path = Path(path).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    for _ in range(100):  # a fresh name, created exclusively: never another writer's temporary file
        tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(f"cannot create a temporary file beside {str(path)!r}")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if _disk_full(error):
            full = OSError(f"no space left on device while writing {str(path)!r}; the previous file, if any, is kept "
                           "as it was: free some space and try again")
            full.errno = errno.ENOSPC
            raise full from error
        raise
    _fsync_folder(folder)
    return path


def remove_temporaries(folder: str | os.PathLike, targets: Callable[[str], bool]) -> list[tuple[Path, int]]:
    """Delete the temporary files of :func:`atomic_write` in ``folder`` (not below it) whose target file name
    passes ``targets``: leftovers of a process killed while writing. Call it only while nothing writes those
    files (e.g. under a lock). Returns the removed files with their sizes in bytes."""
    removed = []
    for path in sorted(Path(folder).iterdir()):
        match = _TEMPORARY.fullmatch(path.name)
        if match and targets(match["target"]) and path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            path.unlink(missing_ok=True)
            removed.append((path, size))
    return removed


def writable_folder(folder: str | os.PathLike, create: bool = True) -> Path:
    """Check that files can be created in ``folder`` (creating it and its parents when ``create``); return it.

    Raises:
        NotADirectoryError: ``folder`` or one of its parents exists and is not a folder.
        FileNotFoundError: ``folder`` does not exist and ``create`` is false.
        OSError: the folder cannot be created or written (permissions, read-only file system), with the reason.
    """
    folder = Path(folder).expanduser()
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            if folder.exists():
                raise NotADirectoryError(f"{str(folder)!r} is not a folder")
            raise FileNotFoundError(f"the folder {str(folder)!r} does not exist")
        with tempfile.TemporaryFile(dir=folder):
            pass
    except FileExistsError as error:
        raise NotADirectoryError(f"{str(folder)!r} exists and is not a folder") from error
    except (NotADirectoryError, FileNotFoundError):
        raise
    except OSError as error:
        raise OSError(f"cannot write to {str(folder)!r}: {error.strerror or error}") from error
    return folder


def writable_file(path: str | os.PathLike, name: str, example: str, create: bool = False) -> Path:
    """``path`` as a file that can be written: not a folder, in a folder that exists (or is created, with
    ``create``) and is writable; checked before long work, so that it fails first. ``name`` (the argument, e.g.
    ``"--json"``) begins each message and ``example`` (a file name) says what to give instead of a folder.

    Raises:
        IsADirectoryError: ``path`` is a folder. OSError: as :func:`writable_folder`, for its folder.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise IsADirectoryError(f"{name}: {str(target)!r} is a folder; give a file name such as {example}")
    try:
        writable_folder(target.parent, create=create)
    except OSError as error:
        raise type(error)(f"{name}: {error}") from error
    return target
