"""The training loop: one optimisation step, :func:`train_step`, and the loop around it, :func:`fit` (paper §3.1).

Data flow (loader workers only decode and crop): uint8 crops (B, 3, S, S) → the training device →
:func:`colorlab.loss.prepare_batch` (Lab, normalised L, sparse soft targets, rebalancing weights; in float32,
outside autocast) → the model (under bf16/fp16 autocast on CUDA when ``amp`` is on) → the loss in float32 → Adam.

A step never waits for the device: the loss stays on the device until the next log or checkpoint step, where
:func:`check_in` reads the losses since the previous log line in one transfer, stops the run if one of them is not
finite (naming the first such step and leaving the last checkpoint as it was), writes the log line and the
checkpoint, and honours a request to stop (SIGINT, SIGTERM) from any process.

Everything a run holds between steps lives in one :class:`TrainState`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..loss import prepare_batch, rebalanced_cross_entropy, regression_loss
from ..models import ColorizationNet, build_model
from .checkpoint import (
    CHECKPOINT_NAME,
    atomic_save,
    model_checkpoint,
    read_checkpoint,
    rng_state,
    set_rng_state,
)
from .config import TrainConfig, adam_weight_decay, lr_at, resume_changes, resume_conflicts
from .loader import base_dataset, build_datasets, make_loader, prior_and_weights, shutdown_workers, worker_errors
from .runlog import CONFIG_NAME, RunLock, RunLog, new_run_dir, remove_leftovers, run_files
from .runtime import Runtime, StopRequest, start_runtime


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the run stopped without writing a checkpoint."""


class TrainingInterrupted(KeyboardInterrupt):
    """The run was asked to stop (Ctrl-C, a kernel interrupt, SIGTERM) and stopped at its next log or checkpoint
    step, with a checkpoint of that step: it resumes exactly with ``resume=True``."""


@dataclasses.dataclass(eq=False)
class TrainState:
    """Everything a run holds between steps: what trains, where the run stands, and the losses not yet logged."""

    config: TrainConfig
    runtime: Runtime
    model: ColorizationNet  # the bare model, whose weights are checkpointed
    network: torch.nn.Module  # what a step calls: the model, wrapped by DDP and torch.compile when asked
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler  # enabled for fp16 only
    prior: torch.Tensor | None  # float64 (313,) on the CPU; None for the regression model
    class_weights: torch.Tensor | None  # float64 (313,) on the CPU
    device_weights: torch.Tensor | None  # float32 (313,) on the device
    memory_format: torch.memory_format
    steps_per_epoch: int
    total_steps: int
    losses: torch.Tensor  # float32 (log_every,) on the device: the losses since the last log line
    window: int = 0  # how many of them there are
    last_loss: float = math.nan  # the mean loss of the last log line
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    saved_step: int | None = None  # the step of the checkpoint on disk
    elapsed_before: float = 0.0  # seconds of training before this start (a resumed run)
    started: float = dataclasses.field(default_factory=time.perf_counter)
    window_started: float = dataclasses.field(default_factory=time.perf_counter)

    @property
    def device(self) -> torch.device:
        return self.runtime.device

    def elapsed(self) -> float:
        """Seconds of training so far, over every start of a resumed run."""
        return self.elapsed_before + time.perf_counter() - self.started


