"""Training: one configuration, one loop, checkpoints that resume exactly (paper §3.1, "Training").

:class:`TrainConfig` names every knob of a run; the same names are the parameters of the training chapter
(papermill ``-p name value`` / ``-f configs/X.yaml``) and the flags of ``colorlab train``. :func:`fit` runs it and
fills a run folder::

    run_dir/
      config.yaml      the configuration of the latest start (plain YAML, loadable by TrainConfig.from_yaml)
      log.jsonl        one JSON object per logged step: step, epoch, loss, lr, images_per_s, time
      checkpoint.pt    the latest checkpoint (written atomically), see :func:`load_checkpoint`

The defaults of :class:`TrainConfig` are the paper's ImageNet run (Zhang, Isola & Efros 2016, §3.1 and the
authors' released solver): Adam with β = (0.9, 0.99) and weight decay 1e-3 (on biases too; see
:func:`adam_weight_decay` for its scale), learning rate 3e-5 divided by 3 after 200k and 375k iterations (the
paper writes 3e-5 → 1e-5 → 3e-6), about 450k iterations of batch 40 on 176 × 176 crops. Small CPU presets live
in ``configs/``.

Data flow (loader workers only decode and crop): uint8 crops (B, 3, S, S) → the training device →
:func:`colorlab.loss.prepare_batch` (Lab, normalised L, sparse soft targets, rebalancing weights; in float32,
outside autocast) → the model (under bf16/fp16 autocast on CUDA when ``amp`` is on) → the loss in float32.

Reproducibility: the model is initialised from ``seed``; the order of the training images comes from a
:class:`~torch.utils.data.DistributedSampler` seeded with ``seed`` and the epoch, and every crop and flip is
drawn from a generator seeded by (seed, epoch, index) (:meth:`colorlab.data.ImageFolder.item_rng`), so a run
does not depend on the number of loader workers, and a resumed run skips exactly the batches already consumed.
On CPU a resumed run ends with the same weights, bit for bit, as an uninterrupted one.

Several GPUs or machines: start the same command with ``torchrun`` (e.g. ``torchrun --nproc_per_node=8 -m
colorlab.cli train --config configs/gpu.yaml ...``). When ``WORLD_SIZE`` > 1, :func:`fit` joins the process group
(NCCL on CUDA, Gloo on CPU), wraps the model in :class:`~torch.nn.parallel.DistributedDataParallel` and splits
each batch of ``batch_size`` images evenly between the processes; only rank 0 writes the log, the configuration
and the checkpoints. On CUDA, BatchNorm becomes :class:`~torch.nn.SyncBatchNorm`, so its statistics cover the
whole batch as in the paper's single-GPU run; on CPU (Gloo) each process normalises its own share.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import json
import math
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .bins import NUM_BINS
from .encode import SIGMA, SOFT_K
from .prior import LAMBDA

# ----------------------------------------------------------------------------------------------------------
# Constants (paper §3.1 and the authors' released solver.prototxt)
# ----------------------------------------------------------------------------------------------------------

#: Adam learning rate of the paper's ImageNet run.
PAPER_LR = 3e-5
#: Iterations after which the learning rate is multiplied by :data:`PAPER_LR_DECAY` (paper: 1e-5 at 200k,
#: 3e-6 at 375k).
PAPER_LR_DECAY_STEPS = (200_000, 375_000)
#: Factor of each step decay (3e-5 → 1e-5 → 3.3e-6; the paper rounds the last value to 3e-6).
PAPER_LR_DECAY = 1 / 3
#: Length of the paper's run in iterations ("~450k").
PAPER_STEPS = 450_000
#: Images per iteration and side of the square training crops in the paper.
PAPER_BATCH_SIZE = 40
PAPER_IMAGE_SIZE = 176
#: Adam's (β1, β2) and the weight decay of the released solver (applied to biases too).
PAPER_BETAS = (0.9, 0.99)
PAPER_WEIGHT_DECAY = 1e-3

#: Values accepted by :attr:`TrainConfig.model` (see :func:`colorlab.models.build_model`).
MODEL_NAMES = ("eccv16", "seed", "regression")
#: Values accepted by :attr:`TrainConfig.prior`.
PRIOR_KINDS = ("imagenet", "empirical")
#: Values accepted by :attr:`TrainConfig.amp` (True means "bf16", False means "off").
AMP_MODES = ("bf16", "fp16", "off")

#: File names inside a run folder.
CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.jsonl"
CONFIG_NAME = "config.yaml"
#: Marks a file as a colorlab training checkpoint, and the version of its layout.
CHECKPOINT_FORMAT = "colorlab-checkpoint"
CHECKPOINT_VERSION = 1
#: Parent folder of runs whose ``run_dir`` is None.
DEFAULT_RUNS_DIR = "runs"


# ----------------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------------


def _as_int(name: str, value, minimum: int | None = None, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        kind = "an int or None" if optional else "an int"
        raise ValueError(f"{name} must be {kind}; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value!r}")
    return int(value)


def _as_float(name: str, value, low: float | None = None, high: float | None = None, *, low_open=False,
              high_open=False) -> float:
    # YAML 1.1 (PyYAML, papermill -f) reads "3e-5" as a string: accept numeric strings.
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}; got {value!r}")
    return value


def _as_bool(name: str, value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{name} must be True or False; got {value!r}")


def _as_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return value


def _as_path(name: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a path (str) or None; got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Frozen; build a changed copy with :meth:`replace`.

    The defaults are the paper's ImageNet run (see the module docstring). Every field is also a parameter of the
    training chapter and a flag of ``colorlab train`` (``batch_size`` → ``--batch-size``). Values are checked
    and normalised on construction (lists become tuples, numeric strings from YAML become numbers); a bad value
    raises ``ValueError`` naming the field.

    Attributes:
        data_dir: folder of training images (searched recursively, see :class:`colorlab.data.ImageFolder`);
            None trains on the photos embedded in the dependencies (:class:`colorlab.data.SamplePhotos`).
        model: ``"eccv16"`` (the paper's classifier), ``"seed"`` (the seed report's variant) or ``"regression"``
            (the L2 baseline; ``lam``, ``k``, ``sigma`` and ``prior`` do not apply to it).
        width: channel width multiplier of the network (1.0 is the paper's 32.2 M-parameter network).
        image_size: side of the square training crops in pixels, a multiple of 8 (paper: 176).
        batch_size: images per optimisation step, over all processes (paper: 40). Under ``torchrun`` each of
            the N processes takes ``batch_size / N`` of them, so the optimisation does not depend on N.
        steps: optimisation steps to run in total, counted from the start of the run (a resumed run continues
            up to this number). None: no limit by steps.
        epochs: passes over the training images; None: no limit by epochs. The run stops at whichever limit
            comes first; at least one must be set. An epoch has ``len(train images) // batch_size`` steps.
        lr: Adam learning rate at step 0 (paper: 3e-5).
        lr_decay_steps: steps after which the learning rate is multiplied by ``lr_decay`` (paper: 200k, 375k).
        lr_decay: factor of each decay, in (0, 1] (paper: 1/3).
        weight_decay: L2 penalty on every weight and bias, in the released solver's units (1e-3 there). The
            solver's loss is a sum over the (image_size/4)² output pixels, colorlab's a mean over them (see
            :mod:`colorlab.loss`), so Adam gets ``weight_decay / (image_size/4)²``
            (:func:`adam_weight_decay`): the same balance of loss and penalty as the paper's run.
        betas: Adam's (β1, β2) (released solver: (0.9, 0.99)).
        lam: λ of the class rebalancing, in [0, 1] (paper §2.2: 0.5; 1 means no rebalancing).
        k: nearest bins of each pixel's soft target (paper: 5; released code: 10).
        sigma: Gaussian σ of the soft targets, in ab units (paper: 5).
        prior: ``"imagenet"`` (the authors' prior shipped with colorlab) or ``"empirical"`` (estimated from up
            to ``prior_images`` training images with :func:`colorlab.prior.empirical_prior` before training
            starts; stored in the checkpoint).
        prior_images: how many training images the empirical prior is estimated from.
        holdout: photos kept out of training for validation and the chapter's figures: a fraction in [0, 1)
            of the images (chosen with ``seed``), or a list of names — sample photo names when ``data_dir`` is
            None, else file paths relative to ``data_dir``.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        amp: autocast of the forward pass on CUDA: ``"bf16"`` (True), ``"fp16"`` (with a gradient scaler) or
            ``"off"`` (False). Ignored on CPU, which always trains in float32.
        compile: run the model through ``torch.compile`` (worth it for long GPU runs only).
        channels_last: keep activations in the channels-last memory format on CUDA (faster tensor-core
            convolutions). Ignored on CPU.
        workers: DataLoader worker processes that decode and crop images (0: in the main process).
        checkpoint_every: write the checkpoint every this many steps (and always at the end).
        log_every: append a line to ``log.jsonl`` every this many steps (and at the end); the loss and
            throughput of a line are averages over the steps since the previous line.
        run_dir: the run folder; None makes a new one, ``runs/<model>-<UTC date-time>``.
        resume: continue from ``run_dir/checkpoint.pt`` when it exists (else start afresh). Without it a
            ``run_dir`` that already holds a checkpoint is refused, so a finished run is never overwritten.
        seed: seed of the initialisation, the data order and the crops (a non-negative int).
    """

    data_dir: str | None = None
    model: str = "eccv16"
    width: float = 1.0
    image_size: int = PAPER_IMAGE_SIZE
    batch_size: int = PAPER_BATCH_SIZE
    steps: int | None = PAPER_STEPS
    epochs: int | None = None
    lr: float = PAPER_LR
    lr_decay_steps: tuple[int, ...] = PAPER_LR_DECAY_STEPS
    lr_decay: float = PAPER_LR_DECAY
    weight_decay: float = PAPER_WEIGHT_DECAY
    betas: tuple[float, float] = PAPER_BETAS
    lam: float = LAMBDA
    k: int = SOFT_K
    sigma: float = SIGMA
    prior: str = "imagenet"
    prior_images: int = 1000
    holdout: float | tuple[str, ...] = 0.0
    device: str = "auto"
    amp: str = "bf16"
    compile: bool = False
    channels_last: bool = True
    workers: int = 8
    checkpoint_every: int = 5000
    log_every: int = 100
    run_dir: str | None = None
    resume: bool = False
    seed: int = 0

    def __post_init__(self):
        values = {
            "data_dir": _as_path("data_dir", self.data_dir),
            "model": _as_choice("model", self.model, MODEL_NAMES),
            "width": _as_float("width", self.width, 0.0, low_open=True),
            "image_size": _as_int("image_size", self.image_size, 8),
            "batch_size": _as_int("batch_size", self.batch_size, 1),
            "steps": _as_int("steps", self.steps, 1, optional=True),
            "epochs": _as_int("epochs", self.epochs, 1, optional=True),
            "lr": _as_float("lr", self.lr, 0.0, low_open=True),
            "lr_decay_steps": self._decay_steps(),
            "lr_decay": _as_float("lr_decay", self.lr_decay, 0.0, 1.0, low_open=True),
            "weight_decay": _as_float("weight_decay", self.weight_decay, 0.0),
            "betas": self._betas(),
            "lam": _as_float("lam", self.lam, 0.0, 1.0),
            "k": _as_int("k", self.k, 1),
            "sigma": _as_float("sigma", self.sigma, 0.0, low_open=True),
            "prior": _as_choice("prior", self.prior, PRIOR_KINDS),
            "prior_images": _as_int("prior_images", self.prior_images, 1),
            "holdout": self._holdout(),
            "device": self._device(),
            "amp": self._amp(),
            "compile": _as_bool("compile", self.compile),
            "channels_last": _as_bool("channels_last", self.channels_last),
            "workers": _as_int("workers", self.workers, 0),
            "checkpoint_every": _as_int("checkpoint_every", self.checkpoint_every, 1),
            "log_every": _as_int("log_every", self.log_every, 1),
            "run_dir": _as_path("run_dir", self.run_dir),
            "resume": _as_bool("resume", self.resume),
            "seed": _as_int("seed", self.seed, 0),
        }
        if values["image_size"] % 8:
            raise ValueError(f"image_size must be a multiple of 8 (the network's stride); got {self.image_size!r}")
        if values["k"] > NUM_BINS:
            raise ValueError(f"k must be at most the number of bins, {NUM_BINS}; got {self.k!r}")
        if values["steps"] is None and values["epochs"] is None:
            raise ValueError("steps and epochs are both None: set at least one of them")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _decay_steps(self) -> tuple[int, ...]:
        value = self.lr_decay_steps
        if value is None:
            return ()
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = (value,)
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"lr_decay_steps must be a list of step numbers; got {value!r}")
        steps = tuple(_as_int("lr_decay_steps", v, 1) for v in value)
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(f"lr_decay_steps must be increasing; got {list(steps)}")
        return steps

    def _betas(self) -> tuple[float, float]:
        value = self.betas
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"betas must be two numbers (beta1, beta2) in [0, 1); got {value!r}")
        return tuple(_as_float("betas", v, 0.0, 1.0, high_open=True) for v in value)

    def _holdout(self) -> float | tuple[str, ...]:
        value = self.holdout
        if isinstance(value, (list, tuple)):
            if not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"holdout must be a fraction in [0, 1) or a list of names; got {value!r}")
            return tuple(value)
        if value is None:
            return 0.0
        return _as_float("holdout", value, 0.0, 1.0, high_open=True)

    def _device(self) -> str:
        value = self.device
        if isinstance(value, torch.device):
            value = str(value)
        ok = isinstance(value, str) and (
            value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())
        )
        if not ok:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {value!r}")
        return value

    def _amp(self) -> str:
        value = self.amp
        if value is True:
            return "bf16"
        if value is False or value is None:
            return "off"
        return _as_choice("amp", value, AMP_MODES)

    # -- construction and export ----------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of the fields, in order (the chapter's parameters and the CLI's flags)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: dict[str, Any], **overrides) -> TrainConfig:
        """Build from a mapping (e.g. parsed YAML), then ``overrides``; unknown names raise ``ValueError``."""
        if not isinstance(values, dict):
            raise ValueError(f"a configuration must be a mapping of field names to values; got {type(values).__name__}")
        merged = {**values, **overrides}
        unknown = sorted(set(merged) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown configuration field(s) {', '.join(unknown)}; known: {', '.join(cls.field_names())}")
        return cls(**merged)

    @classmethod
    def from_yaml(cls, path, **overrides) -> TrainConfig:
        """Read a YAML file of ``name: value`` lines (the format of ``configs/*.yaml``, which papermill's ``-f``
        reads too), then apply ``overrides``. Fields missing from the file keep their defaults."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {str(path)!r}")
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ValueError(f"config file {str(path)!r} is not valid YAML: {error}") from None
        return cls.from_dict({} if values is None else values, **overrides)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied (validated again)."""
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            raise ValueError(f"unknown configuration field(s) {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (tuples as lists) in field order: YAML-, JSON- and ``weights_only``-safe."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((f, getattr(self, f)) for f in self.field_names())
        }

    def to_yaml(self, path) -> None:
        """Write :meth:`to_dict` as YAML to ``path``."""
        import yaml

        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")


def format_config(config: TrainConfig, reference: TrainConfig | None = None, names: tuple[str, ...] | None = None,
                  headers: tuple[str, str] = ("this run", "reference")) -> str:
    """A plain-text table of ``config``'s fields (``names``, default all), one per line; with ``reference``, a
    second column of its values and a ``*`` on the lines where the two differ.

    >>> print(format_config(TrainConfig(steps=10), TrainConfig(), names=("model", "steps")))
    field  this run  reference
    model  'eccv16'  'eccv16'
    steps  10        450000     *
    """
    names = TrainConfig.field_names() if names is None else names
    rows = [("field", headers[0], headers[1] if reference is not None else "")]
    for name in names:
        value = getattr(config, name)
        other = getattr(reference, name) if reference is not None else None
        mark = "*" if reference is not None and value != other else ""
        rows.append((name, repr(value), repr(other) if reference is not None else "", mark))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)] + ([row[3]] if len(row) > 3 else [])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Devices and processes
