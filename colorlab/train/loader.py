"""What feeds the training loop: the training and held-out images, the sampler, the DataLoader and the prior.

Reproducibility: the order of the training images comes from :class:`ResumableSampler` (a
:class:`~torch.utils.data.DistributedSampler` seeded with ``seed`` and the epoch), and every crop and flip is drawn
from a generator seeded by (seed, epoch, index) (:meth:`colorlab.data.ImageFolder.item_rng`), so a run does not
depend on the number of loader workers, and a resumed run skips exactly the batches already consumed. The
workers persist across epochs; the data set shares its epoch with them (:meth:`colorlab.data.ImageFolder.set_epoch`).
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .. import data
from ..bins import NUM_BINS
from ..prior import empirical_prior, imagenet_prior, rebalance_weights
from ..samples import SAMPLE_NAMES, sample_photo
from .config import TrainConfig
from .runtime import Runtime


def default_workers() -> int:
    """Loader workers when ``workers`` is None: the CPU cores this process may use, divided among the processes
    torchrun starts on this machine (``LOCAL_WORLD_SIZE``), at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def ignore_stop_signals(worker_id: int) -> None:
    """``worker_init_fn`` of the training loader: its workers ignore SIGINT and SIGTERM, which a terminal's
    Ctrl-C or a cluster's preemption sends to every process of the job, so that they keep serving batches until
    the training process stops at a checkpoint. That process must then shut them down (:func:`shutdown_workers`):
    they would not stop when Python's exit asks them with SIGTERM."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def shutdown_workers(loader: torch.utils.data.DataLoader) -> None:
    """Stop the worker processes of ``loader``'s persistent iterator now, whatever still refers to it (e.g. the
    traceback of the exception that ended a run)."""
    iterator = getattr(loader, "_iterator", None)
    if iterator is not None and hasattr(iterator, "_shutdown_workers"):
        iterator._shutdown_workers()
    loader._iterator = None


def _worker_message(error: BaseException) -> str | None:
    """The message of the exception a DataLoader worker raised, on one line, from the message the loader re-raises
    it with ("Caught X in DataLoader worker process N." and the worker's traceback); None for other errors."""
    first, _, rest = str(error).partition("\n")
    if not (first.startswith("Caught ") and "DataLoader worker" in first):
        return None
    _, found, tail = rest.rpartition(f"{type(error).__name__}: ")
    message = " ".join(tail.split()) if found else first
    return f"{message} (in {first[first.index('DataLoader worker'):].rstrip('.')})"


@contextlib.contextmanager
def worker_errors() -> Iterator[None]:
    """Re-raise an error of a DataLoader worker as the same type with the worker's own message on one line (e.g.
    "no readable image left under 'photos': ... (in DataLoader worker process 0)"); other errors pass."""
    try:
        yield
    except Exception as error:
        message = _worker_message(error)
        if message is None:
            raise
        try:
            clear = type(error)(message)
        except Exception:  # an exception type that does not take one message
            raise error from None
        raise clear from error


def describe_images(train_set) -> str:
    """How many images a training set has: "N images", or for a folder "N image files under 'ROOT' (M of them
    readable)", each file decoded (meant for the few images of a set smaller than one batch)."""
    base = base_dataset(train_set)
    if not isinstance(base, data.ImageFolder):
        return f"{len(train_set)} images"
    indices = train_set.indices if isinstance(train_set, torch.utils.data.Subset) else range(len(base))
    paths = sorted({base.paths[i % len(base.paths)] for i in indices})
    readable = 0
    for path in paths:
        with contextlib.suppress(data.UnreadableImageError, OSError):
            data.load_rgb(path)
            readable += 1
    return f"{len(paths)} image file(s) under {str(base.root)!r} ({readable} of them readable)"


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
    size, seed = config.image_size, config.seed
    if config.data_dir is None:
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
        _, held = _split_names(list(SAMPLE_NAMES), config.holdout, config.seed, "sample photo names")
        return {name: sample_photo(name) for name in held[:limit]}
    root = Path(config.data_dir)
    names = [p.relative_to(root).as_posix() for p in data.list_images(root)]
    _, held = _split_names(names, config.holdout, config.seed, f"image files under {str(root)!r}")
    return {name: data.load_rgb(root / name) for name in held[:limit]}


def base_dataset(dataset):
    """The data set under any :class:`~torch.utils.data.Subset` wrappers."""
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


def make_loader(config: TrainConfig, runtime: Runtime, train_set) -> tuple[torch.utils.data.DataLoader, int]:
    """The DataLoader of this process's share of each batch, and the number of steps per epoch.

    Raises ``ValueError`` when the batch does not divide among the processes or the data hold less than one batch.
    """
    if config.batch_size % runtime.world_size:
        raise ValueError(f"batch_size ({config.batch_size}) must be divisible by the number of processes "
                         f"({runtime.world_size}): batch_size is the global batch, split evenly among them")
    local_batch = config.batch_size // runtime.world_size
    sampler = ResumableSampler(train_set, runtime.world_size, runtime.rank, seed=config.seed)
    steps_per_epoch = sampler.num_samples // local_batch
    if steps_per_epoch == 0:
        over = f" over {runtime.world_size} processes" if runtime.distributed else ""
        raise ValueError(f"the training set has {describe_images(train_set)}, fewer than one batch of batch_size="
                         f"{config.batch_size}{over}: lower batch_size or add images")
    workers = default_workers() if config.workers is None else config.workers
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=local_batch, sampler=sampler, num_workers=workers, drop_last=True,
        pin_memory=runtime.device.type == "cuda", persistent_workers=workers > 0, worker_init_fn=ignore_stop_signals,
    )
    return loader, steps_per_epoch


def prior_and_weights(config: TrainConfig, train_set, runtime: Runtime) -> tuple[torch.Tensor, torch.Tensor]:
    """(prior, rebalancing weights), float64 (NUM_BINS,) on the CPU, identical in every process: the authors'
    ImageNet prior, or one estimated by the first process from up to ``prior_images`` training crops (a seeded
    choice) and broadcast to the others."""
    if config.prior == "imagenet":
        p = imagenet_prior()
    elif runtime.is_main:
        count = min(config.prior_images, len(train_set))
        order = np.random.default_rng(np.random.SeedSequence([config.seed, 0x9F10])).permutation(len(train_set))
        subset = torch.utils.data.Subset(train_set, sorted(order[:count].tolist()))
        workers = default_workers() if config.workers is None else config.workers
        batches = torch.utils.data.DataLoader(subset, batch_size=max(config.batch_size, 16), num_workers=workers)
        with worker_errors():
            p = empirical_prior(batches, sigma=config.sigma).to(torch.float64)
    else:
        p = torch.zeros(NUM_BINS, dtype=torch.float64)
    if config.prior == "empirical":
        p = runtime.broadcast(p)
    return p, rebalance_weights(p, config.lam)