def loss_of(model: ColorizationNet, out: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The rebalanced cross-entropy of a classifier's logits, or the L2 loss of the regression model's ab."""
    if model.output_kind == "ab":
        return regression_loss(out, batch["ab_quarter"], batch["pixel_w"])
    return rebalanced_cross_entropy(out, batch["index"], batch["weight"], batch["pixel_w"])


def train_step(state: TrainState, rgb: torch.Tensor) -> None:
    """One optimisation step on a batch of uint8 photos ``rgb`` (B, 3, S, S).

    ``rgb`` may be on the host or the device. Nothing here waits for the device: the
    loss stays on it, in ``state.losses``, until the next check.
    """
    config = state.config
    rgb = rgb.to(state.device, non_blocking=True)
    batch = prepare_batch(rgb, k=config.k, sigma=config.sigma,
                          class_weights=state.device_weights)
    l_norm = batch["l_norm"].contiguous(memory_format=state.memory_format)
    with state.runtime.autocast():
        out = state.network(l_norm)
    loss = loss_of(state.model, out.float(), batch)
    state.optimizer.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    state.scaler.step(state.optimizer)
    state.scaler.update()
    state.scheduler.step()
    state.losses[state.window] = loss.detach()
    state.window += 1
    state.step += 1
    state.batch_in_epoch += 1


def train(state: TrainState, loader: torch.utils.data.DataLoader, log: RunLog, path: Path) -> None:
    """Run steps until ``state.total_steps``; check the run on log and checkpoint steps (:func:`check_in`)."""
    config, data_set = state.config, base_dataset(loader.dataset)
    quiet = not state.runtime.is_main
    epochs = math.ceil(state.total_steps / state.steps_per_epoch)
    epoch_bar = tqdm(total=epochs, initial=min(state.epoch, epochs), desc="epochs", unit="epoch", disable=quiet)
    step_bar = tqdm(total=state.steps_per_epoch, desc="steps", unit="step", disable=quiet, leave=False)
    with StopRequest() as stop, epoch_bar, step_bar, worker_errors():
        while state.step < state.total_steps:
            if hasattr(data_set, "set_epoch"):
                data_set.set_epoch(state.epoch)
            loader.sampler.set_position(state.epoch, state.batch_in_epoch * loader.batch_size)
            step_bar.reset(total=state.steps_per_epoch)
            step_bar.update(state.batch_in_epoch)
            for rgb in loader:
                train_step(state, rgb)
                step_bar.update(1)
                if state.batch_in_epoch == state.steps_per_epoch:
                    state.epoch, state.batch_in_epoch = state.epoch + 1, 0
                    epoch_bar.update(1)
                last = state.step == state.total_steps
                if last or any(state.step % every == 0 for every in check_in_steps(config)):
                    check_in(state, stop, log, path)
                    step_bar.set_postfix(loss=f"{state.last_loss:.4f}", refresh=False)
                if last:
                    break


def check_in(state: TrainState, stop: StopRequest, log: RunLog, path: Path) -> None:
    """The loop's only wait for the device: read the losses since the last log line and whether any process was
    asked to stop (one transfer, summed over the processes); stop on a non-finite loss; write the log line and
    the checkpoint when due; stop when asked, after a checkpoint that every process waits for."""
    config, runtime = state.config, state.runtime
    asked = torch.full((1,), float(stop.requested is not None), device=state.device)
    values = runtime.all_reduce_sum(torch.cat([state.losses[:state.window], asked])).tolist()
    losses, stopping = [v / runtime.world_size for v in values[:-1]], values[-1] > 0
    bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
    if bad is not None:
        kept = ("no checkpoint was written" if state.saved_step is None else
                f"the checkpoint of step {state.saved_step} in {str(path)!r} is intact")
        raise NonFiniteLossError(f"the loss is {losses[bad]} at step {state.step - state.window + bad + 1}: "
                                 f"stopping ({kept}); lower lr or check the data")
    last = state.step == state.total_steps
    if last or stopping or state.step % config.log_every == 0:
        log.write(log_record(state, losses))
        state.window, state.window_started = 0, time.perf_counter()
    if last or stopping or state.step % config.checkpoint_every == 0:
        save(state, path)
    if config.keep_every and state.step % config.keep_every == 0:
        keep_weights(state, path.with_name(f"weights-{state.step:07d}.pt"))
    if stopping:
        runtime.barrier()  # no process leaves before the first one has written the checkpoint
        raise TrainingInterrupted(f"stopped by {stop.name} after step {state.step}; its checkpoint is "
                                  f"{str(path)!r}: continue with resume=True (--resume)")


def check_in_steps(config: TrainConfig) -> list[int]:
    """The periods, in steps, of the steps that call :func:`check_in`."""
    return [every for every in (config.log_every, config.checkpoint_every, config.keep_every) if every]


def keep_weights(state: TrainState, path: Path) -> None:
    """Write the weights of the current step to ``path`` (the first process only): a checkpoint without the
    optimizer, which :func:`colorlab.train.load_checkpoint` and ``colorlab evaluate`` read."""
    if state.runtime.is_main:
        atomic_save(model_checkpoint(state.model, step=state.step, elapsed=state.elapsed(),
                                     train_config=state.config.replace(run_dir=str(path.parent)).to_dict(),
                                     meta=run_meta(state)), path)


def log_record(state: TrainState, losses: list[float]) -> dict:
    """The log line of the steps since the previous one (``losses``: theirs, averaged over the processes)."""
    state.last_loss = sum(losses) / len(losses)
    seconds = time.perf_counter() - state.window_started
    return {
        "step": state.step,
        "epoch": round(state.step / state.steps_per_epoch, 6),
        "loss": state.last_loss,
        "lr": lr_at(state.config, state.step - 1),
        "images_per_s": len(losses) * state.config.batch_size / seconds if seconds > 0 else None,
        "time": round(state.elapsed(), 6),
    }


def run_meta(state: TrainState) -> dict:
    """The notes a checkpoint keeps about the run: its precision and torch's version."""
    return {"precision": state.runtime.precision_note, "torch_version": str(torch.__version__)}


def save(state: TrainState, path: Path) -> None:
    """Write the training checkpoint of the current step (the first process only; see colorlab.train.checkpoint)."""
    if state.runtime.is_main:
        checkpoint = model_checkpoint(state.model, step=state.step, elapsed=state.elapsed(),
                                      train_config=state.config.replace(run_dir=str(path.parent)).to_dict(),
                                      meta=run_meta(state))
        checkpoint.update(
            epoch=state.epoch, batch_in_epoch=state.batch_in_epoch, optimizer=state.optimizer.state_dict(),
            scheduler=state.scheduler.state_dict(), rng=rng_state(state.device), prior=state.prior,
            class_weights=state.class_weights,
            scaler=state.scaler.state_dict() if state.scaler.is_enabled() else None,
        )
        atomic_save(checkpoint, path)
    state.saved_step = state.step


# ----------------------------------------------------------------------------------------------------------
# Starting a run
# ----------------------------------------------------------------------------------------------------------


def claim_run_dir(config: TrainConfig, runtime: Runtime) -> tuple[Path, RunLock | None]:
    """The run folder and its lock, taken by the first process (which creates the folder, a new one when
    ``run_dir`` is None, and removes the temporary files an interrupted write left there); the other processes
    get the folder's path, or the error the first one met (raised in every process)."""
    lock, outcome = None, None
    if runtime.is_main:
        try:
            lock = RunLock(*new_run_dir(config)) if config.run_dir is None else RunLock(Path(config.run_dir))
            lock.acquire()
            remove_leftovers(lock.run_dir)
            outcome = lock.run_dir
        except (OSError, ValueError) as error:
            if lock is not None:
                lock.release()
            outcome = error
    outcome = runtime.broadcast_object(outcome)
    if isinstance(outcome, BaseException):
        raise outcome
    return Path(outcome), lock


def checkpoint_to_resume(config: TrainConfig, run_dir: Path) -> tuple[dict | None, dict | None]:
    """What a run in ``run_dir`` continues from: (its checkpoint or None, the configuration stored by the run it
    continues or None). A folder without run files starts afresh: (None, None).

    Without ``resume`` a folder that holds a run is refused. With it, the run continues from ``checkpoint.pt``,
    or, stopped before its first checkpoint, starts again from step 0 as its ``config.yaml`` says; either way the
    fields that define the run (:meth:`TrainConfig.run_fields`) must keep the run's values.
    """
    found = run_files(run_dir)
    if not found:
        return None, None
    if not config.resume:
        raise ValueError(f"run_dir {str(run_dir)!r} already holds a run ({', '.join(found)}): continue it with "
                         "resume=True (--resume), or give an empty or new run_dir to start afresh")
    checkpoint, source = None, run_dir / CHECKPOINT_NAME
    if source.exists():
        checkpoint = read_checkpoint(source, resumable=True)
        stored = checkpoint["train_config"] or {}
    elif (run_dir / CONFIG_NAME).is_file():
        source = run_dir / CONFIG_NAME
        stored = TrainConfig.from_yaml(source).to_dict()
    else:
        raise ValueError(f"cannot resume run_dir {str(run_dir)!r}: it holds {', '.join(found)} but neither "
                         f"{CHECKPOINT_NAME} nor {CONFIG_NAME}; give an empty or new run_dir to start afresh")
    conflicts = resume_conflicts(stored, config)
    if conflicts:
        free = [n for n in TrainConfig.field_names() if n not in TrainConfig.run_fields()]
        raise ValueError(f"cannot resume {str(source)!r}: these fields define the run and differ from its values: "
                         f"{'; '.join(conflicts)}. Resume with the run's values (only {', '.join(free)} may "
                         "change), or start a new run in another run_dir")
    return checkpoint, stored


def new_state(config: TrainConfig, runtime: Runtime, train_set, steps_per_epoch: int,
              checkpoint: dict | None) -> TrainState:
    """The model, optimiser, schedule and targets of a run, from scratch (seeded) or from ``checkpoint``."""
    device, cuda = runtime.device, runtime.device.type == "cuda"
    torch.random.default_generator.manual_seed(config.seed)
    model = build_model(config.model, config.width).to(device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    if runtime.distributed and cuda:  # BatchNorm statistics over the whole batch, as in a single-GPU run
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas,
                                 weight_decay=adam_weight_decay(config), fused=True)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.lr_decay_steps), config.lr_decay)
    if checkpoint is not None:
        prior, class_weights = checkpoint["prior"], checkpoint["class_weights"]
    elif model.output_kind == "ab":
        prior = class_weights = None
    else:
        prior, class_weights = prior_and_weights(config, train_set, runtime)
    limits = [n for n in (config.steps, None if config.epochs is None else config.epochs * steps_per_epoch) if n]
    state = TrainState(
        config, runtime, model, model, optimizer, scheduler, runtime.grad_scaler(), prior, class_weights,
        None if class_weights is None else class_weights.to(device, torch.float32), memory_format,
        steps_per_epoch, min(limits), torch.zeros(config.log_every, device=device),
    )
    if checkpoint is not None:
        resume(state, checkpoint)
    if runtime.distributed:
        state.network = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    if config.compile:
        state.network = torch.compile(state.network)
    state.network.train()
    return state


