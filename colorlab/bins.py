"""The Q = 313 quantized ab bins (paper §2.1: "we quantize the ab output space into bins with grid size 10 and
keep the Q = 313 values which are in-gamut").

The paper does not spell out "in gamut". This module derives the bins with a rule that gives exactly the
authors' 313 centres (``pts_in_hull.npy`` of their released code), in their order:

    keep the grid point g = (a, b), spacing 10, |a|, |b| ≤ 110, when the square [g − 10, g + 10]² meets the
    convex hull of the ab projection of the whole sRGB gamut (all L, D65) — equivalently, when the L∞ distance
    from g to that hull is below 10.

The paper states neither this rule nor its threshold: the rule was fitted to reproduce the authors' set. The
half-width 10 is one grid step, so the square around g is the union of the four grid cells that have g as a corner:
g is kept exactly when one of those cells meets the hull, and every colour of the gamut's hull then has all four
corners of its cell among the bins. The margin is thin on one side: with the hull of a 64³ grid of RGB colours,
kept points lie at most 9.73 from it, but the rejected point (80, 80) lies at 10.07 (a threshold of 10.1 would keep
it, giving 314 bins). Both distances are the same for RGB grids from 16³ to 200³, so the sampling density does not
change the bins (the tests derive them from 32³, 64³ and 128³ grids). The derived array ships as
``colorlab/resources/ab_bins.npy`` and :func:`derive_ab_bins` regenerates it.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import torch

from ._cache import device_constant
from .color import lab_to_rgb, rgb_to_lab

#: Number of in-gamut bins Q (paper §2.1).
NUM_BINS = 313
#: Spacing of the ab grid, in ab units (paper §2.1).
GRID_STEP = 10
#: The grid spans |a|, |b| ≤ AB_LIMIT (the range of the authors' grid).
AB_LIMIT = 110
#: A grid point is kept when its L∞ distance to the gamut hull is below this
#: (one grid step; fitted to the authors' 313 bins, see the module docstring).
KEEP_DISTANCE = 10.0

_BIN_FILE = "ab_bins.npy"


def ab_grid() -> np.ndarray:
    """All candidate grid points, int64 (23 · 23, 2) as (a, b), sorted by a then b."""
    axis = np.arange(-AB_LIMIT, AB_LIMIT + 1, GRID_STEP)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)


def srgb_gamut_ab(steps: int = 64) -> np.ndarray:
    """ab of every colour of an RGB grid with ``steps`` levels per channel: float64 (steps³, 2)."""
    v = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    rgb = torch.stack(torch.meshgrid(v, v, v, indexing="ij"), dim=0).reshape(3, -1, 1)
    lab = rgb_to_lab(rgb)
    return lab[1:].reshape(2, -1).T.numpy()


@functools.lru_cache(maxsize=None)
def _hull(steps: int) -> np.ndarray:
    from scipy.spatial import ConvexHull

    ab = srgb_gamut_ab(steps)
    hull = ConvexHull(ab)
    vertices = ab[hull.vertices]  # counter-clockwise for 2-D hulls
    vertices.setflags(write=False)
    return vertices


def gamut_ab_hull(steps: int = 64) -> np.ndarray:
    """Vertices of the convex hull of the sRGB gamut's ab projection, float64 (V, 2), counter-clockwise."""
    return _hull(steps)


