"""Colorlab checkpoints: one file format for training checkpoints and the book's model files, one reader.

A checkpoint is a dict saved with :func:`torch.save` and read with ``torch.load(weights_only=True)``, which
never runs code from the file (it holds only tensors, numbers, strings, lists and dicts). Every file has
:data:`MODEL_KEYS`::

    format          "colorlab.checkpoint" (CHECKPOINT_FORMAT)
    version         2 (CHECKPOINT_VERSION): files of another version are refused, naming both versions
    model_config    the model's arguments, build_model(**model_config): name, width, dilation
    model           its state dict (float32 from training, float16 in the book's model files)
    step            optimisation steps behind the weights (0 for a model that fit did not train)
    elapsed         seconds of training behind them
    train_config    the TrainConfig of the run, as a dict (None for a model that fit did not train)
    meta            free-form notes, e.g. the data or metrics of a published model (a dict)

A training checkpoint, written by :func:`colorlab.train.fit`, adds what resuming needs (:data:`RESUME_KEYS`)::

    epoch, batch_in_epoch         the position in the training data
    optimizer, scheduler, scaler  their state dicts (scaler: None unless the run uses fp16)
    rng                           the run's torch random states: {"cpu": ..., "cuda": ... or None}
    prior, class_weights          float64 (313,) of a classification run, None for the regression model

:func:`read_checkpoint` is the one reader: :func:`colorlab.train.fit` (resume), :func:`load_checkpoint`,
:func:`colorlab.load_pretrained`, ``colorlab colorize`` and ``colorlab evaluate`` all go through it. Every problem
with a file that exists raises :class:`CheckpointError` (a ``ValueError``); a missing file raises
``FileNotFoundError``. Model weights that are NaN or infinite (a diverged run) are refused by every reader, resuming
included; a configuration whose architecture does not match the stored tensors' names and shapes is refused before
any model is built (:func:`model_from_checkpoint`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .._atomic import atomic_write
from .._validate import check_finite
from ..models import ColorizationNet, build_model
from .runtime import resolve_device

#: Marks a file as a colorlab checkpoint, and the version of its layout.
CHECKPOINT_FORMAT = "colorlab.checkpoint"
CHECKPOINT_VERSION = 2
#: The checkpoint's file name inside a run folder (a run folder stands for the checkpoint inside it).
CHECKPOINT_NAME = "checkpoint.pt"
#: Keys of every checkpoint, and the keys a training checkpoint adds.
MODEL_KEYS = ("format", "version", "model_config", "model", "step", "elapsed", "train_config", "meta")
RESUME_KEYS = ("epoch", "batch_in_epoch", "optimizer", "scheduler", "scaler", "rng", "prior", "class_weights")
#: Formats of files written by earlier versions of colorlab (``models/upgrade_checkpoint.py`` converts them).
_EARLIER_FORMATS = ("colorlab-checkpoint", "colorlab.pretrained/1")


class CheckpointError(ValueError):
    """A file exists but is not a usable colorlab checkpoint (unreadable, foreign, of another version or
    architecture, or without the training state that resuming needs)."""


def checkpoint_file(path: str | os.PathLike) -> Path:
    """``path``, or the checkpoint inside it when ``path`` is a run folder."""
    path = Path(path).expanduser()
    return path / CHECKPOINT_NAME if path.is_dir() else path


#: How every file of torch.save begins: a zip archive (its default) or a pickle (its earlier format).
_PYTORCH_HEADERS = (b"PK\x03\x04", b"\x80")


#: What :func:`_load` says a file should have been, and how to get one, when it is not a PyTorch file at all.
_COLORLAB_FILE = ("a colorlab model or checkpoint", "give a checkpoint.pt of colorlab train, a model file of "
                  "save_pretrained, or a run folder")


def _load(path: Path, map_location, expected: tuple[str, str] = _COLORLAB_FILE) -> Any:
    """``torch.load(path, weights_only=True)``, every failure a :class:`CheckpointError`; ``expected`` is
    (what the file should be, how to get one) for the message about a file that is not a PyTorch file."""
    with path.open("rb") as f:
        head = f.read(8)
    if not head.startswith(_PYTORCH_HEADERS):
        what, hint = expected
        raise CheckpointError(f"{str(path)!r} is not {what} (not a readable PyTorch checkpoint: it begins with "
                              f"{head!r}, not a zip or pickle header); {hint}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged or foreign file
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Weights only load failed" in detail:
            detail = "it holds Python objects that weights_only loading refuses"
        raise CheckpointError(f"{str(path)!r} is not a readable PyTorch checkpoint (damaged, truncated, or not "
                              f"saved with plain tensors): {detail[:200]}") from None


def _check_layout(obj: Any, path: Path) -> None:
    where = repr(str(path))
    if not isinstance(obj, dict):
        raise CheckpointError(f"{where} is not a colorlab checkpoint: it holds a {type(obj).__name__}, not a dict")
    if obj.get("format") in _EARLIER_FORMATS:
        raise CheckpointError(f"{where} was written by an earlier colorlab (format {obj['format']!r}); this one "
                              f"reads {CHECKPOINT_FORMAT!r} version {CHECKPOINT_VERSION}: convert the file with "
                              "models/upgrade_checkpoint.py of the colorlab repository")
    if obj.get("format") != CHECKPOINT_FORMAT:
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise CheckpointError(f"{where} holds bare weights without the model's configuration; save models "
                                  "with colorlab.pretrained.save_pretrained")
        keys = ", ".join(map(str, list(obj)[:8]))
        raise CheckpointError(f"{where} is not a colorlab checkpoint (no {CHECKPOINT_FORMAT!r} format; keys: {keys})")
    if obj.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{where} has checkpoint version {obj.get('version')!r}; this colorlab reads "
                              f"version {CHECKPOINT_VERSION}")
    missing = [k for k in MODEL_KEYS if k not in obj]
    config = obj.get("model_config")
    if missing or not isinstance(config, dict) or "name" not in config or not isinstance(obj.get("model"), dict):
        raise CheckpointError(f"{where} is a damaged colorlab checkpoint: "
                              f"{'missing ' + ', '.join(missing) if missing else 'its model or model_config is bad'}")


def _check_finite_weights(weights: dict[str, Any], path: Path) -> None:
    """Refuse NaN or infinite weights (a diverged run): they give black images and a meaningless evaluation."""
    for key, value in weights.items():
        if isinstance(value, torch.Tensor):
            check_finite(value, f"{str(path)!r}: the weight {key!r}", error=CheckpointError,
                         hint=" (the run that wrote it diverged): use an earlier checkpoint, or train again")


def read_checkpoint(path: str | os.PathLike, map_location="cpu", *, resumable: bool = False) -> dict[str, Any]:
    """Read and check a colorlab checkpoint (a run folder stands for the checkpoint inside it).

    Args:
        path: a checkpoint or model file, or a run folder.
        map_location: where the tensors go, as in :func:`torch.load`; a device name or torch.device is first
            checked by :func:`colorlab.train.resolve_device`.
        resumable: the file must hold the training state (:data:`RESUME_KEYS`) that resuming needs.

    Returns:
        the checkpoint dict (see the module docstring for its keys).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: ``map_location`` names no device, or one this machine does not have.
        CheckpointError: the file is not a PyTorch file, or is unreadable, foreign, of another version, damaged,
            holds NaN or infinite model weights (naming the first), or (with ``resumable``) lacks training state.
    """
    path = checkpoint_file(path)
    if isinstance(map_location, (str, torch.device)):
        map_location = resolve_device(map_location, name="map_location")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    checkpoint = _load(path, map_location)
    _check_layout(checkpoint, path)
    _check_finite_weights(checkpoint["model"], path)
    missing = [k for k in RESUME_KEYS if k not in checkpoint]
    if resumable and missing:
        raise CheckpointError(f"{str(path)!r} holds a model without its training state ({', '.join(missing)}): "
                              "it cannot be resumed")
    return checkpoint


def _expected_shapes(config: dict[str, Any], path: Path) -> dict[str, torch.Size]:
    """The state dict's names and shapes of the model ``config`` names, built on the meta device: no memory, however
    wide the configuration says it is."""
    try:
        with torch.device("meta"):
            model = build_model(**config)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{str(path)!r} names a model colorlab cannot build ({config}): {error}") from None
    return {key: value.shape for key, value in model.state_dict().items()}


def _check_shapes(weights: dict[str, Any], config: dict[str, Any], path: Path) -> None:
    """Refuse weights whose names or shapes differ from the architecture's, naming the first such tensor."""
    expected = _expected_shapes(config, path)
    prefix = f"{str(path)!r}: the weights do not fit the architecture it names ({config['name']!r}, width " \
          f"{config.get('width')})"
    missing, unexpected = [k for k in expected if k not in weights], [k for k in weights if k not in expected]
    if missing or unexpected:
        raise CheckpointError(f"{prefix}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    for key, shape in expected.items():
        value = weights[key]
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        if got != tuple(shape):
            raise CheckpointError(f"{prefix}: the tensor {key!r} has shape {got}, the architecture's is {tuple(shape)}")


def model_from_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike = "checkpoint") -> ColorizationNet:
    """The model a checkpoint of :func:`read_checkpoint` holds, float32, in eval mode, on the CPU.

    The stored tensors' names and shapes are compared with the architecture before the model is built, so a
    configuration that does not match its weights (say a far wider model) allocates nothing.

    Raises :class:`CheckpointError` when the configuration names a model colorlab cannot build or the weights do
    not fit it (naming the first tensor that differs, with both shapes).
    """
    config = dict(checkpoint["model_config"])
    _check_shapes(checkpoint["model"], config, Path(path))
    model = build_model(**config)
    try:
        model.load_state_dict(checkpoint["model"], strict=True)
    except (RuntimeError, KeyError, TypeError) as error:
        lines = [line.strip() for line in str(error).strip().splitlines()]
        detail = " ".join(lines[1:3]) if len(lines) > 1 else str(error)
        raise CheckpointError(f"{str(path)!r}: the weights do not fit the architecture it names ({config['name']!r}, "
                              f"width {config.get('width')}): {detail[:300]}") from None
    return model.float().eval()