def resume(state: TrainState, checkpoint: dict) -> None:
    """Put a new state where ``checkpoint`` left its run: weights, optimiser, schedule, scaler, position, RNG."""
    state.model.load_state_dict(checkpoint["model"])
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    state.scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint["scaler"] is not None and state.scaler.is_enabled():
        state.scaler.load_state_dict(checkpoint["scaler"])
    state.step, state.saved_step = checkpoint["step"], checkpoint["step"]
    state.epoch, state.batch_in_epoch = checkpoint["epoch"], checkpoint["batch_in_epoch"]
    state.elapsed_before = float(checkpoint["elapsed"])
    set_rng_state(checkpoint["rng"], state.device)


def summary(state: TrainState, loader: torch.utils.data.DataLoader, run_dir: Path) -> str:
    """The run's first line: what trains where, in which precision, on how much data, and into which folder."""
    config, runtime = state.config, state.runtime
    where = str(state.device)
    if state.device.type == "cuda":
        where += f" ({torch.cuda.get_device_name(state.device)})"
    start = f"resuming at step {state.step}" if state.step else "from scratch"
    return (f"colorlab train: {config.model} width {config.width:g} on {where}, {runtime.precision_note}; "
            f"{runtime.world_size} process(es), batch {config.batch_size} ({loader.batch_size} per process), "
            f"{loader.num_workers} loader worker(s) per process; {state.total_steps} steps of "
            f"{state.steps_per_epoch} per epoch, {start}; run folder {run_dir}")


