"""The configuration of a training run: :class:`TrainConfig`, and the paper's values it defaults to.

Every field of :class:`TrainConfig` is declared with its help text and its check (``dataclasses.field(metadata=
...)``): the same names are the parameters of the training chapter (papermill ``-p name value`` / ``-f
configs/X.yaml``) and the flags of ``colorlab train``, whose ``--help`` shows that text.

The defaults are the paper's ImageNet run (Zhang, Isola & Efros 2016, §3.1, and the authors' released solver):
Adam with β = (0.9, 0.99) and weight decay 1e-3 (on biases too; see :func:`adam_weight_decay` for its scale),
learning rate 3e-5 divided by 3 after 200k and 375k iterations (the paper writes 3e-5 → 1e-5 → 3e-6), about 450k
iterations of batch 40 on 176 × 176 crops. Small CPU presets live in ``configs/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from .._atomic import atomic_write
from ..bins import NUM_BINS
from ..encode import SIGMA, SOFT_K
from ..models import SIZE_MULTIPLE
from ..prior import LAMBDA

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


# ----------------------------------------------------------------------------------------------------------
# Checks: each takes (field name, value) and returns the normalised value, or raises ValueError naming the field
# ----------------------------------------------------------------------------------------------------------

Check = Callable[[str, Any], Any]


def integer(minimum: int | None = None, *, optional: bool = False, multiple_of: int = 1, maximum: int | None = None
            ) -> Check:
    """An int (or an integral float or numeric string, as YAML and papermill give them), optionally None."""

    def check(name: str, value):
        if value is None and optional:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be {'an int or None' if optional else 'an int'}; got {value!r}")
        if minimum is not None and value < minimum:
            raise ValueError(f"{name} must be at least {minimum}; got {value!r}")
        if maximum is not None and value > maximum:
            raise ValueError(f"{name} must be at most {maximum}; got {value!r}")
        if value % multiple_of:
            raise ValueError(f"{name} must be a multiple of {multiple_of}; got {value!r}")
        return int(value)

    return check


def number(low: float | None = None, high: float | None = None, *, low_open=False, high_open=False) -> Check:
    """A finite number in an interval (numeric strings accepted: YAML 1.1 reads "3e-5" as a string)."""

    def check(name: str, value):
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
            left = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
            right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
            raise ValueError(f"{name} must be a finite number in {left}, {right}; got {value!r}")
        return value

    return check


def boolean(name: str, value) -> bool:
    """True or False (or the strings "true"/"false" in any case)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{name} must be True or False; got {value!r}")


def one_of(*choices: str) -> Check:
    def check(name: str, value):
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
        return value

    return check


def path_or_none(name: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a path (str) or None; got {value!r}")
    return value


def decay_steps(name: str, value) -> tuple[int, ...]:
    """Increasing step numbers; one number or None are accepted too."""
    if value is None:
        return ()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of step numbers; got {value!r}")
    steps = tuple(integer(1)(name, v) for v in value)
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"{name} must be increasing; got {list(steps)}")
    return steps


def adam_betas(name: str, value) -> tuple[float, float]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{name} must be two numbers (beta1, beta2) in [0, 1); got {value!r}")
    return tuple(number(0.0, 1.0, high_open=True)(name, v) for v in value)


def holdout_spec(name: str, value) -> float | tuple[str, ...]:
    """A fraction in [0, 1) or a list of names."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{name} must be a fraction in [0, 1) or a list of names; got {value!r}")
        return tuple(value)
    if value is None:
        return 0.0
    return number(0.0, 1.0, high_open=True)(name, value)


def device_spec(name: str, value) -> str:
    """``value`` (a string or a torch.device) as a string when it names a device colorlab runs on: auto, cpu, cuda,
    cuda:N or mps. The one rule for ``TrainConfig.device``, ``--device`` and the Python API's ``device``; whether
    this machine has the device is :func:`colorlab.train.resolve_device`'s question."""
    if isinstance(value, torch.device):
        value = str(value)
    ok = isinstance(value, str) and (
        value in ("auto", "cpu", "cuda", "mps") or (value.startswith("cuda:") and value[5:].isdigit())
    )
    if not ok:
        raise ValueError(f"{name}: {value!r} is not a device; use auto, cpu, cuda, cuda:N or mps")
    return value