def hull_linf_distance(
    points: np.ndarray, hull: np.ndarray | None = None
) -> np.ndarray:
    """L∞ distance from each point to a convex polygon (0 inside it).

    Args:
        points: (N, 2) ab points.
        hull: (V, 2) counter-clockwise convex polygon; default :func:`gamut_ab_hull`.

    Returns:
        float64 (N,). Exact: along each edge, max(|dx|, |dy|) is convex and piecewise
        linear, so its minimum lies at an end of the edge or where |dx| = |dy|.
    """
    hull = gamut_ab_hull() if hull is None else np.asarray(hull, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)[:, None, :]  # (N, 1, 2)
    start, end = hull, np.roll(hull, -1, axis=0)  # (V, 2)
    edge = end - start
    # Inside test: left of (or on) every counter-clockwise edge.
    rel = p - start
    cross = edge[:, 0] * rel[..., 1] - edge[:, 1] * rel[..., 0]
    inside = np.all(cross >= 0, axis=1)
    # Candidate positions t along each edge: the ends and the crossings of dx = ±dy.
    d0 = start - p  # offset of the edge start from the point, (N, V, 2)
    candidates = [np.zeros(d0.shape[:2]), np.ones(d0.shape[:2])]
    with np.errstate(divide="ignore", invalid="ignore"):
        for sign in (1.0, -1.0):
            t = -(d0[..., 0] - sign * d0[..., 1]) / (edge[:, 0] - sign * edge[:, 1])
            t = np.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0)
            candidates.append(np.clip(t, 0.0, 1.0))
    best = np.full(d0.shape[:2], np.inf)
    for t in candidates:
        offset = d0 + t[..., None] * edge
        best = np.minimum(best, np.abs(offset).max(axis=-1))
    distance = best.min(axis=1)
    distance[inside] = 0.0
    return distance


def derive_ab_bins(steps: int = 64) -> np.ndarray:
    """Derive the bin centres with the rule in the module docstring: the grid points
    whose L∞ distance to the gamut's hull is below ``KEEP_DISTANCE``.

    Args:
        steps: levels per channel of the RGB grid whose ab values span the hull.

    Returns:
        int64 (313, 2) as (a, b), sorted by a then b.

    >>> derive_ab_bins().shape
    (313, 2)
    """
    grid = ab_grid()
    keep = hull_linf_distance(grid, gamut_ab_hull(steps)) < KEEP_DISTANCE
    return grid[keep]


@functools.lru_cache(maxsize=None)
def _shipped_bins() -> np.ndarray:
    with resources.files("colorlab").joinpath("resources", _BIN_FILE).open("rb") as f:
        bins = np.load(f)
    if bins.shape != (NUM_BINS, 2):
        raise RuntimeError(f"corrupt package data {_BIN_FILE}: shape {bins.shape}, expected ({NUM_BINS}, 2)")
    bins.setflags(write=False)
    return bins


def ab_bins(dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The Q = 313 bin centres as a tensor (313, 2) of (a, b) in raw ab units, sorted by a then b.

    Row q is class q everywhere: soft targets, the prior, class weights and the network's 313 logits.

    >>> ab_bins()[0].tolist()
    [-90.0, 50.0]
    """
    return torch.tensor(_shipped_bins(), dtype=dtype, device=device)


@device_constant
def cached_ab_bins(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """:func:`ab_bins` kept per dtype and device for hot paths (no host-to-device copy per call); shared, so
    callers index or compute from it and never return it."""
    return ab_bins(dtype, device)


def ab_gamut_mask(l: float, a: np.ndarray, b: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Which (a, b) are displayable in sRGB at lightness ``l``.

    Args:
        l: lightness in [0, 100].
        a, b: arrays of the same shape (e.g. from ``np.meshgrid``), raw ab units.
        tol: how far (in Lab units) a colour may move under the sRGB round trip and still count as in gamut.

    Returns:
        bool array of the shape of ``a``: True where Lab → sRGB → Lab returns the same colour (no clipping).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    lab = torch.from_numpy(np.stack([np.full_like(a, l), a, b])).reshape(3, -1, 1)
    back = rgb_to_lab(lab_to_rgb(lab))
    return ((back - lab).abs().amax(dim=0) < tol).reshape(a.shape).numpy()


def _write_shipped_bins(path=None) -> None:
    """Regenerate ``colorlab/resources/ab_bins.npy`` (maintainers' helper)."""
    target = path or resources.files("colorlab").joinpath("resources", _BIN_FILE)
    np.save(target, derive_ab_bins())
