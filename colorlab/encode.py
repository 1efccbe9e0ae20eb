"""Soft encoding of ab values over the 313 bins (paper §2.1, "soft-encoding scheme").

Each ground-truth ab value is spread over its k nearest bin centres with weights proportional to a Gaussian
of its distance, exp(−d² / 2σ²), normalised to sum to 1. The paper uses k = 5 and σ = 5; the authors' released
training layer uses k = 10 (``NNEncode(10, 5.)``); both are supported.

The search is exact and needs no tree: the ab plane is cut into square cells of side 2.5, and for every cell a
table lists the bins that can be among the k nearest of any point in it (a bin qualifies when its nearest
distance to the cell is at most the k-th smallest farthest distance). Each pixel then compares itself with a
dozen candidates instead of 313: one row of precomputed coefficients per cell gives all twelve squared distances
in two fused multiply-adds, and ``topk`` keeps the k smallest. A few vectorised tensor operations, on any
device, without host round trips.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from ._cache import device_constant
from ._validate import check_finite, check_image
from .bins import NUM_BINS, ab_bins

#: Nearest bins a pixel is spread over (paper §2.1; the authors' released code uses 10).
SOFT_K = 5
#: Standard deviation of the Gaussian soft-encoding kernel, in ab units (paper §2.1).
SIGMA = 5.0

# Lookup-table geometry: cells of side _CELL over [-_TABLE_LIMIT, _TABLE_LIMIT)². Every colour of the sRGB
# gamut lies well inside (|a|, |b| < 110); ab values outside the table are clamped onto its border.
_CELL = 2.5
_TABLE_LIMIT = 120.0
_CELLS_PER_AXIS = int(2 * _TABLE_LIMIT / _CELL)
# Index of the sentinel "bin at infinity" used to pad candidate lists to the same length.
_SENTINEL = NUM_BINS


def _cell_bin_distances() -> tuple[np.ndarray, np.ndarray]:
    """float64 (cells, Q) each: the nearest and the farthest distance from each cell to each bin.

    Per axis, the gap (or reach) of a cell's interval to a bin's coordinate is a (cells per axis, Q) table; a
    cell's squared distance is the sum of its a and b entries, as (cells, Q, 2) arrays summed over the last
    axis give it, with a tenth of the work.
    """
    bins = ab_bins(torch.float64).numpy()  # (Q, 2)
    lo = (-_TABLE_LIMIT + _CELL * np.arange(_CELLS_PER_AXIS))[:, None, None]  # (cells per axis, 1, 1)
    hi = lo + _CELL
    gap = np.maximum(0.0, np.maximum(lo - bins, bins - hi)) ** 2  # (cells per axis, Q, 2)
    reach = np.maximum(np.abs(bins - lo), np.abs(bins - hi)) ** 2
    nearest = np.sqrt(gap[:, None, :, 0] + gap[None, :, :, 1]).reshape(-1, bins.shape[0])
    farthest = np.sqrt(reach[:, None, :, 0] + reach[None, :, :, 1]).reshape(-1, bins.shape[0])
    return nearest, farthest


@functools.lru_cache(maxsize=None)
def _candidate_table(k: int) -> np.ndarray:
    """int64 (cells, C): for each cell, the bins that can be among the k nearest, padded with the sentinel."""
    nearest, farthest = _cell_bin_distances()
    kth_farthest = np.partition(farthest, k - 1, axis=1)[:, k - 1 : k]
    is_candidate = nearest <= kth_farthest + 1e-9
    width = int(is_candidate.sum(axis=1).max())
    order = np.argsort(~is_candidate, axis=1, kind="stable")[:, :width]  # each cell's candidates, ascending
    table = np.where(np.take_along_axis(is_candidate, order, axis=1), order, _SENTINEL).astype(np.int64)
    table.setflags(write=False)
    return table


@device_constant
def _device_tables(k: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Per cell and candidate, each (cells, C): the candidate bin, and the coefficients of its squared distance.

    For a point p in a cell with centre m and a candidate bin c, write q = p − m and r = c − m; then
    |p − c|² = |r|² − 2 r·q + |q|². The tables hold |r|², −2 r_a and −2 r_b (in ``dtype``); |q|² is the same for
    every candidate of the point, so it is left out. Every number stays small (|r| of a few grid steps, |q| ≤ 1.8),
    so float32 ranks and weighs the candidates as exactly as the brute force does.
    """
    table = torch.tensor(_candidate_table(k))
    padded_bins = torch.cat([ab_bins(torch.float64), torch.full((1, 2), 1e4, dtype=torch.float64)])
    centre = -_TABLE_LIMIT + _CELL * (torch.arange(_CELLS_PER_AXIS, dtype=torch.float64) + 0.5)
    centre_a, centre_b = torch.meshgrid(centre, centre, indexing="ij")
    r = padded_bins[table] - torch.stack([centre_a.reshape(-1), centre_b.reshape(-1)], dim=1)[:, None]
    coefficients = (r.square().sum(-1), -2.0 * r[..., 0], -2.0 * r[..., 1])
    return (table.to(device), *(c.to(device=device, dtype=dtype).contiguous() for c in coefficients))