def amp_mode(name: str, value) -> str:
    if value is True:
        return "bf16"
    if value is False or value is None:
        return "off"
    return one_of(*AMP_MODES)(name, value)


#: How a field may differ when a run resumes (``on_resume`` of :func:`option`): fields that define the run (its
#: data, model, loss, optimisation, crops, prior and seed) must keep the run's values; the others (how long it
#: runs, how often it logs and saves, where and how fast it executes) may change, and the change is logged.
DEFINES_RUN = "defines the run"
MAY_CHANGE = "may change on resume"


def option(default, help: str, check: Check, *, on_resume: str, **cli) -> Any:
    """A field of :class:`TrainConfig`: its default, its help text (``colorlab train --help`` shows it), the check
    that normalises its value, whether it may change on resume (:data:`DEFINES_RUN` or :data:`MAY_CHANGE`), and
    hints for the command line (``choices``)."""
    if on_resume not in (DEFINES_RUN, MAY_CHANGE):
        raise ValueError(f"on_resume must be DEFINES_RUN or MAY_CHANGE; got {on_resume!r}")
    return dataclasses.field(default=default, metadata={"help": help, "check": check, "on_resume": on_resume, **cli})


# ----------------------------------------------------------------------------------------------------------
# The configuration
# ----------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Frozen; build a changed copy with :meth:`replace`.

    Each field below carries its help text, its check, and whether it defines the run (a resumed run must keep
    it: :meth:`run_fields`) or may change on resume (:data:`DEFINES_RUN`, :data:`MAY_CHANGE`). Values are
    checked and normalised on construction (lists become tuples, numeric strings from YAML become numbers); a bad
    value raises ``ValueError`` naming the field. The defaults are the paper's ImageNet run (see the module docstring).
    """

    data_dir: str | None = option(
        None, "folder of training images, searched recursively (colorlab.data.ImageFolder); None trains on the "
        "photos embedded in the dependencies (colorlab.data.SamplePhotos)", path_or_none, on_resume=DEFINES_RUN)
    model: str = option(
        "eccv16", "'eccv16' (the paper's classifier), 'seed' (the seed report's variant) or 'regression' (the L2 "
        "baseline; lam, k, sigma and prior do not apply to it)", one_of(*MODEL_NAMES), choices=MODEL_NAMES,
        on_resume=DEFINES_RUN)
    width: float = option(
        1.0, "channel width multiplier of the network (1.0 is the paper's 32.2 M-parameter network)",
        number(0.0, low_open=True), on_resume=DEFINES_RUN)
    image_size: int = option(
        PAPER_IMAGE_SIZE, f"side of the square training crops in pixels, a multiple of {SIZE_MULTIPLE} (the "
        "network's stride; paper: 176)", integer(SIZE_MULTIPLE, multiple_of=SIZE_MULTIPLE), on_resume=DEFINES_RUN)
    batch_size: int = option(
        PAPER_BATCH_SIZE, "images per optimisation step, over all processes (paper: 40): under torchrun each of "
        "the N processes takes batch_size / N of them, so the optimisation does not depend on N", integer(1),
        on_resume=DEFINES_RUN)
    steps: int | None = option(
        PAPER_STEPS, "optimisation steps in total, counted from the start of the run (a resumed run continues up "
        "to this number); None: no limit by steps", integer(1, optional=True), on_resume=MAY_CHANGE)
    epochs: int | None = option(
        None, "passes over the training images; None: no limit by epochs. The run stops at whichever limit "
        "comes first; set at least one. An epoch has len(training images) // batch_size steps",
        integer(1, optional=True), on_resume=MAY_CHANGE)
    lr: float = option(PAPER_LR, "Adam's learning rate at step 0 (paper: 3e-5)", number(0.0, low_open=True),
                       on_resume=DEFINES_RUN)
    lr_decay_steps: tuple[int, ...] = option(
        PAPER_LR_DECAY_STEPS, "steps after which the learning rate is multiplied by lr_decay (paper: 200k, 375k)",
        decay_steps, on_resume=DEFINES_RUN)
    lr_decay: float = option(
        PAPER_LR_DECAY, "factor of each learning-rate decay, in (0, 1] (paper: 1/3)",
        number(0.0, 1.0, low_open=True), on_resume=DEFINES_RUN)
    weight_decay: float = option(
        PAPER_WEIGHT_DECAY, "L2 penalty on every weight and bias in the released solver's units (1e-3 there); "
        "Adam gets weight_decay / (image_size/4)^2, the same balance of loss and penalty as the paper's summed "
        "loss (colorlab.train.adam_weight_decay)", number(0.0), on_resume=DEFINES_RUN)
    betas: tuple[float, float] = option(PAPER_BETAS, "Adam's (beta1, beta2) (released solver: 0.9, 0.99)",
                                        adam_betas, on_resume=DEFINES_RUN)
    lam: float = option(LAMBDA, "lambda of the class rebalancing, in [0, 1] (paper: 0.5; 1 means no rebalancing)",
                        number(0.0, 1.0), on_resume=DEFINES_RUN)
    k: int = option(SOFT_K, "nearest bins of each pixel's soft target (paper: 5; released code: 10)",
                    integer(1, maximum=NUM_BINS), on_resume=DEFINES_RUN)
    sigma: float = option(SIGMA, "Gaussian sigma of the soft targets, in ab units (paper: 5)",
                          number(0.0, low_open=True), on_resume=DEFINES_RUN)
    prior: str = option(
        "imagenet", "'imagenet' (the authors' prior shipped with colorlab) or 'empirical' (estimated from up to "
        "prior_images training images before training starts, and stored in the checkpoint)",
        one_of(*PRIOR_KINDS), choices=PRIOR_KINDS, on_resume=DEFINES_RUN)
    prior_images: int = option(1000, "how many training images the empirical prior is estimated from", integer(1),
                               on_resume=DEFINES_RUN)
    holdout: float | tuple[str, ...] = option(
        0.0, "photos kept out of training for validation and figures: a fraction in [0, 1) of the images (chosen "
        "with seed), or a list of names (sample photo names when data_dir is None, else paths relative to "
        "data_dir)", holdout_spec, on_resume=DEFINES_RUN)
    device: str = option(
        "auto", "'auto' (CUDA when available), 'cpu', 'cuda' or 'cuda:N'; under torchrun 'cuda' means "
        "cuda:LOCAL_RANK", device_spec, on_resume=MAY_CHANGE)
    amp: str = option(
        "bf16", "autocast of the forward pass on CUDA: 'bf16' (where the GPU has native bfloat16, else fp16 with a "
        "gradient scaler, as the run's first line says), 'fp16' (with a gradient scaler) or 'off'; CPU runs "
        "always train in float32", amp_mode, choices=AMP_MODES, on_resume=MAY_CHANGE)
    compile: bool = option(False, "run the model through torch.compile (worth it for long GPU runs only)", boolean,
                           on_resume=MAY_CHANGE)
    channels_last: bool = option(
        True, "keep activations in the channels-last memory format (faster convolutions on CUDA tensor cores and "
        "with oneDNN on CPUs)", boolean, on_resume=MAY_CHANGE)
    workers: int | None = option(
        None, "DataLoader worker processes that decode and crop images (0: in the training process); None: the "
        "CPU cores available, shared among the processes torchrun starts on this machine", integer(0, optional=True),
        on_resume=MAY_CHANGE)
    checkpoint_every: int = option(
        5000, "write the checkpoint every this many steps (and at the end, and when the run is asked to stop)",
        integer(1), on_resume=MAY_CHANGE)
    keep_every: int | None = option(
        None, "also keep the weights of every this many steps as weights-STEP.pt in run_dir (to choose a step "
        "afterwards, e.g. by a held-out loss; see load_checkpoint); None keeps only checkpoint.pt",
        integer(1, optional=True), on_resume=MAY_CHANGE)
    log_every: int = option(
        100, "append a line to log.jsonl every this many steps (and at the end): the mean loss and throughput "
        "since the previous line. Only these steps and checkpoint steps wait for the device: the loss's "
        "finiteness and stop requests are checked there", integer(1), on_resume=MAY_CHANGE)
    run_dir: str | None = option(
        None, "the run folder, locked while the run writes it (a second run there is refused); None makes a new "
        "one, runs/<model>-<UTC date-time>", path_or_none, on_resume=MAY_CHANGE)
    resume: bool = option(
        False, "continue the run in run_dir from its checkpoint.pt (a run stopped before its first checkpoint "
        "starts again from step 0; an empty or missing run_dir starts afresh); the fields that define the run "
        "must keep its values, the others' changes are logged. Without it a run_dir that holds a run (config.yaml, "
        "log.jsonl, checkpoint.pt, weights-*.pt) is refused, so no run is overwritten or mixed with another",
        boolean, on_resume=MAY_CHANGE)
    seed: int = option(0, "seed of the initial weights, the data order and the crops (a non-negative int)",
                       integer(0), on_resume=DEFINES_RUN)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = field.metadata["check"](field.name, getattr(self, field.name))
            object.__setattr__(self, field.name, value)
        if self.steps is None and self.epochs is None:
            raise ValueError("steps and epochs are both None: set at least one of them")

    # -- construction and export ----------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of the fields, in order (the chapter's parameters and the CLI's flags)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def field_help(cls) -> dict[str, str]:
        """The help text of every field, by name (what ``colorlab train --help`` shows)."""
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    @classmethod
    def run_fields(cls) -> tuple[str, ...]:
        """The names of the fields that define a run (:data:`DEFINES_RUN`): a resumed run must keep them."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata["on_resume"] == DEFINES_RUN)

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
        """Write :meth:`to_dict` as YAML to ``path`` (atomically)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _stored(name: str, stored: dict[str, Any]) -> Any:
    """Field ``name`` of a stored configuration (a checkpoint's ``train_config``, a run's ``config.yaml``),
    normalised by its check; a field the file lacks (an earlier colorlab) has its default."""
    field = TrainConfig.__dataclass_fields__[name]
    return _normal_path(name, field.metadata["check"](name, stored.get(name, field.default)))


def _given(config: TrainConfig, name: str) -> Any:
    return _normal_path(name, getattr(config, name))


def _normal_path(name: str, value: Any) -> Any:
    """``data/x/`` and ``./data/x`` name one folder: paths are compared in their normal form."""
    return os.path.normpath(value) if name in ("data_dir", "run_dir") and value is not None else value


def resume_conflicts(stored: dict[str, Any], config: TrainConfig) -> list[str]:
    """The fields that define the run (:meth:`TrainConfig.run_fields`) where ``config`` differs from the run's
    ``stored`` configuration, as ``"name=stored (given new)"``; empty when ``config`` may resume the run."""
    return [f"{name}={_stored(name, stored)!r} (given {_given(config, name)!r})" for name in TrainConfig.run_fields()
            if _stored(name, stored) != _given(config, name)]


def resume_changes(stored: dict[str, Any], config: TrainConfig) -> dict[str, list]:
    """The fields that may change on resume (all but ``resume`` itself) where ``config`` differs from ``stored``:
    ``{name: [stored value, new value]}`` (plain values: numbers, strings, booleans or None; the log records them)."""
    run = set(TrainConfig.run_fields()) | {"resume"}
    return {name: [_stored(name, stored), _given(config, name)] for name in TrainConfig.field_names()
            if name not in run and _stored(name, stored) != _given(config, name)}


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


def lr_at(config: TrainConfig, step: int) -> float:
    """The learning rate of optimisation step ``step + 1`` (the step taken when ``step`` steps are done).

    >>> [lr_at(TrainConfig(lr=1.0, lr_decay_steps=[2], lr_decay=0.5), s) for s in (0, 1, 2, 3)]
    [1.0, 1.0, 0.5, 0.5]
    """
    return config.lr * config.lr_decay ** sum(step >= s for s in config.lr_decay_steps)
