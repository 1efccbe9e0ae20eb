"""Where a run executes: the device, the processes of a distributed run, the precision, and stop requests.

:func:`start_runtime` sets everything up for :func:`colorlab.train.fit` and undoes it on exit, so a run leaves no
global state behind: the caller's random states (torch's, on the CPU and the run's CUDA device; ``fit`` uses no
other generator), the current CUDA device, ``torch.backends.cudnn.benchmark``, the signal handlers and a process
group it started are all restored or closed.

Several GPUs or machines: start the same command with ``torchrun``. When ``WORLD_SIZE`` > 1 each process joins the
process group (NCCL on CUDA, bound to ``cuda:LOCAL_RANK``; Gloo on CPU). Collectives always get tensors on the
group's device: :meth:`Runtime.broadcast` moves a CPU tensor there and back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist

from .config import TrainConfig, device_spec

#: A second SIGINT/SIGTERM this many seconds or more after the first stops at once, without a checkpoint; sooner,
#: it is the same request delivered twice (a terminal's Ctrl-C reaches torchrun and its children alike).
SECOND_SIGNAL_AFTER_S = 1.0


def resolve_device(device: str | torch.device = "auto", local_rank: int = 0, *, name: str = "device") -> torch.device:
    """The torch device that ``device`` names, checked against this machine.

    ``device`` is auto, cpu, cuda, cuda:N or mps (:func:`colorlab.train.config.device_spec`: the one rule), or such
    a torch.device. ``"auto"`` → ``cuda:<local_rank>`` when CUDA is available, else ``cpu``; ``"cuda"`` →
    ``cuda:<local_rank>``.

    Raises:
        ValueError: naming ``name`` (the argument or option, e.g. ``"--device"``): not a device, or a device this
            machine does not have (CUDA or MPS unavailable, cuda:N beyond its GPUs).
    """
    device = device_spec(name, device)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ValueError(f"{name} is {device!r}, but CUDA is not available here; use cpu or auto")
        index = local_rank if device == "cuda" else int(device[5:])
        if index >= count:
            raise ValueError(f"{name} is {device!r}, but this machine has {count} CUDA device(s): use cuda:0 to "
                             f"cuda:{count - 1}")
        return torch.device("cuda", index)
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} is 'mps', but MPS (Apple's GPU) is not available here; use cpu or auto")
    return torch.device(device)


def precision(config: TrainConfig, device: torch.device) -> tuple[torch.dtype | None, str]:
    """The autocast dtype of the forward pass (None: float32) and a sentence saying why.

    bf16 is used only where the GPU computes it natively (compute capability 8.0 and later); elsewhere ``amp:
    bf16`` falls back to fp16 with a gradient scaler, which keeps float32's range for the gradients.
    """
    if device.type != "cuda":
        return None, "float32 (autocast is for CUDA only)"
    if config.amp == "off":
        return None, "float32 (amp: off)"
    if config.amp == "fp16":
        return torch.float16, "fp16 autocast with a gradient scaler"
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16, "bf16 autocast"
    capability = ".".join(map(str, torch.cuda.get_device_capability(device)))
    return torch.float16, (f"fp16 autocast with a gradient scaler: this GPU (compute capability {capability}) "
                           "has no native bf16")


@dataclasses.dataclass(frozen=True)
class Runtime:
    """This process's place in a run: its device, its rank among ``world_size`` processes, and the precision."""

    device: torch.device
    world_size: int = 1
    rank: int = 0
    autocast_dtype: torch.dtype | None = None
    precision_note: str = "float32"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, enabled for fp16 only (disabled, it passes the loss and the step through)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.autocast_dtype == torch.float16)

    def broadcast(self, tensor: torch.Tensor) -> torch.Tensor:
        """Rank 0's ``tensor`` in every process, on the CPU (sent over the group's device, as NCCL requires)."""
        if not self.distributed:
            return tensor
        on_device = tensor.to(self.device).contiguous()
        dist.broadcast(on_device, src=0)
        return on_device.cpu()

    def broadcast_object(self, value: Any) -> Any:
        """Rank 0's ``value`` (any picklable object) in every process."""
        if not self.distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` (on :attr:`device`) over the processes, in place; returns it."""
        if self.distributed:
            dist.all_reduce(tensor)
        return tensor

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


@contextlib.contextmanager
def _cudnn_benchmark() -> Iterator[None]:
    """Let cuDNN pick the fastest convolution algorithms for the run's fixed shapes; restore the setting after."""
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


@contextlib.contextmanager
def start_runtime(config: TrainConfig) -> Iterator[Runtime]:
    """Set up the device, the processes and the precision of a run; undo all of it on exit (module docstring)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0")) if world_size > 1 else 0
    local_rank = int(os.environ.get("LOCAL_RANK", "0")) if world_size > 1 else 0
    if world_size > 1 and config.device.startswith("cuda:"):
        raise ValueError(f"device is {config.device!r}, but under torchrun each process uses its own GPU: give "
                         "device 'cuda' or 'auto' (process N uses cuda:LOCAL_RANK)")
    device = resolve_device(config.device, local_rank)
    cuda = device.type == "cuda"
    autocast_dtype, note = precision(config, device)
    with contextlib.ExitStack() as stack:
        if cuda:
            stack.enter_context(torch.cuda.device(device))  # torch.cuda.set_device, restored on exit
            stack.enter_context(_cudnn_benchmark())
        stack.enter_context(torch.random.fork_rng(devices=[device] if cuda else [], device_type="cuda"))
        if world_size > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if cuda else "gloo", device_id=device if cuda else None)
            stack.callback(dist.destroy_process_group)
        yield Runtime(device, world_size, rank, autocast_dtype, note)


class StopRequest:
    """While active, SIGINT and SIGTERM only record a request to stop, which the loop honours at its next log or
    checkpoint step, after writing a checkpoint. A second signal stops at once, unless it comes within
    :data:`SECOND_SIGNAL_AFTER_S` of the first. Signals can be caught only in the main thread; elsewhere nothing
    changes."""

    SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s)

    def __init__(self):
        self.requested: int | None = None
        self._first_at = 0.0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame):
        if self.requested is None:
            self.requested, self._first_at = signum, time.monotonic()
        elif time.monotonic() - self._first_at >= SECOND_SIGNAL_AFTER_S:
            signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
            raise KeyboardInterrupt

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    @property
    def name(self) -> str:
        return signal.Signals(self.requested).name if self.requested else "another process"
