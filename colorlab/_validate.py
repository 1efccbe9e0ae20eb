"""Validation of tensors at the package's boundaries.

Public functions call :func:`check_image` once on their inputs; hot inner code never re-checks ranges.
"""

from __future__ import annotations

import torch


def check_image(x, channels: int | None, name: str, *, allow_unbatched: bool = False, floating: bool = True) -> None:
    """Check that ``x`` is an image tensor of shape (B, C, H, W), or (*, C, H, W) when ``allow_unbatched``.

    Args:
        x: the value to check.
        channels: the required channel count C, or None for any.
        name: the argument's name, used in the error message.
        allow_unbatched: accept any leading shape ``(*, C, H, W)`` with at least 3 dimensions
            instead of exactly 4.
        floating: require a floating-point dtype.

    Raises:
        TypeError: ``x`` is not a tensor, or is not floating point when ``floating``.
        ValueError: the rank or the channel count is wrong.

    >>> check_image(torch.zeros(1, 3, 4, 4), 3, "rgb")
    >>> check_image(torch.zeros(1, 2, 4, 4), 3, "rgb")
    Traceback (most recent call last):
    ...
    ValueError: rgb must have shape (B, 3, H, W); got (1, 2, 4, 4)
    """
    c = "C" if channels is None else str(channels)
    expected = f"(*, {c}, H, W)" if allow_unbatched else f"(B, {c}, H, W)"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}; got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of shape {expected}; got dtype {x.dtype}")
    rank_ok = x.dim() >= 3 if allow_unbatched else x.dim() == 4
    if not rank_ok or (channels is not None and x.shape[-3] != channels):
        raise ValueError(f"{name} must have shape {expected}; got {tuple(x.shape)}")


def check_finite(x: torch.Tensor, name: str, *, allow_inf: bool = False, error: type[ValueError] = ValueError,
                 hint: str = "") -> None:
    """Check that the floating tensor ``x`` holds no NaN (nor ±inf unless ``allow_inf``); other dtypes pass.

    Reading the answer back waits for ``x``'s device, so hot inner code does not call this.

    Raises:
        ``error`` (a ``ValueError`` class): a message that names ``name``, counts the bad values and ends with
        ``hint`` (e.g. what to do instead).

    >>> check_finite(torch.tensor([0.0, float("nan")]), "ab")
    Traceback (most recent call last):
    ...
    ValueError: ab must hold no NaN or infinite values; it holds 1 NaN and 0 infinite of 2 values
    """
    if not (x.is_floating_point() or x.is_complex()):
        return
    bad = torch.isnan(x) if allow_inf else ~torch.isfinite(x)
    if not bool(bad.any()):
        return
    nan = int(torch.isnan(x).sum())
    what = "NaN" if allow_inf else "NaN or infinite values"
    counts = f"{nan} NaN" if allow_inf else f"{nan} NaN and {int(bad.sum()) - nan} infinite"
    raise error(f"{name} must hold no {what}; it holds {counts} of {x.numel()} values{hint}")
