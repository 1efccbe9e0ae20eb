"""Constant tensors kept per (dtype, device), for hot paths that must not copy from the host on every call.

A training step on a GPU must not wait for the host: a constant rebuilt on the CPU and copied to the device on
every call (a colour matrix, the bin centres, a lookup table) is a host-to-device copy per step. Functions
decorated with :func:`device_constant` build their tensors once per argument tuple, typically ``(dtype, device)``.

The cached tensors are shared, so the modules that use them never hand them out: public functions return new
tensors computed from them (an in-place edit of a returned value cannot reach the cache). They are built with
autograd and inference mode switched off, so a cache first filled inside ``torch.inference_mode()`` still works in
training code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


def device_constant(build: F) -> F:
    """Cache ``build(*args)`` per argument tuple (at most 64 entries); the tensors must never be returned to callers.

    Only real tensors are kept: a value built while a graph is traced (``torch.export``, the ONNX exporter) holds
    stand-ins (fake or traced tensors), so it is rebuilt on each call instead. ``cache_clear()`` empties the cache.
    """
    cache: dict[tuple, object] = {}

    @functools.wraps(build)
    def cached(*args):
        if args in cache:
            return cache[args]
        with torch.inference_mode(False), torch.no_grad():
            value = build(*args)
        if len(cache) < 64 and all(type(t) is torch.Tensor for t in _tensors(value)):
            cache[args] = value
        return value

    cached.cache_clear = cache.clear
    return cached


def _tensors(value) -> list:
    """The tensors of a tensor or a tuple of them."""
    return list(value) if isinstance(value, tuple) else [value]
