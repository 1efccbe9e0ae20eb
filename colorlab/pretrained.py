"""The book's trained models: finding, loading, checking and saving colorlab checkpoints.

Two small models are committed with the repository under ``models/`` (each with a model card beside it):

* ``classification`` — :class:`colorlab.models.ECCV16` at a reduced width, trained with the rebalanced
  cross-entropy of the paper (section 2.1–2.2), file :data:`PRETRAINED_FILES` ``["classification"]``;
* ``regression`` — :class:`colorlab.models.RegressionNet`, the same backbone and width trained with an L2 loss
  on ab (the baseline of the paper's Table 1 and of the seed report).

A *pretrained file* is a dict saved with :func:`torch.save` that :func:`torch.load` reads with
``weights_only=True``::

    {"format": "colorlab.pretrained/1",      # PRETRAINED_FORMAT
     "config": {"name": "eccv16", "width": 0.25, "dilation": 2},   # build_model(**config)
     "state_dict": {...},                     # float16 tensors (half the size; loaded back into float32)
     "meta": {...}}                           # free-form: data, steps, metrics

:func:`load_model` also reads the training checkpoints written by :func:`colorlab.train.fit`, so any run folder's
checkpoint can be passed wherever a model file is expected. Every failure is a clear exception: a missing file
raises :class:`FileNotFoundError` saying how to get one; an unreadable, foreign or mismatched file raises
:class:`CheckpointError` (a :class:`ValueError`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ._atomic import atomic_write
from .models import ColorizationNet, build_model

__all__ = [
    "PRETRAINED_FILES",
    "PRETRAINED_FORMAT",
    "MODELS_DIR_ENV",
    "CheckpointError",
    "model_search_dirs",
    "pretrained_path",
    "load_pretrained",
    "load_model",
    "save_pretrained",
]

#: File name of each committed model, looked up in :func:`model_search_dirs`.
PRETRAINED_FILES = {"classification": "classification.pt", "regression": "regression.pt"}
#: Tag stored in every pretrained file, so that other ``.pt`` files are recognised as foreign.
PRETRAINED_FORMAT = "colorlab.pretrained/1"
#: Environment variable naming an extra folder to search for the pretrained files (searched first).
MODELS_DIR_ENV = "COLORLAB_MODELS_DIR"
#: What each kind's model must output (``ColorizationNet.output_kind``).
_OUTPUT_KIND = {"classification": "logits", "regression": "ab"}

#: How to get a missing model file; shown in the error message.
HOW_TO_GET = (
    "The committed models live in the models/ folder of the colorlab repository (a git checkout has them). "
    "Or train one (chapter 6, or `colorlab train --config configs/cpu.yaml`) and pass its checkpoint "
    "(checkpoint=PATH in Python, --checkpoint PATH on the command line), or set {env} to a folder holding {file}."
)


class CheckpointError(ValueError):
    """A file exists but is not a usable colorlab checkpoint (unreadable, foreign, or another architecture)."""


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


def _resolve_run_folder(path: Path) -> Path:
    """A training run folder stands for the checkpoint inside it."""
    if path.is_dir():
        from .train import CHECKPOINT_NAME

        return path / CHECKPOINT_NAME
    return path


def pretrained_path(kind: str = "classification", checkpoint: str | os.PathLike | None = None) -> Path:
    """Path of the model file for ``kind`` ("classification" or "regression"), or of ``checkpoint`` when given.

    Raises :class:`FileNotFoundError` with instructions when no such file exists.
    """
    _check_kind(kind)
    if checkpoint is not None:
        path = _resolve_run_folder(Path(checkpoint).expanduser())
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


def _read(path: Path) -> dict:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except IsADirectoryError as error:
        raise FileNotFoundError(f"checkpoint {str(path)!r} is a folder, not a file") from error
    except Exception as error:  # torch raises many kinds for a damaged or foreign file
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (damaged, truncated, or not "
                              f"saved by torch.save with plain tensors): {detail[:200]}") from error
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} is not a colorlab checkpoint: it holds a {type(obj).__name__}, not a dict")
    return obj


def _config_and_weights(obj: dict, path: Path) -> tuple[dict, dict]:
    """Find the model config and the state dict in a pretrained file or a training checkpoint."""
    if obj.get("format") == PRETRAINED_FORMAT:
        config, state = obj.get("config"), obj.get("state_dict")
    elif isinstance(obj.get("model"), dict) and isinstance(obj.get("model_config"), dict):
        config, state = obj["model_config"], obj["model"]  # a checkpoint of colorlab.train.fit
    elif obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds bare weights without the model's configuration; "
                              "save models with colorlab.pretrained.save_pretrained")
    else:
        raise CheckpointError(f"{path} is not a colorlab checkpoint (keys: {', '.join(map(str, list(obj)[:8]))})")
    if not isinstance(config, dict) or "name" not in config or not isinstance(state, dict):
        raise CheckpointError(f"{path} is a damaged colorlab checkpoint: its config or weights are missing")
    return config, state


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", kind: str | None = None) -> ColorizationNet:
    """Load a colorlab model from a pretrained file or a training checkpoint, in eval mode, float32.

    Args:
        path: a file written by :func:`save_pretrained`, a checkpoint of :func:`colorlab.train.fit`, or the
            run folder that holds one.
        device: where the model goes (``"cpu"``, ``"cuda"``, ...); the file is read on the CPU
            with ``weights_only=True``.
        kind: when given ("classification" or "regression"), the model must be of that kind.

    The model gets two attributes: ``checkpoint_path`` (the file read) and ``checkpoint_meta``: the ``meta`` dict
    of a pretrained file (data, steps, metrics), or ``{"steps", "elapsed"}`` of a training checkpoint.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is unreadable, not a colorlab checkpoint, of another kind, or its weights do not
            fit the architecture its config names.
    """
    if kind is not None:
        _check_kind(kind)
    path = _resolve_run_folder(Path(path).expanduser())
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    obj = _read(path)
    config, state = _config_and_weights(obj, path)
    try:
        model = build_model(**config)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path} names a model colorlab cannot build ({config}): {error}") from error
    if kind is not None and model.output_kind != _OUTPUT_KIND[kind]:
        other = next(k for k, v in _OUTPUT_KIND.items() if v == model.output_kind)
        raise CheckpointError(f"{path} holds a {other} model ({config['name']}), but a {kind} model is needed")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as error:
        first = str(error).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) if len(first) > 1 else str(error)
        raise CheckpointError(f"{path}: the weights do not fit the architecture {config} it names: "
                              f"{detail[:300]}") from error
    model.checkpoint_path = str(path)
    if obj.get("format") == PRETRAINED_FORMAT:
        model.checkpoint_meta = dict(obj.get("meta") or {})
    else:  # a training checkpoint: how far it got
        model.checkpoint_meta = {k: obj[k] for k in ("step", "elapsed") if isinstance(obj.get(k), (int, float))}
        if "step" in model.checkpoint_meta:
            model.checkpoint_meta["steps"] = model.checkpoint_meta.pop("step")
    return model.to(device).eval()


def load_pretrained(kind: str = "classification", checkpoint: str | os.PathLike | None = None,
                    device: str | torch.device = "cpu") -> ColorizationNet:
    """Load one of the book's trained models, in eval mode, float32, on ``device``.

    Args:
        kind: ``"classification"`` (ECCV16-style classifier over the ab bins) or ``"regression"`` (the L2
            baseline).
        checkpoint: a file to load instead of the committed one (a pretrained file or a training checkpoint).
        device: target device.

    Raises:
        FileNotFoundError: no file for ``kind`` was found; the message says how to get one.
        CheckpointError: the file is not a usable checkpoint of that kind.
    """
    return load_model(pretrained_path(kind, checkpoint), device=device, kind=kind)


def save_pretrained(model: ColorizationNet, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write ``model`` as a pretrained file: float16 state dict, its config, and ``meta``.

    The file is written to a temporary file in the same folder and renamed, so a crash never leaves half a file.
    ``meta`` must hold only what ``torch.load(weights_only=True)`` reads: numbers, strings, lists, dicts.
    Returns the path.
    """
    if not isinstance(model, ColorizationNet):
        raise TypeError(f"model must be a colorlab ColorizationNet; got {type(model).__name__}")
    state = {k: (v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.detach().to("cpu"))
             for k, v in model.state_dict().items()}
    obj = {"format": PRETRAINED_FORMAT, "config": dict(model.config), "state_dict": state, "meta": dict(meta or {})}
    return atomic_write(path, lambda f: torch.save(obj, f))