# ----------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Processes:
    """Where this process stands in a (possibly single-process) run."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    owns_group: bool = False  # this fit() started the process group and must end it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"`` → ``cuda:<local_rank>`` when CUDA is available, else ``cpu``; ``"cuda"`` → ``cuda:<local_rank>``.

    Raises ``ValueError`` for a CUDA device on a machine without CUDA.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device is {device!r} but CUDA is not available here; use device='cpu' or 'auto'")
        return torch.device(f"cuda:{local_rank}") if device == "cuda" else torch.device(device)
    return torch.device(device)


def _start_processes(config: TrainConfig) -> tuple[_Processes, torch.device]:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Processes(), resolve_device(config.device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(config.device, local_rank)
    owns = not dist.is_initialized()
    if owns:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return _Processes(world_size, rank, local_rank, owns), device


def _broadcast_object(value, procs: _Processes):
    if not procs.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


# ----------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------


def _split_names(names: list[str], holdout, seed: int, what: str) -> tuple[list[str], list[str]]:
    """Split ``names`` into (train, held out) by a fraction (seeded) or a list of names."""
    if isinstance(holdout, tuple):
        unknown = [n for n in holdout if n not in set(names)]
        if unknown:
            shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
            raise ValueError(f"holdout: {unknown} are not {what}; choose from {shown}")
        held = [n for n in names if n in set(holdout)]
    else:
        count = int(round(holdout * len(names)))
        if holdout > 0:
            count = max(count, 1)
        order = np.random.default_rng(np.random.SeedSequence([seed, len(names)])).permutation(len(names))
        held = [names[i] for i in sorted(order[:count])]
    train = [n for n in names if n not in set(held)]
    if not train:
        raise ValueError(f"holdout keeps all {len(names)} images aside: nothing left to train on")
    return train, held


def build_datasets(config: TrainConfig):
    """The training set and the held-out set of ``config`` (the held-out set is None when nothing is held out).

    Training items are random resized crops with flips; held-out items are central crops. Both give uint8
    tensors (3, image_size, image_size). See :class:`colorlab.data.SamplePhotos` and
    :class:`colorlab.data.ImageFolder`.
    """
    from . import data

    size, seed = config.image_size, config.seed
    if config.data_dir is None:
        from .samples import SAMPLE_NAMES

        train_names, held = _split_names(list(SAMPLE_NAMES), config.holdout, seed, "sample photo names")
        train = data.SamplePhotos(crop=size, train=True, names=train_names, seed=seed)
        holdout = data.SamplePhotos(crop=size, train=False, names=held, seed=seed) if held else None
        return train, holdout
    root = Path(config.data_dir)
    folder = data.ImageFolder(root, crop=size, train=True, seed=seed)
    if not (isinstance(config.holdout, tuple) or config.holdout > 0):
        return folder, None
    # Split the list of all image files (as holdout_photos does), then keep the readable ones.
    names = [p.relative_to(root).as_posix() for p in data.list_images(root)]
    train_names, held = _split_names(names, config.holdout, seed, f"image files under {str(root)!r}")
    position = {p.relative_to(root).as_posix(): i for i, p in enumerate(folder.paths)}
    train_names = [n for n in train_names if n in position]
    held = [n for n in held if n in position]
    if not train_names:
        raise ValueError(f"holdout: no readable image under {str(root)!r} is left to train on")
    evaluation = copy.copy(folder)  # the same files (checked once) and the same record of failed decodes
    evaluation.train = False
    return (
        torch.utils.data.Subset(folder, [position[n] for n in train_names]),
        torch.utils.data.Subset(evaluation, [position[n] for n in held]),
    )


def holdout_photos(config: TrainConfig, limit: int | None = None) -> dict[str, np.ndarray]:
    """The held-out photos of ``config`` as whole images: ``{name: uint8 (H, W, 3)}``, at most ``limit`` of them.

    Names are sample photo names, or paths relative to ``data_dir``. Empty when nothing is held out.
    """
    if config.data_dir is None:
        from .samples import SAMPLE_NAMES, sample_photo

        _, held = _split_names(list(SAMPLE_NAMES), config.holdout, config.seed, "sample photo names")
        return {name: sample_photo(name) for name in held[:limit]}
    from .data import list_images, load_rgb

    root = Path(config.data_dir)
    names = [p.relative_to(root).as_posix() for p in list_images(root)]
    _, held = _split_names(names, config.holdout, config.seed, f"image files under {str(root)!r}")
    return {name: load_rgb(root / name) for name in held[:limit]}


def _base_dataset(dataset):
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset


class ResumableSampler(torch.utils.data.DistributedSampler):
    """:class:`~torch.utils.data.DistributedSampler` (shuffled with ``seed`` and the epoch, ``drop_last``) that
    can start part-way through an epoch: :meth:`set_position` ``(epoch, start)`` skips this process's first
    ``start`` samples of that epoch. Works in single-process runs too (``num_replicas=1``)."""

    def __init__(self, dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.start = 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        return iter(list(super().__iter__())[self.start:])

    def __len__(self) -> int:
        return max(self.num_samples - self.start, 0)


# ----------------------------------------------------------------------------------------------------------
# Checkpoints and the log
# ----------------------------------------------------------------------------------------------------------


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_save(obj, path) -> None:
    """``torch.save(obj)`` to ``path`` atomically: a temporary file in the same folder, fsync, ``os.replace``.

    A crash at any moment leaves either the previous file or the new one, never a truncated file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(path.parent)


