"""Constant tensors kept per (dtype, device), for hot paths that must not copy from the host on every call.

A training step on a GPU must not wait for the host: a constant rebuilt on the CPU and copied to the device on
every call (a colour matrix, the bin centres, a lookup table) is a host-to-device copy per step. Functions
decorated with :func:`device_constant` build their tensors once per argument tuple, typically ``(dtype, device)``.

The cached tensors are shared, so the modules that use them never hand them out: public functions return new
tensors computed from them (an in-place edit of a returned value cannot reach the cache). They are built with
autograd and inference mode switched off, so a cache first filled inside ``torch.inference_mode()`` still works in
training code.
They are also built outside any tracing mode (``torch.export``, ``torch.onnx.export``, fake tensors): the cache
always holds real tensors, which a trace records as constants of its graph, so a graph exported while the cache
is empty holds the same numbers, and ordinary calls after an export get real tensors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch
from torch.utils._python_dispatch import _disable_current_modes

F = TypeVar("F", bound=Callable)


def device_constant(build: F) -> F:
    """Cache ``build(*args)`` per argument tuple (at most 64 entries); the tensors must never be returned to callers."""

    @functools.lru_cache(maxsize=64)
    @functools.wraps(build)
    def cached(*args):
        with _disable_current_modes(), torch.inference_mode(False), torch.no_grad():
            return build(*args)

    return cached
