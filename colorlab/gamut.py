"""The sRGB gamut seen in the ab plane, and the rules one could use to call a grid point "in gamut".

Paper §2.1 keeps "the Q = 313 values which are in-gamut" of an ab grid with spacing 10 without saying what in
gamut means for a grid point. :mod:`colorlab.bins` implements the rule that reproduces the authors' 313 centres
(the square of side 2 · 10 around the point meets the convex hull of the gamut's ab projection). This module
computes the two simpler rules the book compares it with, and the slices of the gamut at one lightness that the
figures draw:

* :func:`grid_points_in_gamut`: the grid point itself is a displayable sRGB colour at some lightness L
  (229 points with the default lightness sampling);
* :func:`grid_points_of_8bit_colours`: some 8-bit sRGB colour has its ab rounded to the grid point
  (261 points).

The counts quoted above are what these functions return; the book prints them from the functions, and the tests
check them.
"""

from __future__ import annotations

import numpy as np
import torch

from .bins import AB_LIMIT, GRID_STEP, ab_gamut_mask, ab_grid
from .color import lab_to_rgb, rgb_to_lab

#: Half-width of the ab window the figures show: the bin grid plus half a cell, so every bin square fits.
AB_VIEW_LIMIT = AB_LIMIT + GRID_STEP / 2


def ab_plane(l: float, resolution: int = 231, limit: float = AB_VIEW_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    """The colours of one constant-lightness slice of CIELAB and where sRGB can show them.

    Args:
        l: lightness L in [0, 100].
        resolution: samples per axis (the slice is ``resolution × resolution``).
        limit: the slice covers a, b in [-limit, limit] (raw ab units).

    Returns:
        ``(rgb, in_gamut)``: float64 (resolution, resolution, 3) sRGB in [0, 1] (out-of-gamut colours clipped
        the way :func:`colorlab.lab_to_rgb` clips them) and bool (resolution, resolution). Row i holds
        b = -limit + i · step and column j holds a = -limit + j · step, so ``imshow(..., origin="lower",
        extent=(-limit, limit, -limit, limit))`` puts a on the x axis and b on the y axis.

    >>> rgb, in_gamut = ab_plane(50, resolution=5)
    >>> rgb.shape, bool(in_gamut[2, 2])
    ((5, 5, 3), True)
    """
    if not 0.0 <= float(l) <= 100.0:
        raise ValueError(f"l must be a lightness in [0, 100]; got {l}")
    if int(resolution) < 2:
        raise ValueError(f"resolution must be at least 2; got {resolution}")
    axis = np.linspace(-limit, limit, int(resolution))
    b, a = np.meshgrid(axis, axis, indexing="ij")
    lab = torch.from_numpy(np.stack([np.full_like(a, float(l)), a, b]))
    rgb = lab_to_rgb(lab).permute(1, 2, 0).numpy()
    return rgb, ab_gamut_mask(float(l), a, b)


def grid_points_in_gamut(num_lightness: int = 1001) -> np.ndarray:
    """Grid points (a, b) that are displayable sRGB colours at one or more lightness values at least.

    Args:
        num_lightness: how many lightness values, evenly spaced over [0, 100], are tried.

    Returns:
        int64 (N, 2) of (a, b), sorted by a then b (N = 229 with the default sampling).
    """
    grid = ab_grid()
    keep = np.zeros(len(grid), dtype=bool)
    for l in np.linspace(0.0, 100.0, int(num_lightness)):
        keep |= ab_gamut_mask(l, grid[:, 0], grid[:, 1])
    return grid[keep]


def grid_points_of_8bit_colours(chunk: int = 16) -> np.ndarray:
    """Grid points (a, b) that some 8-bit sRGB colour rounds to (its ab rounded to the nearest grid point).

    All 256³ colours are converted in float32, ``chunk`` red levels (chunk · 65536 colours) per call, which
    keeps the number of tensor operations small (about a second on two CPU cores).

    Returns:
        int64 (N, 2) of (a, b), sorted by a then b (N = 261).
    """
    levels = torch.arange(256, dtype=torch.float32) / 255.0
    offset = AB_LIMIT // GRID_STEP
    cells = 2 * offset + 1
    hit = torch.zeros(cells, cells, dtype=torch.bool)
    for start in range(0, len(levels), int(chunk)):
        r, g, b = torch.meshgrid(levels[start : start + int(chunk)], levels, levels, indexing="ij")
        lab = rgb_to_lab(torch.stack([r, g, b]).reshape(3, -1, 1))
        # Every 8-bit colour has |a|, |b| < 110, so the clamp never moves a point; it only guards the indexing.
        cell = (torch.round(lab[1:] / GRID_STEP).long() + offset).clamp(0, cells - 1).reshape(2, -1)
        hit[cell[0], cell[1]] = True
    a_index, b_index = np.nonzero(hit.numpy())  # row-major: sorted by a then b
    return np.stack([(a_index - offset) * GRID_STEP, (b_index - offset) * GRID_STEP], axis=1).astype(np.int64)
