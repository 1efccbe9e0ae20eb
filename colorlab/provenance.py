"""Where each setting of the paper's training profile comes from: the paper, the authors' released code, or us.

``configs/gpu.yaml`` is the book's reproduction of the paper's ImageNet run. Some of its values are stated in the
paper (Zhang, Isola & Efros, ECCV 2016: §2, §3.1 and footnote 3 of §3.1), some only in the authors' released
Caffe training files (``train_val.prototxt`` and ``solver.prototxt`` of github.com/richzhang/colorization), and
the rest are colorlab's own choices (hardware, logging, file handling). :data:`SOURCES` records which, for every
field of :class:`colorlab.train.TrainConfig`; :func:`settings_table` shows a run's settings beside the profile's
with that source, as the training chapter does.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import NamedTuple

PAPER = "paper"
CODE = "released code"
OURS = "colorlab"
#: The three kinds of source, in the order the table's legend names them.
ORIGINS = (PAPER, CODE, OURS)

#: Folder of the profiles (``configs/`` beside the package in a clone of the repository).
PROFILE_DIR = Path(__file__).resolve().parents[1] / "configs"
#: The book's configuration (``_config.yml`` beside the package in a clone): the one file that names the
#: repository.
BOOK_CONFIG = Path(__file__).resolve().parents[1] / "_config.yml"


class Source(NamedTuple):
    """Where a setting of ``configs/gpu.yaml`` comes from: ``origin`` (one of :data:`ORIGINS`) and ``where``
    (section, file, or the reason for the choice)."""

    origin: str
    where: str


#: The source of every field of the paper's profile (``configs/gpu.yaml``).
SOURCES = {
    "data_dir": Source(PAPER, "§3.1: the 1.3 M photos of the ImageNet training set"),
    "model": Source(PAPER, "§2, Fig. 2; layer details from the released prototxt"),
    "width": Source(PAPER, "Fig. 2: the full network"),
    "image_size": Source(CODE, "train_val.prototxt: crop_size 176 (random crops, mirrored)"),
    "batch_size": Source(CODE, "train_val.prototxt: batch_size 40"),
    "steps": Source(PAPER, "§3.1: about 450k iterations"),
    "epochs": Source(OURS, "the run is limited by steps"),
    "lr": Source(PAPER, "footnote 3: 3·10⁻⁵ (solver.prototxt: 3.16·10⁻⁵)"),
    "lr_decay_steps": Source(PAPER, "footnote 3: at 200k and 375k (solver.prototxt: every 215k)"),
    "lr_decay": Source(PAPER, "footnote 3: to 10⁻⁵, then 3·10⁻⁶ (solver.prototxt: ×0.316)"),
    "weight_decay": Source(PAPER, "footnote 3: 10⁻³ (solver.prototxt too, biases included)"),
    "betas": Source(PAPER, "footnote 3: β₁ = 0.9, β₂ = 0.99 (solver.prototxt too)"),
    "lam": Source(PAPER, "§2.2: λ = 1/2"),
    "k": Source(PAPER, "§2.1: 5 nearest bins (the released code uses 10)"),
    "sigma": Source(PAPER, "§2.1: σ = 5"),
    "prior": Source(CODE, "prior_probs.npy; §2.2 estimates it on ImageNet"),
    "prior_images": Source(OURS, "only used by the empirical prior"),
    "holdout": Source(OURS, "the paper validates on ImageNet's validation set instead"),
    "device": Source(OURS, "hardware"),
    "amp": Source(OURS, "bf16 autocast: speed on current GPUs"),
    "compile": Source(OURS, "speed"),
    "channels_last": Source(OURS, "speed of tensor-core convolutions"),
    "workers": Source(OURS, "hardware"),
    "checkpoint_every": Source(OURS, "file handling (solver.prototxt snapshots every 1,000)"),
    "keep_every": Source(OURS, "file handling: kept steps, to choose where a run stops"),
    "log_every": Source(OURS, "logging"),
    "run_dir": Source(OURS, "file handling"),
    "resume": Source(OURS, "file handling"),
    "seed": Source(OURS, "reproducibility"),
}


def profile_path(name: str) -> Path:
    """The path of the profile ``configs/<name>.yaml`` of the repository (``"smoke"``, ``"cpu"`` or ``"gpu"``).

    Raises:
        FileNotFoundError: colorlab does not run from a clone of the repository, or there is no such profile.
    """
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"profile {name!r} not found at {path}: the profiles live in configs/ of the repository"
        )
    return path


def repository_url(config: Path = BOOK_CONFIG) -> str:
    """The URL of the book's repository, as the book's configuration names it (``repository: url:``).

    Raises:
        FileNotFoundError: colorlab does not run from a clone of the repository.
    """
    import yaml

    if not Path(config).is_file():
        raise FileNotFoundError(f"{config} not found: the book's configuration lives at the root of the repository")
    return yaml.safe_load(Path(config).read_text(encoding="utf-8"))["repository"]["url"]


def _text(value) -> str:
    """A setting as it would be written in Python (tuples as lists, as in the YAML profiles)."""
    return repr(list(value) if isinstance(value, tuple) else value)


def settings_table(config, profile, sources=None) -> "SettingsTable":
    """A run's settings beside a profile's, with the source of every profile value.

    Args:
        config: the run's :class:`colorlab.train.TrainConfig`.
        profile: the configuration to compare with, e.g. ``TrainConfig.from_yaml(profile_path("gpu"))``.
        sources: field → :class:`Source` (default :data:`SOURCES`, the sources of ``configs/gpu.yaml``).

    Returns:
        A :class:`SettingsTable`: an HTML table in a notebook (a ``*`` marks the fields where the run differs
        from the profile), plain text with ``str()``.
    """
    sources = SOURCES if sources is None else sources
    rows = []
    for name in (field.name for field in dataclasses.fields(config)):
        value, reference = getattr(config, name), getattr(profile, name)
        source = sources.get(name, Source(OURS, ""))
        rows.append((name, value, reference, source, value != reference))
    return SettingsTable(rows)


class SettingsTable(list):
    """Rows ``(field, this run's value, the profile's value, Source, differs)`` of :func:`settings_table`."""

    def _repr_html_(self) -> str:
        head = ("<tr><th>field</th><th>this run</th><th>configs/gpu.yaml</th><th></th>"
                "<th>source of the gpu.yaml value</th></tr>")
        body = "".join(
            f"<tr><td><code>{name}</code></td><td><code>{html.escape(_text(value))}</code></td>"
            f"<td><code>{html.escape(_text(reference))}</code></td><td>{'*' if differs else ''}</td>"
            f"<td><b>{html.escape(source.origin)}</b>: {html.escape(source.where)}</td></tr>"
            for name, value, reference, source, differs in self
        )
        return f"<table>\n<thead>{head}</thead>\n<tbody>{body}</tbody>\n</table>"

    def __str__(self) -> str:
        lines = [f"{'field':<17} {'this run':<22} {'gpu.yaml':<22}   source"]
        for name, value, reference, source, differs in self:
            lines.append(f"{name:<17} {_text(value):<22} {_text(reference):<22} {'*' if differs else ' '} "
                         f"{source.origin}: {source.where}")
        return "\n".join(lines)
