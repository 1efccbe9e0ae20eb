"""The run folder, its lock and its step log.

::

    run_dir/
      config.yaml      the configuration of the latest start (plain YAML, loadable by TrainConfig.from_yaml)
      log.jsonl        one JSON object per logged step: step, epoch, loss, lr, images_per_s, time; and one per
                       resume: step, event "resume", changed (the fields that changed), time
      checkpoint.pt    the latest checkpoint (colorlab.train.checkpoint)
      weights-STEP.pt  the weights kept every keep_every steps
      .lock            while a run writes the folder: the advisory lock, with the run's pid, host and start time

Only the first process of a distributed run writes here. The log is appended line by line and flushed, so it can
be read while the run writes it; a line cut by a crash is ignored when read and dropped when the run resumes.

A run holds the folder's lock (:class:`RunLock`, ``fcntl.flock``) from before it looks at the folder until it
ends, whatever ends it; the operating system releases it when the process dies, so a lock file that is present but
not locked is stale: the next run warns (:class:`StaleLockWarning`) and takes it over. Where ``fcntl`` does not
exist (Windows) the folder is not locked.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from .._atomic import atomic_write, remove_temporaries
from .config import TrainConfig

#: File names inside a run folder.
LOG_NAME = "log.jsonl"
CONFIG_NAME = "config.yaml"
LOCK_NAME = ".lock"
#: Parent folder of runs whose ``run_dir`` is None.
DEFAULT_RUNS_DIR = "runs"


class RunFolderInUseError(BlockingIOError):
    """Another run holds the run folder's lock."""


class StaleLockWarning(UserWarning):
    """A run folder's lock file was left by a run that ended without releasing it (killed, crashed): taken over."""


def is_run_file(name: str) -> bool:
    """Whether ``name`` is a file a run writes in its folder (the lock aside)."""
    weights = name.startswith("weights-") and name.endswith(".pt")
    return weights or name in (LOG_NAME, CONFIG_NAME, "checkpoint.pt")


def run_files(run_dir: Path) -> list[str]:
    """The names of the run files (:func:`is_run_file`) in ``run_dir``, sorted; empty when it does not exist."""
    return sorted(p.name for p in run_dir.iterdir() if is_run_file(p.name)) if run_dir.is_dir() else []


def remove_leftovers(run_dir: Path) -> None:
    """Delete the temporary files of run files that an interrupted write left in ``run_dir`` (call it under the
    folder's lock), and say so in one line."""
    removed = remove_temporaries(run_dir, is_run_file)
    if removed:
        names = ", ".join(p.name for p, _ in removed)
        print(f"colorlab train: removed {len(removed)} temporary file(s) of an interrupted write from "
              f"{str(run_dir)!r} ({sum(n for _, n in removed) / 1e6:.1f} MB): {names}", flush=True)


def _make_folders(path: Path, exist_ok: bool = True) -> list[Path]:
    """Create ``path`` and its missing parents; return those created, innermost first."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=exist_ok)
    return missing


def new_run_dir(config: TrainConfig) -> tuple[Path, list[Path]]:
    """Create a new folder ``runs/<model>-<UTC date-time>`` (with ``-N`` added if taken: created exclusively, so
    two runs started at once never share one); return it and the folders created (see :func:`_make_folders`)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(DEFAULT_RUNS_DIR) / f"{config.model}-{stamp}"
    for n in range(10_000):
        path = base if n == 0 else base.with_name(f"{base.name}-{n}")
        with contextlib.suppress(FileExistsError):
            return path, _make_folders(path, exist_ok=False)
    raise FileExistsError(f"no free run folder name beside {str(base)!r}: give run_dir")  # pragma: no cover