def load_checkpoint(path, map_location="cpu", *, architecture: str | None = None):
    """Load a checkpoint and rebuild its model.

    Args:
        path: a checkpoint written by :func:`colorlab.train.fit` (or its run folder), or a model file.
        map_location: where the tensors go (as in :func:`torch.load`); the model goes there too when it is a
            device (a name such as ``"cuda"`` or ``"auto"``, or a torch.device: :func:`colorlab.train.resolve_device`).
        architecture: if given (``"eccv16"``, ``"seed"``, ``"regression"``), the checkpoint must hold that model.

    Returns:
        ``(model, checkpoint)``: the model in eval mode with the stored weights, and the checkpoint dict (keys in
        the module docstring).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: ``map_location`` names no device, or one this machine does not have.
        CheckpointError: see :func:`read_checkpoint`; also a model other than ``architecture``, or weights that do
            not fit the model the file names.
    """
    path = checkpoint_file(path)
    if isinstance(map_location, (str, torch.device)):
        map_location = resolve_device(map_location, name="map_location")
    checkpoint = read_checkpoint(path, map_location)
    name = checkpoint["model_config"]["name"]
    if architecture is not None and name != architecture:
        raise CheckpointError(f"{str(path)!r} holds a {name!r} model (width {checkpoint['model_config'].get('width')}"
                              f"), not {architecture!r}")
    model = model_from_checkpoint(checkpoint, path)
    if isinstance(map_location, (str, torch.device)):
        model.to(map_location)
    return model, checkpoint