def _rng_state() -> dict[str, Any]:
    """The global random states as plain values and tensors (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
    }
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _read_checkpoint(path, map_location="cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path {str(path)!r} is a folder; give the .pt file inside it")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # pickle/zip errors of every kind: the file is not a torch checkpoint
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Weights only load failed" in reason:
            reason = "it holds Python objects that weights_only loading refuses"
        raise ValueError(f"{str(path)!r} is not a colorlab checkpoint (torch.load failed: {reason})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{str(path)!r} is not a colorlab checkpoint (no {CHECKPOINT_FORMAT!r} marker)")
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"{str(path)!r} has checkpoint layout version {checkpoint.get('version')!r}; this colorlab reads "
            f"version {CHECKPOINT_VERSION}"
        )
    return checkpoint


def load_checkpoint(path, map_location="cpu", *, architecture: str | None = None):
    """Load a training checkpoint and rebuild its model.

    Args:
        path: a ``checkpoint.pt`` written by :func:`fit` (a run folder is accepted too).
        map_location: where the tensors go (as in :func:`torch.load`, which runs with ``weights_only=True``).
        architecture: if given (``"eccv16"``, ``"seed"``, ``"regression"``), the checkpoint must hold that model.

    Returns:
        ``(model, checkpoint)``: the model in eval mode with the stored weights, on ``map_location`` when that
        is a device (else CPU), and the checkpoint dict (keys ``model``, ``model_config``, ``optimizer``,
        ``scheduler``, ``scaler``, ``step``, ``epoch``, ``batch_in_epoch``, ``rng``, ``config``,
        ``class_weights``, ``prior``, ``elapsed``, ``format``, ``version``, ``torch_version``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a colorlab checkpoint, holds another architecture than ``architecture``, or
            its weights do not fit the model its configuration describes.
    """
    from .models import build_model

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    checkpoint = _read_checkpoint(path, map_location)
    model_config = dict(checkpoint["model_config"])
    if architecture is not None and model_config.get("name") != architecture:
        raise ValueError(
            f"{str(path)!r} holds a {model_config.get('name')!r} model (width {model_config.get('width')}), "
            f"not {architecture!r}"
        )
    model = build_model(**model_config)
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError as error:
        first = str(error).strip().splitlines()[:3]
        raise ValueError(
            f"{str(path)!r}: the stored weights do not fit a {model_config.get('name')!r} model of width "
            f"{model_config.get('width')}: {' '.join(line.strip() for line in first)}"
        ) from None
    if isinstance(map_location, (str, torch.device)):
        model.to(map_location)
    model.eval()
    return model, checkpoint


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    model = getattr(model, "_orig_mod", model)  # torch.compile
    return getattr(model, "module", model)  # DistributedDataParallel


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


def read_log(run_dir) -> list[dict[str, Any]]:
    """The records of ``run_dir/log.jsonl`` (a run folder or the log file itself), in order.

    Each is a dict with ``step``, ``epoch``, ``loss``, ``lr``, ``images_per_s`` and ``time`` (see :func:`fit`).
    The file may be read while the run writes it.
    """
    path = Path(run_dir)
    if path.is_dir():
        path = path / LOG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"training log not found: {str(path)!r}")
    with open(path, encoding="utf-8") as f:
        return _parse_log(f.readlines(), path)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines after ``step`` (written after the checkpoint a run resumes from)."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as f:
        kept = [json.dumps(r) + "\n" for r in _parse_log(f.readlines(), path) if r["step"] <= step]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------------------


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the run stopped without writing a checkpoint."""


class TrainingInterrupted(KeyboardInterrupt):
    """The run was asked to stop (Ctrl-C, a kernel interrupt, SIGTERM) and stopped after a whole step, with a
    checkpoint of that step: it resumes exactly with ``resume=True``."""


class _StopRequest:
    """While active, SIGINT and SIGTERM only record a request to stop, which the loop honours after the current
    step (a second signal stops at once). Signals can be caught only in the main thread; elsewhere nothing
    changes."""

    SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)

    def __init__(self):
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame):
        if self.requested is not None:
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            raise KeyboardInterrupt
        self.requested = signum

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()


