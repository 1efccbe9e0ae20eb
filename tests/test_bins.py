import numpy as np
import pytest
import torch

import colorlab as cl
from colorlab import bins


def test_shipped_bins_equal_the_authors(authors_bins):
    assert cl.ab_bins().shape == (cl.NUM_BINS, 2)
    np.testing.assert_array_equal(cl.ab_bins(torch.float64).numpy(), authors_bins)


@pytest.mark.slow
@pytest.mark.parametrize("steps", [32, 64])
def test_derivation_reproduces_shipped_and_authors_bins(steps, authors_bins):
    derived = cl.derive_ab_bins(steps)
    np.testing.assert_array_equal(derived, bins._shipped_bins())
    np.testing.assert_array_equal(derived, authors_bins)


def test_rule_has_margin():
    distance = bins.hull_linf_distance(bins.ab_grid())
    kept = distance < bins.KEEP_DISTANCE
    assert kept.sum() == cl.NUM_BINS
    assert distance[kept].max() < 9.8
    assert distance[~kept].min() > 10.05


def test_sorted_by_a_then_b():
    b = cl.ab_bins(torch.float64).numpy()
    order = np.lexsort((b[:, 1], b[:, 0]))
    np.testing.assert_array_equal(order, np.arange(cl.NUM_BINS))
    assert b[0].tolist() == [-90.0, 50.0]


def test_linf_distance_on_a_square():
    square = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    points = np.array([[5.0, 5.0], [13.0, 5.0], [13.0, 14.0], [-2.0, -7.0], [10.0, 10.0]])
    np.testing.assert_allclose(bins.hull_linf_distance(points, square), [0.0, 3.0, 4.0, 7.0, 0.0])


def test_linf_distance_to_a_slanted_edge():
    triangle = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    # The closest point of the edge x + y = 10 to (10, 10) in L∞ is (5, 5): distance 5.
    np.testing.assert_allclose(bins.hull_linf_distance(np.array([[10.0, 10.0]]), triangle), [5.0])


def test_ab_bins_dtype_and_device(device):
    b = cl.ab_bins(torch.float64, device)
    assert b.dtype == torch.float64 and b.device.type == device.type


def test_gamut_mask():
    a, b = np.meshgrid([0.0, 80.0, -100.0], [0.0, 60.0, 100.0], indexing="ij")
    mask = cl.ab_gamut_mask(50.0, a, b)
    assert mask.shape == a.shape
    assert mask[0, 0]  # neutral grey
    assert not mask[2, 2]  # a = -100, b = 100 is no sRGB colour
    assert not cl.ab_gamut_mask(100.0, np.array([20.0]), np.array([0.0]))[0]  # white cannot be coloured