class RunLock:
    """The advisory lock of a run folder: ``run_dir/.lock`` locked with ``fcntl.flock`` and holding the owner's
    pid, host and start time. :meth:`acquire` creates the folder when missing; :meth:`release` (idempotent) removes
    the lock file, and the folders :meth:`acquire` created if they are still empty."""

    def __init__(self, run_dir: Path, created: list[Path] | None = None):
        self.run_dir, self.path = Path(run_dir), Path(run_dir) / LOCK_NAME
        self._created, self._fd = list(created or []), None

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`RunFolderInUseError` naming its holder; warn on a stale lock file."""
        self._created += _make_folders(self.run_dir)
        if fcntl is None:  # pragma: no cover - Windows
            return self
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(_read_record(fd))
                os.close(fd)
                raise RunFolderInUseError(f"run_dir {str(self.run_dir)!r} is in use by another run ({holder}): wait "
                                          "for it to end, or choose another run_dir") from None
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:  # not a file its last holder just removed
                    self._fd = fd
                    continue
            os.close(fd)
        self._claim()
        return self

    def _claim(self) -> None:
        """Write this process into the lock file, warning first if a dead run's record is in it."""
        previous = os.read(self._fd, 4096)
        if previous.strip():
            warnings.warn(f"run_dir {str(self.run_dir)!r}: taking over the lock left by a run that ended without "
                          f"releasing it ({_holder(previous)})", StaleLockWarning, stacklevel=4)
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (record + "\n").encode("utf-8"), 0)

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # before unlocking: a waiting run then finds no stale record
            os.close(self._fd)
            self._fd = None
        for folder in self._created:  # innermost first; a folder that holds anything stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._created = []

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_record(fd: int) -> bytes:
    """The record of a lock file that another run holds (waiting up to a second for a run that took the lock
    this instant to write it)."""
    for _ in range(20):
        record = os.pread(fd, 4096, 0)
        if record.strip():
            break
        time.sleep(0.05)
    return record


def _holder(record: bytes) -> str:
    """"pid N on host H, started T" from a lock file's record (or what is known of it)."""
    try:
        owner = json.loads(record.decode("utf-8"))
        return f"pid {owner['pid']} on host {owner['host']}, started {owner['started']}"
    except (ValueError, KeyError, TypeError):
        return "its lock file names no owner"


def _parse_log(lines: list[str], path: Path) -> list[dict[str, Any]]:
    """JSON records of ``lines``; a cut last line (a run killed while writing it) is left out."""
    records = []
    lines = [line for line in lines if line.strip()]
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise ValueError(f"{str(path)!r} line {number} is not a JSON record: {line[:80]!r}") from None
    return records


def read_log(run_dir, events: bool = False) -> list[dict[str, Any]]:
    """The records of ``run_dir/log.jsonl`` (a run folder or the log file itself), in order.

    Each is a dict with ``step``, ``epoch``, ``loss``, ``lr``, ``images_per_s`` and ``time`` (see
    :func:`colorlab.train.fit`). With ``events``, the records of the run's resumes are included too: ``step``,
    ``event`` ("resume"), ``changed`` (``{field: [before, after]}``) and ``time``. The file may be read while the
    run writes it.
    """
    path = Path(run_dir)
    if path.is_dir():
        path = path / LOG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"training log not found: {str(path)!r}")
    with open(path, encoding="utf-8") as f:
        records = _parse_log(f.readlines(), path)
    return records if events else [r for r in records if "event" not in r]


class RunLog:
    """The writing side of a run folder: ``config.yaml`` and ``log.jsonl`` (a no-op outside the main process)."""

    def __init__(self, run_dir: Path, enabled: bool = True):
        self.run_dir, self.enabled = Path(run_dir), enabled
        self._file = None

    def start(self, config: TrainConfig, step: int, summary: str, event: dict[str, Any] | None = None) -> None:
        """Write ``config.yaml``, drop log lines after ``step`` (written after the checkpoint a run resumes from,
        or by a run that never saved one), append ``event`` (the record of a resume) and print ``summary`` as the
        run's first line. The folder exists (:class:`RunLock` made it)."""
        if not self.enabled:
            return
        config.replace(run_dir=str(self.run_dir)).to_yaml(self.run_dir / CONFIG_NAME)
        path = self.run_dir / LOG_NAME
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                kept = "".join(json.dumps(r) + "\n" for r in _parse_log(f.readlines(), path) if r["step"] <= step)
            atomic_write(path, lambda f: f.write(kept.encode("utf-8")))
        self._file = open(path, "a", encoding="utf-8")
        if event is not None:
            self.write(event)
        print(summary, flush=True)

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