def fit(config: TrainConfig) -> Path:
    """Train as ``config`` says and return the run folder (see :mod:`colorlab.train.runlog` for its contents).

    Writes a line to ``log.jsonl`` every ``log_every`` steps and the checkpoint every ``checkpoint_every`` steps
    and at the end. The run holds the lock of its folder from start to end (:class:`colorlab.train.runlog.RunLock`)
    and first removes the temporary files an interrupted write left there. With ``resume=True`` a run continues
    from its checkpoint exactly where it stopped (model, Adam, learning-rate schedule, gradient scaler, random
    states, position in the epoch); log lines written after that checkpoint are dropped, and a record of the
    resume with the fields that changed is logged. Only fields that may change on resume may differ from the
    run's (:meth:`TrainConfig.run_fields` may not). A run stopped before its first checkpoint starts again from
    step 0. The caller's random states are left as they were. Under ``torchrun`` (``WORLD_SIZE`` > 1) see
    :mod:`colorlab.train.runtime`; only the first process writes files.

    Raises:
        ValueError: a bad configuration (e.g. ``run_dir`` already holds a run and ``resume`` is False, ``resume``
            without ``run_dir``, or the training set has fewer images than ``batch_size``), or a run that this
            configuration may not resume (another model, changed fields that define the run). Nothing is
            written then.
        colorlab.train.RunFolderInUseError: another run holds the lock of ``run_dir``; the message names it.
        OSError: e.g. no space left on device while writing a checkpoint; the previous checkpoint is kept.
        NonFiniteLossError: the loss became NaN or infinite; the message names the step. The checkpoint of
            the last good step is left as it was.
        TrainingInterrupted: SIGINT (Ctrl-C, a notebook's interrupt) or SIGTERM (e.g. a cluster's preemption)
            arrived; the run went on to its next log or checkpoint step, wrote its log line and checkpoint, and
            stopped. Under torchrun all processes stop after the same step. A second signal a second or more
            after the first stops at once, without a checkpoint.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    if config.resume and config.run_dir is None:
        raise ValueError("resume=True needs run_dir, the folder of the run to continue (with run_dir None every "
                         "run starts in a new folder): give run_dir, or leave resume False")
    with start_runtime(config) as runtime:
        run_dir, lock = claim_run_dir(config, runtime)
        try:
            run(config, runtime, run_dir)
        finally:
            if lock is not None:
                lock.release()
    return run_dir


def run(config: TrainConfig, runtime: Runtime, run_dir: Path) -> None:
    """The part of :func:`fit` that runs while the run folder is locked."""
    path = run_dir / CHECKPOINT_NAME
    checkpoint, stored = checkpoint_to_resume(config, run_dir)
    train_set, _ = build_datasets(config)
    loader, steps_per_epoch = make_loader(config, runtime, train_set)
    state = new_state(config, runtime, train_set, steps_per_epoch, checkpoint)
    log = RunLog(run_dir, enabled=runtime.is_main)
    event = None if stored is None else {"step": state.step, "event": "resume", "time": round(state.elapsed(), 6),
                                         "changed": resume_changes(stored, config)}
    log.start(config, state.step, summary(state, loader, run_dir), event)
    try:
        train(state, loader, log, path)
    finally:
        shutdown_workers(loader)
        log.close()
    if runtime.distributed:
        # DDP copies rank 0's BatchNorm statistics to the other ranks before each forward pass, not after the
        # last one: copy them once more so that every process ends with rank 0's (checkpointed) model.
        for buffer in state.model.buffers():
            torch.distributed.broadcast(buffer, src=0)
        runtime.barrier()