def _knn(a: torch.Tensor, b: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact k nearest bins of the points (a, b), each (N,), nearest first: (index int64 (N, k), key (N, k)).

    ``key`` is the squared distance minus |q|², a constant per point (see :func:`_device_tables`): differences
    of keys are differences of squared distances.
    """
    table, r2, ra, rb = _device_tables(k, a.dtype, a.device)
    a = a.clamp(-_TABLE_LIMIT, _TABLE_LIMIT - 1e-3)
    b = b.clamp(-_TABLE_LIMIT, _TABLE_LIMIT - 1e-3)
    cell_a = ((a + _TABLE_LIMIT) * (1.0 / _CELL)).long().clamp_(0, _CELLS_PER_AXIS - 1)
    cell_b = ((b + _TABLE_LIMIT) * (1.0 / _CELL)).long().clamp_(0, _CELLS_PER_AXIS - 1)
    qa = a - (cell_a * _CELL + (_CELL / 2 - _TABLE_LIMIT))  # the point relative to its cell's centre
    qb = b - (cell_b * _CELL + (_CELL / 2 - _TABLE_LIMIT))
    cell = cell_a * _CELLS_PER_AXIS + cell_b
    # Each pixel's row of candidates (contiguous in memory), then |r|² − 2 r·q for each: (N, C).
    key = torch.addcmul(r2.index_select(0, cell), ra.index_select(0, cell), qa[:, None])
    key = key.addcmul_(rb.index_select(0, cell), qb[:, None])
    key, order = torch.topk(key, k, dim=1, largest=False, sorted=True)
    return table.view(-1)[order + (cell * table.shape[1])[:, None]], key


def _planes(ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """a and b of every pixel as two (N,) tensors, N = B·H·W in (b, h, w) order; float16 and bfloat16 as float32,
    whose precision the distance tables need."""
    if ab.dtype in (torch.float16, torch.bfloat16):
        ab = ab.float()
    return ab.transpose(0, 1).reshape(2, -1).unbind(0)


def _check_ab(ab: torch.Tensor) -> None:
    """(B, 2, H, W), floating, without NaN (±inf is clamped like any ab beyond the table)."""
    check_image(ab, 2, "ab")
    check_finite(ab, "ab", allow_inf=True, hint=" (a NaN has no nearest bin)")


def _check_k_sigma(k: int, sigma: float) -> None:
    if not isinstance(k, int) or not 1 <= k <= NUM_BINS:
        raise ValueError(f"k must be an integer in [1, {NUM_BINS}]; got {k!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma!r}")


def soft_encode_sparse(
    ab: torch.Tensor, k: int = SOFT_K, sigma: float = SIGMA, *, check_nan: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-encode ab over its k nearest bins, kept sparse.

    Args:
        ab: (B, 2, H, W) floating tensor, raw ab units, no NaN (values beyond ±120,
            ±inf too, are clamped: sRGB never gets there).
        k: number of nearest bins (paper 5, authors' code 10).
        sigma: Gaussian kernel width in ab units.
        check_nan: refuse NaN ab (off in training, where ab comes from uint8 photos:
            the check would make every step wait for the GPU).

    Returns:
        ``(index, weight)``, each (B, k, H, W) on ab's device: int64 bin indices sorted
        by distance (``index[:, 0]`` is the nearest bin) and weights of ab's dtype that
        sum to 1 over dim 1. Together they are the soft target Z of the paper with its
        k non-zero entries. Both are views of (B, H, W, k) memory (the k values of a
        pixel side by side), not contiguous in the (B, k, H, W) order.

    Precision: the neighbours are exact; distances from each pixel's cell corner keep
    the float32 weights within 1e-6 of exact for every sRGB colour (1e-5 for ab far
    outside the bins: pass float64). float16 and bfloat16 are encoded in float32.

    Raises:
        TypeError, ValueError: bad ab (shape, dtype, NaN), k or sigma.

    >>> index, weight = soft_encode_sparse(torch.tensor([[[[0.0]], [[0.0]]]]))
    >>> index.shape, round(weight.sum().item(), 6)
    (torch.Size([1, 5, 1, 1]), 1.0)
    """
    check_image(ab, 2, "ab")
    if check_nan:
        check_finite(ab, "ab", allow_inf=True, hint=" (a NaN has no nearest bin)")
    _check_k_sigma(k, sigma)
    batch, _, height, width = ab.shape
    index, key = _knn(*_planes(ab), k)
    # Relative to the nearest bin, exp() stays finite however far ab is from the bins.
    weight = torch.exp((key[:, :1] - key) * (0.5 / sigma**2))
    weight = (weight / weight.sum(dim=1, keepdim=True)).to(ab.dtype)

    def to_image(x: torch.Tensor) -> torch.Tensor:
        return x.view(batch, height, width, k).permute(0, 3, 1, 2)

    return to_image(index), to_image(weight)


def soft_encode(
    ab: torch.Tensor, k: int = SOFT_K, sigma: float = SIGMA
) -> torch.Tensor:
    """Soft-encode ab into the dense target distribution Z over the 313 bins.

    Args:
        ab: (B, 2, H, W) floating tensor, raw ab units, no NaN.
        k, sigma: as in :func:`soft_encode_sparse` (which says what raises).

    Returns:
        z: (B, 313, H, W) of ab's dtype and device, k non-zeros per pixel summing to 1.
        Training never needs this dense form (see :func:`soft_encode_sparse`); it is
        here for teaching and checking.
    """
    index, weight = soft_encode_sparse(ab, k, sigma)
    batch, _, height, width = ab.shape
    z = ab.new_zeros(batch, NUM_BINS, height, width)
    return z.scatter_(1, index, weight)


def nearest_bin(ab: torch.Tensor) -> torch.Tensor:
    """Index of the nearest bin centre of every pixel.

    Args:
        ab: (B, 2, H, W) floating tensor, raw ab units, no NaN (see :func:`soft_encode_sparse`).

    Returns:
        (B, H, W) int64 on ab's device.
    """
    _check_ab(ab)
    batch, _, height, width = ab.shape
    return _knn(*_planes(ab), 1)[0].view(batch, height, width)
