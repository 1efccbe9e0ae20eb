"""Writing files atomically: a temporary file in the target folder, then a rename.

``os.replace`` within one folder is atomic on POSIX and Windows, so the target either keeps its old content or holds
the complete new file — an interrupted run never leaves half an image, JSON file or model behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 minus the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file beside ``path``, then rename it to ``path``.

    The folder must exist. On any error the temporary file is removed and the error propagates. Returns the path.
    """
    path = Path(path).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _default_file_mode())  # mkstemp makes files private (0600); outputs get the usual mode
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