def _new_run_dir(config: TrainConfig) -> Path:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(DEFAULT_RUNS_DIR) / f"{config.model}-{stamp}"
    path, n = base, 1
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    return path


def _class_weights(config: TrainConfig, train_set, procs: _Processes) -> tuple[torch.Tensor, torch.Tensor]:
    """(prior, rebalancing weights), float64 (NUM_BINS,), on CPU; identical in every process."""
    from . import prior as prior_module

    if config.prior == "imagenet":
        p = torch.as_tensor(prior_module.imagenet_prior(), dtype=torch.float64)
    else:
        if procs.is_main:
            p = torch.as_tensor(_estimate_prior(config, train_set), dtype=torch.float64)
        else:
            p = torch.zeros(NUM_BINS, dtype=torch.float64)
        if procs.distributed:
            dist.broadcast(p, src=0)
    w = torch.as_tensor(prior_module.rebalance_weights(p, config.lam), dtype=torch.float64)
    return p, w


def _estimate_prior(config: TrainConfig, train_set):
    """The empirical prior of up to ``prior_images`` training crops (a seeded choice), streamed in batches."""
    from .prior import empirical_prior

    count = min(config.prior_images, len(train_set))
    order = np.random.default_rng(np.random.SeedSequence([config.seed, 0x9F10])).permutation(len(train_set))
    subset = torch.utils.data.Subset(train_set, sorted(order[:count].tolist()))
    loader = torch.utils.data.DataLoader(subset, batch_size=max(config.batch_size, 16), num_workers=config.workers)
    return empirical_prior((rgb for rgb in loader), sigma=config.sigma)


