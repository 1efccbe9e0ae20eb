"""The run folder and its step log.

::

    run_dir/
      config.yaml      the configuration of the latest start (plain YAML, loadable by TrainConfig.from_yaml)
      log.jsonl        one JSON object per logged step: step, epoch, loss, lr, images_per_s, time; and one per
                       resume: step, event "resume", changed (the fields that changed), time
      checkpoint.pt    the latest checkpoint (colorlab.train.checkpoint)

Only the first process of a distributed run writes here. The log is appended line by line and flushed, so it can
be read while the run writes it; a line cut by a crash is ignored when read and dropped when the run resumes.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from .._atomic import atomic_write
from .config import TrainConfig

#: File names inside a run folder.
LOG_NAME = "log.jsonl"
CONFIG_NAME = "config.yaml"
#: Parent folder of runs whose ``run_dir`` is None.
DEFAULT_RUNS_DIR = "runs"


def new_run_dir(config: TrainConfig) -> Path:
    """A folder name that does not exist yet: ``runs/<model>-<UTC date-time>`` (with ``-N`` added if taken)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(DEFAULT_RUNS_DIR) / f"{config.model}-{stamp}"
    path, n = base, 1
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    return path


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
        """Create the folder, write ``config.yaml``, drop log lines after ``step`` (written after the checkpoint a
        run resumes from, or by a run that never saved one), append ``event`` (the record of a resume) and print
        ``summary`` as the run's first line."""
        if not self.enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
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
