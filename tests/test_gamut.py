"""Tests of colorlab.gamut: slices of the sRGB gamut and the simpler "in gamut" rules for the ab grid."""

import numpy as np
import pytest
import torch

from colorlab import bins, gamut
from colorlab.color import rgb_to_lab


def test_ab_plane_shapes_and_orientation():
    rgb, in_gamut = gamut.ab_plane(60, resolution=9, limit=80)
    assert rgb.shape == (9, 9, 3) and in_gamut.shape == (9, 9) and in_gamut.dtype == bool
    assert rgb.min() >= 0 and rgb.max() <= 1
    centre = rgb[4, 4]
    assert np.allclose(centre, centre[0], atol=1e-4)  # a = b = 0 is grey
    # Column index runs along a: a = +80 (last column, middle row) is reddish, a = -80 greenish.
    assert rgb[4, -1, 0] > rgb[4, -1, 1] and rgb[4, 0, 1] > rgb[4, 0, 0]
    # Row index runs along b: b = +80 (last row) is yellowish, b = -80 bluish.
    assert rgb[-1, 4, 2] < rgb[-1, 4, 0] and rgb[0, 4, 2] > rgb[0, 4, 0]


def test_ab_plane_gamut_mask_matches_round_trip():
    rgb, in_gamut = gamut.ab_plane(50, resolution=41)
    lab = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())
    axis = np.linspace(-gamut.AB_VIEW_LIMIT, gamut.AB_VIEW_LIMIT, 41)
    b, a = np.meshgrid(axis, axis, indexing="ij")
    moved = np.maximum(np.abs(lab[1].numpy() - a), np.abs(lab[2].numpy() - b))
    assert np.all(moved[in_gamut] < 1e-2)
    assert np.all(moved[~in_gamut] > 1e-4)
    assert 0.1 < in_gamut.mean() < 0.6


@pytest.mark.parametrize("l, resolution", [(-1, 5), (101, 5), (50, 1)])
def test_ab_plane_rejects_bad_arguments(l, resolution):
    with pytest.raises(ValueError):
        gamut.ab_plane(l, resolution)


def test_grid_points_in_gamut_count_and_subset_of_bins():
    points = gamut.grid_points_in_gamut()
    assert points.shape == (229, 2) and points.dtype == np.int64
    # A grid point displayable at some L lies inside the hull, so the 313-bin rule keeps it.
    kept = {tuple(p) for p in bins.ab_bins(dtype=torch.int64).tolist()}
    assert {tuple(p) for p in points.tolist()} <= kept
    assert np.all(np.lexsort((points[:, 1], points[:, 0])) == np.arange(len(points)))


@pytest.mark.slow
def test_grid_points_of_8bit_colours_count_and_spot_checks():
    points = gamut.grid_points_of_8bit_colours()
    assert points.shape == (261, 2)
    found = {tuple(p) for p in points.tolist()}
    assert (0, 0) in found  # greys
    # Pure sRGB red has a ≈ 80.1, b ≈ 67.2: rounds to (80, 70).
    assert (80, 70) in found
    assert (110, 110) not in found and (-110, 110) not in found
    kept = {tuple(p) for p in bins.ab_bins(dtype=torch.int64).tolist()}
    assert found <= kept
    assert np.all(np.lexsort((points[:, 1], points[:, 0])) == np.arange(len(points)))
