"""Training: one configuration, one loop, checkpoints that resume exactly (paper §3.1, "Training").

The package has one module per job:

* :mod:`~colorlab.train.config` — :class:`TrainConfig`, every knob of a run with its help and its check;
* :mod:`~colorlab.train.checkpoint` — the one checkpoint format and its reader;
* :mod:`~colorlab.train.runtime` — the device, distributed processes, precision and stop requests;
* :mod:`~colorlab.train.loader` — the training and held-out images, the sampler and the DataLoader;
* :mod:`~colorlab.train.loop` — :func:`train_step`, the loop around it, and :func:`fit`;
* :mod:`~colorlab.train.runlog` — the run folder and its step log.

Everything a user needs is importable from here: ``colorlab.train.fit``, ``colorlab.train.TrainConfig``, ...
"""

from .checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_NAME,
    CHECKPOINT_VERSION,
    MODEL_KEYS,
    RESUME_KEYS,
    CheckpointError,
    atomic_save,
    load_checkpoint,
    read_checkpoint,
)
from .config import (
    AMP_MODES,
    MODEL_NAMES,
    PAPER_BATCH_SIZE,
    PAPER_BETAS,
    PAPER_IMAGE_SIZE,
    PAPER_LR,
    PAPER_LR_DECAY,
    PAPER_LR_DECAY_STEPS,
    PAPER_STEPS,
    PAPER_WEIGHT_DECAY,
    PRIOR_KINDS,
    TrainConfig,
    adam_weight_decay,
    format_config,
    lr_at,
)
from .loader import ResumableSampler, build_datasets, default_workers, holdout_photos
from .loop import NonFiniteLossError, TrainingInterrupted, TrainState, fit, train_step
from .runlog import CONFIG_NAME, DEFAULT_RUNS_DIR, LOG_NAME, RunFolderInUseError, StaleLockWarning, read_log
from .runtime import resolve_device

__all__ = [
    "AMP_MODES", "CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "CHECKPOINT_VERSION", "CONFIG_NAME", "DEFAULT_RUNS_DIR",
    "LOG_NAME", "MODEL_KEYS", "MODEL_NAMES", "PAPER_BATCH_SIZE", "PAPER_BETAS", "PAPER_IMAGE_SIZE", "PAPER_LR",
    "PAPER_LR_DECAY", "PAPER_LR_DECAY_STEPS", "PAPER_STEPS", "PAPER_WEIGHT_DECAY", "PRIOR_KINDS", "RESUME_KEYS",
    "CheckpointError", "NonFiniteLossError", "ResumableSampler", "RunFolderInUseError", "StaleLockWarning",
    "TrainConfig", "TrainState", "TrainingInterrupted",
    "adam_weight_decay", "atomic_save", "build_datasets", "default_workers", "fit", "format_config",
    "holdout_photos", "load_checkpoint", "lr_at", "read_checkpoint", "read_log", "resolve_device", "train_step",
]
