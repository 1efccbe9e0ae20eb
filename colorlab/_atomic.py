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


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file beside ``path``, then rename it to ``path``.

    The folder must exist. On any error the temporary file is removed and the error propagates. Returns the path.
    """
    path = Path(path).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
