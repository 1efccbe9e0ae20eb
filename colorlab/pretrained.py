"""The book's trained models: finding, loading, checking and saving colorlab checkpoints.

Two small models are committed with the repository under ``models/`` (each with a model card beside it):

* ``classification`` — :class:`colorlab.models.ECCV16` at a reduced width, trained with the rebalanced
  cross-entropy of the paper (section 2.1–2.2), file :data:`PRETRAINED_FILES` ``["classification"]``;
* ``regression`` — :class:`colorlab.models.RegressionNet`, the same backbone and width trained with an L2 loss
  on ab (the baseline of the paper's Table 1 and of the seed report).

A model file is a colorlab checkpoint (:mod:`colorlab.train.checkpoint`: the one format, read by the one reader)
without the training state, its weights stored in float16 (half the size; loaded back into float32).
:func:`load_model` reads the training checkpoints written by :func:`colorlab.train.fit` too, so any run folder's
checkpoint can be passed wherever a model file is expected. Every failure is a clear exception: a missing file
raises :class:`FileNotFoundError` saying how to get one; an unreadable, foreign or mismatched file, or one with NaN or
infinite weights, raises :class:`CheckpointError` (a :class:`ValueError`); a device this machine lacks raises
:class:`ValueError` before the file is read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .models import ColorizationNet
from .train.checkpoint import (
    CheckpointError,
    atomic_save,
    checkpoint_file,
    model_checkpoint,
    model_from_checkpoint,
    read_checkpoint,
)
from .train.runtime import resolve_device

__all__ = [
    "PRETRAINED_FILES",
    "MODELS_DIR_ENV",
    "CheckpointError",
    "model_search_dirs",
    "pretrained_path",
    "load_pretrained",
    "load_model",
    "save_pretrained",
    "EVALUATIONS",
    "load_evaluation",
    "model_card_url",
]

#: File name of each committed model, looked up in :func:`model_search_dirs`.
PRETRAINED_FILES = {"classification": "classification.pt", "regression": "regression.pt"}
#: Environment variable naming an extra folder to search for the pretrained files (searched first).
MODELS_DIR_ENV = "COLORLAB_MODELS_DIR"
#: The committed evaluations (``models/evaluations/NAME.json``, written by ``colorlab evaluate --json``): the two
#: book models on their validation photos, the two pilot classifiers that differ only in λ (0.5 and 1), and the
#: book's recipe trained on half of the training photos (``half-photos``; same validation photos).
EVALUATIONS = ("validation", "pilot-lambda0.5", "pilot-lambda1", "half-photos")
#: What each kind's model must output (``ColorizationNet.output_kind``).
_OUTPUT_KIND = {"classification": "logits", "regression": "ab"}

#: How to get a missing model file; shown in the error message.
HOW_TO_GET = (
    "The committed models live in the models/ folder of the colorlab repository (a git checkout has them). "
    "Or train one (chapter 6, or `colorlab train --config configs/cpu.yaml`) and pass its checkpoint "
    "(checkpoint=PATH in Python, --checkpoint PATH on the command line), or set {env} to a folder holding {file}."
)


def _check_kind(kind: str) -> None:
    if kind not in PRETRAINED_FILES:
        raise ValueError(f"kind must be one of {', '.join(map(repr, PRETRAINED_FILES))}; got {kind!r}")


def model_search_dirs() -> list[Path]:
    """Folders searched for the pretrained files, in order.

    1. ``$COLORLAB_MODELS_DIR`` when set;
    2. ``models/`` of the repository checkout this package was imported from (``colorlab/../models``), which is
       where the files are committed — an editable install or a run from the checkout finds them;
    3. ``colorlab/resources/`` inside the installed package, for distributions that ship the files as package data.
    """
    package = Path(__file__).resolve().parent
    dirs = []
    if os.environ.get(MODELS_DIR_ENV):
        dirs.append(Path(os.environ[MODELS_DIR_ENV]).expanduser())
    dirs += [package.parent / "models", package / "resources"]
    return dirs


def pretrained_path(kind: str = "classification", checkpoint: str | os.PathLike | None = None) -> Path:
    """Path of the model file for ``kind`` ("classification" or "regression"), or of ``checkpoint`` when given.

    Raises :class:`FileNotFoundError` with instructions when no such file exists.
    """
    _check_kind(kind)
    if checkpoint is not None:
        path = checkpoint_file(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
        return path
    file = PRETRAINED_FILES[kind]
    for folder in model_search_dirs():
        if (folder / file).is_file():
            return folder / file
    searched = ", ".join(str(d) for d in model_search_dirs())
    raise FileNotFoundError(
        f"no {kind} model file {file!r} found (searched {searched}). "
        + HOW_TO_GET.format(env=MODELS_DIR_ENV, file=file)
    )


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", kind: str | None = None) -> ColorizationNet:
    """Load a colorlab model from a pretrained file or a training checkpoint, in eval mode, float32.

    Args:
        path: a file written by :func:`save_pretrained`, a checkpoint of :func:`colorlab.train.fit`, or the
            run folder that holds one.
        device: where the model goes: auto, cpu, cuda, cuda:N, mps or such a torch.device
            (:func:`colorlab.train.resolve_device`); the file is read on the CPU with ``weights_only=True``.
        kind: when given ("classification" or "regression"), the model must be of that kind.

    The model gets two attributes: ``checkpoint_path`` (the file read) and ``checkpoint_meta``: how it was trained
    (``steps``, ``train_seconds``, ``train_config``) and the file's free-form ``meta`` notes.

    Raises:
        ValueError: ``device`` is not a device, or one this machine does not have.
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is unreadable, not a colorlab checkpoint, of another kind, or its weights do not
            fit the architecture its config names, or are not finite.
    """
    device = resolve_device(device)
    if kind is not None:
        _check_kind(kind)
    path = checkpoint_file(path)
    checkpoint = read_checkpoint(path)
    model = model_from_checkpoint(checkpoint, path)
    if kind is not None and model.output_kind != _OUTPUT_KIND[kind]:
        other = next(k for k, v in _OUTPUT_KIND.items() if v == model.output_kind)
        raise CheckpointError(f"{str(path)!r} holds a {other} model ({model.config['name']}), but a {kind} model "
                              "is needed")
    model.checkpoint_path = str(path)
    model.checkpoint_meta = {"steps": checkpoint["step"], "train_seconds": checkpoint["elapsed"],
                             "train_config": checkpoint["train_config"], **checkpoint["meta"]}
    return model.to(device)


def load_pretrained(kind: str = "classification", checkpoint: str | os.PathLike | None = None,
                    device: str | torch.device = "cpu") -> ColorizationNet:
    """Load one of the book's trained models, in eval mode, float32, on ``device``.

    Args:
        kind: ``"classification"`` (ECCV16-style classifier over the ab bins) or ``"regression"`` (the L2
            baseline).
        checkpoint: a file to load instead of the committed one (a pretrained file or a training checkpoint).
        device: target device, as in :func:`load_model`.

    Raises:
        ValueError: ``device`` is not a device, or one this machine does not have.
        FileNotFoundError: no file for ``kind`` was found; the message says how to get one.
        CheckpointError: the file is not a usable checkpoint of that kind.
    """
    return load_model(pretrained_path(kind, checkpoint), device=device, kind=kind)


def save_pretrained(model: ColorizationNet, path: str | os.PathLike, meta: dict | None = None, *, step: int = 0,
                    elapsed: float = 0.0, train_config: dict | None = None) -> Path:
    """Write ``model`` as a model file: a colorlab checkpoint with float16 weights and no training state.

    ``step``, ``elapsed`` and ``train_config`` say how it was trained (a checkpoint of :func:`colorlab.train.fit`
    holds them); ``meta`` holds free-form notes and must contain only what ``torch.load(weights_only=True)``
    reads: numbers, strings, lists, dicts. The file is written atomically. Returns the path.
    """
    if not isinstance(model, ColorizationNet):
        raise TypeError(f"model must be a colorlab ColorizationNet; got {type(model).__name__}")
    checkpoint = model_checkpoint(model, step=step, elapsed=elapsed, train_config=train_config, meta=meta, half=True)
    return atomic_save(checkpoint, path)


def load_evaluation(name: str = "validation") -> dict:
    """A committed evaluation of the book's models, as :func:`colorlab.evaluate_images` returns it.

    Args:
        name: one of :data:`EVALUATIONS`; the file ``evaluations/NAME.json`` is looked up in
            :func:`model_search_dirs`.

    Raises:
        ValueError: ``name`` is not one of :data:`EVALUATIONS`.
        FileNotFoundError: no folder holds the file.
    """
    if name not in EVALUATIONS:
        raise ValueError(f"name must be one of {', '.join(EVALUATIONS)}; got {name!r}")
    for folder in model_search_dirs():
        path = folder / "evaluations" / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    searched = ", ".join(str(d / "evaluations") for d in model_search_dirs())
    raise FileNotFoundError(f"no evaluation {name!r} ({name}.json) in {searched}")


def model_card_url(kind: str = "classification") -> str:
    """The web address of the model card of a committed model (``models/<kind>.md`` in the book's repository,
    :func:`colorlab.provenance.repository_url`)."""
    from .provenance import repository_url

    _check_kind(kind)
    card = Path(PRETRAINED_FILES[kind]).with_suffix(".md").name
    return f"{repository_url().rstrip('/')}/blob/main/models/{card}"
