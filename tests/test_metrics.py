"""Tests of colorlab.metrics: every metric on cases whose answer is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from colorlab import metrics
from colorlab.metrics import (
    AUC_MAX_DISTANCE,
    PSNR_MAX,
    accuracy_curve,
    auc,
    auc_rebalanced,
    bootstrap_ci,
    colorfulness,
    psnr,
    ssim,
)


def random_ab(shape=(2, 16, 24), seed=0, scale=40.0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, size=shape)


# ----------------------------------------------------------------------------------------------------- AuC


def test_auc_of_identical_ab_is_one():
    ab = random_ab()
    assert auc(ab, ab) == 1.0
    assert auc(torch.from_numpy(ab), torch.from_numpy(ab)) == 1.0


@pytest.mark.parametrize("d", [5, 10, 50, 145, 150])
def test_auc_of_constant_shift_matches_closed_form(d):
    # integer ab and a (3, 4, 5) shift keep every distance exact in floating point
    true = np.round(random_ab())
    pred = true.copy()
    pred[0] += 3 * d // 5
    pred[1] -= 4 * d // 5
    # accuracy is 0 for t < d and 1 for t ≥ d; the trapezoid adds half a step at the jump
    assert auc(pred, true) == pytest.approx((AUC_MAX_DISTANCE - d + 0.5) / AUC_MAX_DISTANCE, abs=1e-12)


def test_auc_of_shift_beyond_range_is_zero():
    true = random_ab()
    assert auc(true + 200.0, true) == 0.0


def test_auc_of_grey_prediction_of_a_constant_colour():
    true = np.zeros((2, 8, 8))
    true[0], true[1] = 30.0, -40.0  # |ab| = 50
    assert auc(np.zeros_like(true), true) == pytest.approx((150 - 50 + 0.5) / 150, abs=1e-12)


def test_auc_tends_to_the_continuous_area_with_fine_thresholds():
    true, pred = random_ab(seed=1), random_ab(seed=2)
    errors = np.sqrt(((pred - true) ** 2).sum(axis=0))
    exact = np.clip(1 - errors / 150, 0, 1).mean()
    fine = np.linspace(0, 150, 150_001)
    assert auc(pred, true, thresholds=fine) == pytest.approx(exact, abs=1e-4)
    assert auc(pred, true) == pytest.approx(exact, abs=5e-3)


def test_accuracy_curve_matches_a_direct_count():
    true, pred = random_ab(seed=3), random_ab(seed=4)
    errors = np.sqrt(((pred - true) ** 2).sum(axis=0)).ravel()
    expected = [(errors <= t).mean() for t in range(151)]
    np.testing.assert_allclose(accuracy_curve(pred, true), expected)


def test_auc_is_per_image_on_a_batch():
    true = np.round(np.stack([random_ab(seed=5), random_ab(seed=6)]))
    pred = true.copy()
    pred[1, 0] += 10.0
    values = auc(pred, true)
    assert isinstance(values, np.ndarray) and values.shape == (2,)
    np.testing.assert_allclose(values, [1.0, (150 - 10 + 0.5) / 150])
    assert auc(pred[1], true[1]) == values[1]


def test_auc_weights_count_pixels_by_weight():
    true = np.zeros((2, 1, 4))
    pred = true.copy()
    pred[0, 0, :2] = 10.0  # two pixels off by 10, two exact
    w = np.array([[3.0, 3.0, 1.0, 1.0]])
    # weighted share of exact pixels = 2/8; they score 1, the others (150 - 10 + 0.5)/150
    expected = 0.25 * 1.0 + 0.75 * (140.5 / 150)
    assert auc(pred, true, weights=w) == pytest.approx(expected, abs=1e-12)
    assert auc(pred, true) == pytest.approx(0.5 + 0.5 * 140.5 / 150, abs=1e-12)


def test_area_under_curve_is_what_auc_integrates():
    true, pred = random_ab(seed=12), random_ab(seed=13)
    assert metrics.area_under_curve(accuracy_curve(pred, true)) == auc(pred, true)
    assert metrics.area_under_curve(np.ones(151)) == 1.0
    with pytest.raises(ValueError, match="curve must have shape"):
        metrics.area_under_curve(np.ones(150))


def test_auc_rejects_bad_input():
    ab = random_ab()
    with pytest.raises(ValueError, match="pred_ab"):
        auc(ab[:1], ab)
    with pytest.raises(ValueError, match="same shape"):
        auc(ab[:, :4], ab)
    with pytest.raises(TypeError, match="pred_ab"):
        auc([[1.0]], ab)
    with pytest.raises(ValueError, match="thresholds"):
        auc(ab, ab, thresholds=[3.0, 1.0])
    with pytest.raises(ValueError, match="weights"):
        auc(ab, ab, weights=-np.ones(ab.shape[1:]))
    with pytest.raises(ValueError, match="both"):
        auc(ab, ab[None])


# ---------------------------------------------------------------------------------------- rebalanced AuC


def test_rebalanced_auc_equals_raw_auc_when_all_pixels_share_a_bin():
    true = np.zeros((2, 6, 6))
    true[0], true[1] = 20.0, 20.0
    pred = true + random_ab(shape=(2, 6, 6), seed=7, scale=10.0)
    assert auc_rebalanced(pred, true) == pytest.approx(auc(pred, true), abs=1e-12)


def test_rebalanced_auc_weights_rare_bins_by_inverse_prior():
    from colorlab.encode import nearest_bin
    from colorlab.prior import imagenet_prior

    prior = imagenet_prior().numpy()
    # left half: a common greyish colour, exact; right half: a saturated colour, off by 40
    true = np.zeros((2, 4, 8))
    true[:, :, 4:] = np.array([60.0, 60.0])[:, None, None]
    pred = true.copy()
    pred[0, :, 4:] += 40.0
    bins = nearest_bin(torch.from_numpy(true)[None]).numpy()[0]
    p_common, p_rare = prior[bins[0, 0]], prior[bins[0, 7]]
    assert p_rare < p_common
    w_common, w_rare = 1.0 / p_common, 1.0 / p_rare  # λ = 0: w ∝ 1/p, the normalisation cancels
    share_exact = w_common / (w_common + w_rare)
    expected = share_exact * 1.0 + (1 - share_exact) * (150 - 40 + 0.5) / 150
    assert auc_rebalanced(pred, true) == pytest.approx(expected, rel=1e-9)
    # the rare pixels are wrong, so rebalancing lowers the score below the raw one
    assert auc_rebalanced(pred, true) < auc(pred, true)


def test_rebalanced_auc_accepts_a_prior_and_batches():
    from colorlab.bins import NUM_BINS

    uniform = np.full(NUM_BINS, 1.0 / NUM_BINS)
    true = np.stack([random_ab(seed=8), random_ab(seed=9)])
    pred = np.stack([random_ab(seed=10), random_ab(seed=11)])
    # with a uniform prior every pixel weighs the same: the rebalanced AuC is the raw one
    np.testing.assert_allclose(auc_rebalanced(pred, true, prior=uniform), auc(pred, true), rtol=1e-12)


# ----------------------------------------------------------------------------------------------- PSNR, SSIM


def test_psnr_of_identical_images_is_capped():
    rgb = np.random.default_rng(0).integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    assert psnr(rgb, rgb) == PSNR_MAX


def test_psnr_of_a_known_error():
    true = np.full((8, 8, 3), 0.5)
    assert psnr(true + 0.1, true) == pytest.approx(20.0)
    # half the pixels off by 0.2: MSE = 0.02
    pred = true.copy()
    pred[:4] += 0.2
    assert psnr(pred, true) == pytest.approx(10 * math.log10(1 / 0.02))


def test_psnr_layouts_agree():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 256, size=(2, 12, 10, 3), dtype=np.uint8)
    pred = rng.integers(0, 256, size=(2, 12, 10, 3), dtype=np.uint8)
    from_uint8 = psnr(pred, true)
    from_torch = psnr(torch.from_numpy(pred).permute(0, 3, 1, 2) / 255.0,
                      torch.from_numpy(true).permute(0, 3, 1, 2) / 255.0)
    np.testing.assert_allclose(from_uint8, from_torch, rtol=1e-6)
    assert from_uint8.shape == (2,)


def test_ssim_identical_is_one_and_noise_lowers_it():
    rng = np.random.default_rng(2)
    true = rng.random((32, 32, 3))
    assert ssim(true, true) == pytest.approx(1.0)
    noisy = np.clip(true + rng.normal(0, 0.2, true.shape), 0, 1)
    assert ssim(noisy, true) < 0.9


def test_ssim_matches_scikit_image_settings():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(3)
    true, pred = rng.random((20, 24, 3)), rng.random((20, 24, 3))
    expected = structural_similarity(true, pred, data_range=1.0, channel_axis=-1)
    assert ssim(pred, true) == pytest.approx(expected)


def test_grey_prediction_keeps_ssim_high_but_loses_colour():
    """A grey colorization of a colour photo: same L, ab = 0. SSIM stays high, PSNR and AuC drop."""
    from colorlab import lab_to_rgb, rgb_to_lab, sample_photo, to_tensor

    rgb = to_tensor(sample_photo("chelsea")[::4, ::4].copy()).double()
    lab = rgb_to_lab(rgb)
    grey_lab = lab.clone()
    grey_lab[:, 1:] = 0
    grey = lab_to_rgb(grey_lab).clamp(0, 1)
    assert 0.5 < ssim(grey[0], rgb[0]) < 1.0
    assert psnr(grey[0], rgb[0]) < 40
    truth_ab, grey_ab = lab[0, 1:], grey_lab[0, 1:]
    errors = torch.linalg.vector_norm(truth_ab, dim=0).numpy()
    assert auc(grey_ab, truth_ab) == pytest.approx(np.clip(1 - errors / 150, 0, 1).mean(), abs=5e-3)


def test_psnr_ssim_reject_bad_input():
    a = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, np.zeros((8, 9, 3)))
    with pytest.raises(ValueError, match="pred_rgb"):
        psnr(np.zeros((8, 8)), a)
    with pytest.raises(TypeError, match="true_rgb"):
        ssim(a, np.zeros((8, 8, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="7x7"):
        ssim(np.zeros((5, 5, 3)), np.zeros((5, 5, 3)))


# ------------------------------------------------------------------------------------------- colourfulness


def test_colorfulness_of_grey_is_zero():
    grey = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[:, None, None], 3, axis=2)
    grey = np.repeat(grey, 5, axis=1)
    assert colorfulness(grey) == 0.0


def test_colorfulness_of_half_red_half_blue_by_hand():
    rgb = np.zeros((2, 4, 3), np.uint8)
    rgb[0, :, 0] = 255  # red:  rg = 255, yb = 127.5
    rgb[1, :, 2] = 255  # blue: rg = 0,   yb = -255
    # rg: mean 127.5, std 127.5; yb: mean -63.75, std 191.25 (population standard deviations)
    expected = math.sqrt(127.5 ** 2 + 191.25 ** 2) + 0.3 * math.sqrt(127.5 ** 2 + 63.75 ** 2)
    assert colorfulness(rgb) == pytest.approx(expected, rel=1e-12)


def test_colorfulness_uses_signed_opponents():
    """Red and green pixels: signed rg has mean 0, |rg| would have mean 255."""
    rgb = np.zeros((1, 2, 3), np.uint8)
    rgb[0, 0, 0] = 255
    rgb[0, 1, 1] = 255
    # rg = (255, -255): mean 0, std 255; yb = (127.5, 127.5): mean 127.5, std 0
    expected = 255.0 + 0.3 * 127.5
    assert colorfulness(rgb) == pytest.approx(expected)


def test_colorfulness_layouts_and_batches_agree():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, size=(3, 10, 12, 3), dtype=np.uint8)
    values = colorfulness(rgb)
    assert values.shape == (3,)
    as_tensor = torch.from_numpy(rgb).permute(0, 3, 1, 2).double() / 255
    np.testing.assert_allclose(colorfulness(as_tensor), values, rtol=1e-12)
    assert colorfulness(rgb[1]) == pytest.approx(values[1])


# ----------------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_more_values():
    rng = np.random.default_rng(5)
    widths = []
    for size in (20, 200, 2000):
        values = rng.normal(3.0, 1.0, size)
        mean, lo, hi = bootstrap_ci(values, n=2000)
        assert mean == pytest.approx(values.mean())
        assert lo < mean < hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    # the 95% interval of a mean is about ±1.96 σ/√n
    assert widths[2] == pytest.approx(2 * 1.96 / math.sqrt(2000), rel=0.15)


def test_bootstrap_is_reproducible_and_follows_the_level():
    values = np.arange(50.0)
    assert bootstrap_ci(values, n=500, seed=1) == bootstrap_ci(values, n=500, seed=1)
    _, lo90, hi90 = bootstrap_ci(values, n=2000, level=0.90)
    _, lo99, hi99 = bootstrap_ci(values, n=2000, level=0.99)
    assert lo99 < lo90 and hi90 < hi99


def test_bootstrap_of_one_value_and_bad_input():
    assert bootstrap_ci([2.5]) == (2.5, 2.5, 2.5)
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, float("inf")])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1.0, 2.0], level=1.5)


def test_summarize_has_the_json_form():
    summary = metrics.summarize([1.0, 2.0, 3.0], n=200)
    assert set(summary) == {"mean", "ci95"}
    assert summary["ci95"][0] <= summary["mean"] <= summary["ci95"][1]


def test_psnr_cap_only_touches_near_copies():
    true = np.full((256, 256, 3), 100, np.uint8)
    pred = true.copy()
    pred[0, 0, 0] += 1  # 10·log10(255² · 3 · 256²) ≈ 101.07 dB, above the cap
    assert psnr(pred, true) == PSNR_MAX
    pred = true.copy()
    pred[:16, :16] += 1  # 768 steps: ≈ 72.2 dB, untouched by the cap
    assert psnr(pred, true) == pytest.approx(10 * math.log10(255 ** 2 * 3 * 256 ** 2 / 768), rel=1e-9)