def _loss(model: torch.nn.Module, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    from . import loss as loss_module

    out = out.float()
    if _unwrap(model).output_kind == "ab":
        return loss_module.regression_loss(out, batch["ab_quarter"], batch["pixel_w"])
    return loss_module.rebalanced_cross_entropy(out, batch["index"], batch["weight"], batch["pixel_w"])


def adam_weight_decay(config: TrainConfig) -> float:
    """The ``weight_decay`` handed to :class:`torch.optim.Adam`: ``config.weight_decay`` divided by the number
    of output pixels per image, (image_size / 4)².

    The authors' Caffe loss sums over output pixels (and divides by the batch size); colorlab's is the mean over
    them, so its gradients are (image_size / 4)² times smaller. Adam normalises the gradient's scale away, but
    not the ratio of loss gradient to L2 penalty: dividing the penalty by the same factor keeps the paper's
    ratio (1e-3 / 44² ≈ 5.2e-7 at 176² crops).

    >>> round(adam_weight_decay(TrainConfig()), 10)
    5.165e-07
    """
    return config.weight_decay / (config.image_size // 4) ** 2


def fit(config: TrainConfig) -> Path:
    """Train as ``config`` says and return the run folder (see the module docstring for its contents).

    Writes ``log.jsonl`` every ``log_every`` steps and ``checkpoint.pt`` every ``checkpoint_every`` steps and at
    the end. With ``resume=True`` a run continues from its checkpoint exactly where it stopped (model, Adam,
    learning-rate schedule, gradient scaler, random states, position in the epoch); log lines written after
    that checkpoint are dropped. Under ``torchrun`` (``WORLD_SIZE`` > 1) see the module docstring.

    Raises:
        ValueError: a bad configuration (e.g. ``run_dir`` already holds a checkpoint and ``resume`` is False,
            or the training set has fewer images than ``batch_size``), or a checkpoint that does not belong to
            this configuration's model.
        NonFiniteLossError: the loss became NaN or infinite; the message names the step. The checkpoint of
            the last good step is left as it was.
        TrainingInterrupted: SIGINT (Ctrl-C, a notebook's interrupt) or SIGTERM (e.g. a cluster's preemption)
            arrived; the run finished its step, wrote its log line and checkpoint, and stopped. Under torchrun all
            processes stop after the same step. A second signal stops at once, without a checkpoint.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    procs, device = _start_processes(config)
    try:
        return _fit(config, procs, device)
    finally:
        if procs.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def _fit(config: TrainConfig, procs: _Processes, device: torch.device) -> Path:
    from .loss import prepare_batch
    from .models import build_model

    # -- the run folder and what it already holds --------------------------------------------------------------
    run_dir = Path(config.run_dir) if config.run_dir is not None else _broadcast_object(_new_run_dir(config), procs)
    checkpoint_path, log_path = run_dir / CHECKPOINT_NAME, run_dir / LOG_NAME
    checkpoint = None
    if checkpoint_path.exists():
        if not config.resume:
            raise ValueError(
                f"run_dir {str(run_dir)!r} already holds a checkpoint: continue it with resume=True (--resume), or "
                f"choose another run_dir"
            )
        checkpoint = _read_checkpoint(checkpoint_path)
        stored = checkpoint["config"]
        for name in ("model", "width"):
            if stored[name] != getattr(config, name):
                raise ValueError(
                    f"cannot resume {str(checkpoint_path)!r}: it was trained with {name}={stored[name]!r}, the "
                    f"configuration says {name}={getattr(config, name)!r}"
                )
    if procs.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.replace(run_dir=str(run_dir)).to_yaml(run_dir / CONFIG_NAME)

    # -- data ---------------------------------------------------------------------------------------------
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    train_set, _ = build_datasets(config)
    if config.batch_size % procs.world_size:
        raise ValueError(
            f"batch_size ({config.batch_size}) must be divisible by the number of processes ({procs.world_size})"
        )
    local_batch = config.batch_size // procs.world_size
    sampler = ResumableSampler(train_set, procs.world_size, procs.rank, seed=config.seed)
    steps_per_epoch = sampler.num_samples // local_batch
    if steps_per_epoch == 0:
        raise ValueError(
            f"the training set has {len(train_set)} images, fewer than one batch of batch_size={config.batch_size}"
            f"{f' over {procs.world_size} processes' if procs.distributed else ''}: lower batch_size or add images"
        )
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=local_batch, sampler=sampler, num_workers=config.workers, drop_last=True,
        pin_memory=device.type == "cuda", persistent_workers=False,
    )
    limits = [n for n in (config.steps, None if config.epochs is None else config.epochs * steps_per_epoch) if n]
    total_steps = min(limits)

    # -- model, optimiser, schedule ---------------------------------------------------------------------------
    model = build_model(config.model, config.width).to(device)
    cuda = device.type == "cuda"
    if cuda and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas,
                                 weight_decay=adam_weight_decay(config))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.lr_decay_steps), config.lr_decay)
    amp = config.amp if cuda else "off"
    scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)

    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        stored = checkpoint["config"]
        if (stored["lr"], list(stored["lr_decay_steps"]), stored["lr_decay"]) != (
            config.lr, list(config.lr_decay_steps), config.lr_decay
        ):  # a changed schedule wins over the stored one, from the step the run resumes at
            _reschedule(optimizer, scheduler, config, checkpoint["step"])
        if scaler is not None and checkpoint.get("scaler") is not None:
            scaler.load_state_dict(checkpoint["scaler"])
        prior = checkpoint["prior"]
        class_weights = checkpoint["class_weights"]
        step, epoch, batch_in_epoch = checkpoint["step"], checkpoint["epoch"], checkpoint["batch_in_epoch"]
        elapsed_before = float(checkpoint["elapsed"])
        _set_rng_state(checkpoint["rng"])
    else:
        if model.output_kind == "ab":
            prior = class_weights = None
        else:
            prior, class_weights = _class_weights(config, train_set, procs)
        step, epoch, batch_in_epoch, elapsed_before = 0, 0, 0, 0.0
    if procs.is_main:
        _truncate_log(log_path, step)  # lines of steps after the checkpoint (or of a run that never saved one)
    device_weights = None if class_weights is None else class_weights.to(device, torch.float32)

    train_model: torch.nn.Module = model
    if procs.distributed:
        if cuda:  # BatchNorm statistics over the whole batch_size, as in a single-GPU run (CUDA only in PyTorch)
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    if config.compile:
        train_model = torch.compile(train_model)
    train_model.train()

    def save(at_step: int) -> None:
        if not procs.is_main:
            return
        atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
                "version": CHECKPOINT_VERSION,
                "torch_version": str(torch.__version__),
                "model": model.state_dict(),
                "model_config": dict(model.config),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": None if scaler is None else scaler.state_dict(),
                "step": at_step,
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "rng": _rng_state(),
                "config": config.replace(run_dir=str(run_dir)).to_dict(),
                "prior": prior,
                "class_weights": class_weights,
                "elapsed": elapsed(),
            },
            checkpoint_path,
        )

    # -- the loop -----------------------------------------------------------------------------------------------
    from tqdm.auto import tqdm

    base = _base_dataset(train_set)
    total_epochs = math.ceil(total_steps / steps_per_epoch)
    quiet = not procs.is_main
    epoch_bar = tqdm(total=total_epochs, initial=min(epoch, total_epochs), desc="epochs", unit="epoch",
                     disable=quiet, position=0)
    step_bar = tqdm(total=steps_per_epoch, desc="steps", unit="step", disable=quiet, position=1, leave=False)
    log_file = open(log_path, "a", encoding="utf-8") if procs.is_main else None
    window_loss = torch.zeros((), dtype=torch.float64, device=device)
    window_steps = 0
    window_start = segment_start = time.perf_counter()

    def elapsed() -> float:
        """Seconds of training so far, over every segment of a resumed run."""
        return elapsed_before + time.perf_counter() - segment_start

    stop = _StopRequest().__enter__()
    try:
        while step < total_steps:
            if hasattr(base, "set_epoch"):
                base.set_epoch(epoch)
            sampler.set_position(epoch, batch_in_epoch * local_batch)
            step_bar.reset(total=steps_per_epoch)
            step_bar.update(batch_in_epoch)
            for rgb in loader:
                rgb = rgb.to(device, non_blocking=True)
                batch = prepare_batch(rgb, k=config.k, sigma=config.sigma, class_weights=device_weights)
                l_norm = batch["l_norm"]
                if cuda and config.channels_last:
                    l_norm = l_norm.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                    out = train_model(l_norm)
                loss = _loss(model, out, batch)
                # the loss and whether any process was asked to stop, summed over the processes
                checked = torch.stack([loss.detach().to(torch.float64),
                                       torch.tensor(float(stop.requested is not None), dtype=torch.float64,
                                                    device=device)])
                if procs.distributed:
                    dist.all_reduce(checked)
                stopping = bool(checked[1] > 0)
                checked = checked[0] / procs.world_size
                if not torch.isfinite(checked):
                    last = f"the checkpoint of step {_stored_step(checkpoint_path)} in {str(checkpoint_path)!r} is " \
                           "intact" if checkpoint_path.exists() else "no checkpoint was written"
                    raise NonFiniteLossError(
                        f"the loss is {checked.item()} at step {step + 1}: stopping ({last}); lower lr or check the data"
                    )
                lr_used = scheduler.get_last_lr()[0]
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                scheduler.step()
                step += 1
                batch_in_epoch += 1
                window_loss += checked
                window_steps += 1
                step_bar.update(1)
                end_of_epoch = batch_in_epoch == steps_per_epoch
                if end_of_epoch:
                    epoch, batch_in_epoch = epoch + 1, 0
                    epoch_bar.update(1)
                last = step >= total_steps or stopping
                if step % config.log_every == 0 or last:
                    mean_loss = window_loss.item() / window_steps  # synchronises CUDA: the timing below is honest
                    now = time.perf_counter()
                    seconds = now - window_start
                    record = {
                        "step": step,
                        "epoch": round(step / steps_per_epoch, 6),
                        "loss": mean_loss,
                        "lr": lr_used,
                        "images_per_s": window_steps * config.batch_size / seconds if seconds > 0 else None,
                        "time": round(elapsed(), 6),
                    }
                    if log_file is not None:
                        log_file.write(json.dumps(record) + "\n")
                        log_file.flush()
                    step_bar.set_postfix(loss=f"{mean_loss:.4f}", refresh=False)
                    window_loss.zero_()
                    window_steps, window_start = 0, now
                if step % config.checkpoint_every == 0 or last:
                    save(step)
                if stopping:
                    name = signal.Signals(stop.requested).name if stop.requested else "another process"
                    raise TrainingInterrupted(
                        f"stopped by {name} after step {step}; its checkpoint is {str(checkpoint_path)!r}: continue "
                        f"with resume=True (--resume)"
                    )
                if last or end_of_epoch:
                    break
    finally:
        stop.__exit__(None, None, None)
        step_bar.close()
        epoch_bar.close()
        if log_file is not None:
            log_file.close()
    if procs.distributed:
        # DDP copies rank 0's BatchNorm statistics to the other ranks before each forward pass, not after the
        # last one: copy them once more so that every process ends with rank 0's (checkpointed) model.
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)
        dist.barrier()
    return run_dir


def _reschedule(optimizer, scheduler, config: TrainConfig, step: int) -> None:
    """Set the learning rate of ``step`` under ``config``'s schedule (a resumed run whose schedule changed)."""
    lr = config.lr * config.lr_decay ** sum(step >= s for s in config.lr_decay_steps)
    scheduler.milestones = type(scheduler.milestones)(list(config.lr_decay_steps))
    scheduler.gamma = config.lr_decay
    scheduler.base_lrs = [config.lr for _ in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["lr"] = lr
        group["initial_lr"] = config.lr
    scheduler._last_lr = [lr for _ in optimizer.param_groups]


def _stored_step(path: Path):
    try:
        return _read_checkpoint(path)["step"]
    except (OSError, ValueError):
        return "?"