def model_checkpoint(model: ColorizationNet, *, step: int = 0, elapsed: float = 0.0,
                     train_config: dict | None = None, meta: dict | None = None, half: bool = False) -> dict:
    """The :data:`MODEL_KEYS` part of a checkpoint of ``model``, its tensors copied to the CPU (float16 when
    ``half``: half the size, loaded back into float32)."""
    def plain(v: torch.Tensor) -> torch.Tensor:
        return v.detach().to("cpu", torch.float16) if half and v.is_floating_point() else v.detach().to("cpu")

    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": dict(model.config),
        "model": {k: plain(v) for k, v in model.state_dict().items()},
        "step": int(step),
        "elapsed": float(elapsed),
        "train_config": None if train_config is None else dict(train_config),
        "meta": dict(meta or {}),
    }


def atomic_save(obj, path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (:func:`colorlab._atomic.atomic_write`: temporary file, fsync,
    rename): a crash at any moment leaves either the previous file or the new one, never a truncated file."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def rng_state(device: torch.device) -> dict[str, torch.Tensor | None]:
    """The torch random states a run uses: the CPU's, and ``device``'s when it is a CUDA device."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {"cpu": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, torch.Tensor | None], device: torch.device) -> None:
    """Restore what :func:`rng_state` returned (the CUDA state only on a CUDA device, when stored)."""
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"], device)
