"""Tests of colorlab.plot (chapters 1–4): every function returns a Figure whose contents match its data."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

import colorlab as cl
from colorlab import bins, plot
from colorlab.bins import NUM_BINS


@pytest.fixture(scope="module")
def photo():
    """A small real photo: chelsea, every 6th pixel (50 × 76)."""
    return np.ascontiguousarray(cl.sample_photo("chelsea")[::6, ::6])


@pytest.fixture(scope="module")
def prior():
    """A random prior over the bins with some empty bins, as a sample of photos gives."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(NUM_BINS, 0.3))
    p[rng.choice(NUM_BINS, 40, replace=False)] = 0.0
    return p / p.sum()


def images(ax):
    return [child for child in ax.get_children() if isinstance(child, AxesImage)]


def scatters(ax):
    return [child for child in ax.collections if isinstance(child, PathCollection)]


def render(fig):
    """Draw the figure to a PNG in memory, as a notebook would."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getvalue()[:4] == b"\x89PNG"


# -- chapter 1 --------------------------------------------------------------------------------------------------


def test_lab_channels_shows_the_photo_and_its_lab_channels(photo):
    fig = plot.lab_channels(photo)
    assert isinstance(fig, Figure)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["sRGB photo", "L (lightness)", "a (green – red)", "b (blue – yellow)"]
    assert len(fig.axes) == 4 + 3  # three colorbars
    lab = cl.rgb_to_lab(cl.to_tensor(photo).double())[0].numpy()
    for ax, channel in zip(titled[1:], lab):
        (image,) = images(ax)
        np.testing.assert_allclose(image.get_array(), channel, atol=1e-6)
    l_image = images(titled[1])[0]
    assert l_image.get_clim() == (0.0, 100.0)
    # The a colormap runs green → red, the b colormap blue → yellow.
    a_map, b_map = images(titled[2])[0].get_cmap(), images(titled[3])[0].get_cmap()
    assert a_map(0.0)[1] > a_map(0.0)[0] and a_map(1.0)[0] > a_map(1.0)[1]
    assert b_map(0.0)[2] > b_map(0.0)[0] and b_map(1.0)[0] > b_map(1.0)[2]
    render(fig)


def test_lab_channels_accepts_tensors_and_rejects_bad_input(photo):
    tensor = cl.to_tensor(photo)
    fig = plot.lab_channels(tensor[0], ab_limit=40)
    assert images(fig.axes[2])[0].get_clim() == (-40, 40)
    with pytest.raises(ValueError, match="rgb"):
        plot.lab_channels(photo.astype(np.float32))
    with pytest.raises(ValueError, match="rgb"):
        plot.lab_channels(torch.rand(2, 3, 4, 4))
    with pytest.raises(TypeError, match="rgb"):
        plot.lab_channels([[0, 0, 0]])


def test_ab_gamut_planes_marks_out_of_gamut_grey():
    fig = plot.ab_gamut_planes((30, 70), resolution=41)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2
    assert panels[0].get_title().startswith("L = 30: ") and panels[1].get_title().startswith("L = 70: ")
    rgb = images(panels[0])[0].get_array()
    assert rgb.shape == (41, 41, 3)
    corner, centre = rgb[0, 0], rgb[20, 20]  # (a, b) = (-115, -115): outside sRGB; (0, 0): neutral grey
    np.testing.assert_allclose(corner, 0.82)
    grey_l30 = cl.lab_to_rgb(torch.tensor([30.0, 0, 0]).view(3, 1, 1)).flatten().numpy()
    np.testing.assert_allclose(centre, grey_l30, atol=1e-3)
    share = [float(ax.get_title().split(": ")[1].split("%")[0]) for ax in panels]
    assert all(0 < s < 100 for s in share)
    assert len(panels[0].get_lines()) == 1  # the hull outline
    render(fig)


def test_ab_gamut_planes_rejects_empty_lightness():
    with pytest.raises(ValueError, match="lightness"):
        plot.ab_gamut_planes(())


# -- chapter 2 --------------------------------------------------------------------------------------------------


def test_ab_bins_grid_draws_every_bin():
    fig = plot.ab_bins_grid()
    (ax,) = fig.axes
    (points,) = scatters(ax)
    assert points.get_offsets().shape == (NUM_BINS, 2)
    np.testing.assert_array_equal(points.get_offsets(), bins.ab_bins(dtype=torch.float64).numpy())
    assert ax.get_title().startswith(f"{NUM_BINS} ab bins")
    render(fig)


def test_bin_derivation_draws_kept_rejected_and_margin_squares():
    fig = plot.bin_derivation(examples=2)
    (ax,) = fig.axes
    gamut_points, kept, rejected = scatters(ax)
    assert kept.get_offsets().shape == (NUM_BINS, 2)
    assert len(kept.get_offsets()) + len(rejected.get_offsets()) == len(bins.ab_grid())
    squares = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(squares) == 4 and all(s.get_width() == 2 * bins.GRID_STEP for s in squares)
    distances = sorted(float(t.get_text()) for t in ax.texts)
    assert distances[1] < bins.KEEP_DISTANCE <= distances[2]  # two kept below the threshold, two rejected above
    assert str(NUM_BINS) in ax.get_title()
    render(fig)


def test_bin_rules_one_panel_per_rule():
    rules = {"all": bins.ab_grid(), "kept": bins.derive_ab_bins(), "three": np.array([[0, 0], [10, 0], [0, 10]])}
    fig = plot.bin_rules(rules)
    assert len(fig.axes) == 3
    for ax, (name, points) in zip(fig.axes, rules.items()):
        assert ax.get_title() == f"{name}: {len(points)} points"
        assert len(scatters(ax)[0].get_offsets()) == len(points)
    with pytest.raises(ValueError, match="rules"):
        plot.bin_rules({"bad": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="rules"):
        plot.bin_rules({})


def test_quantization_example_error_is_below_half_a_cell_diagonal(photo):
    fig = plot.quantization_example(photo)
    ax_photo, ax_quantized, ax_error = fig.axes[:3]
    error = images(ax_error)[0].get_array()
    assert error.shape == photo.shape[:2]
    # Every in-gamut ab lies in the Voronoi cell of a bin: at most half the diagonal of a 10 × 10 square away.
    assert 0 < error.max() <= bins.GRID_STEP * np.sqrt(2) / 2 + 1e-6
    assert f"mean {error.mean():.2f}" in ax_error.get_title()
    quantized = images(ax_quantized)[0].get_array()
    original = images(ax_photo)[0].get_array()
    assert quantized.shape == original.shape and not np.allclose(quantized, original)
    render(fig)


# -- chapter 3 --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 10])
def test_soft_encoding_pixel_bars_are_the_weights(k):
    fig = plot.soft_encoding_pixel(23.0, -41.0, k=k, sigma=5.0)
    ax, bar_ax = fig.axes
    heights = np.array([bar.get_height() for bar in bar_ax.patches])
    assert len(heights) == k
    assert heights.sum() == pytest.approx(1.0)
    assert np.all(np.diff(heights) <= 1e-12)  # nearest bin first, so weights decrease
    index, weight = cl.encode.soft_encode_sparse(torch.tensor([23.0, -41.0], dtype=torch.float64).view(1, 2, 1, 1), k, 5.0)
    np.testing.assert_allclose(heights, weight.flatten().numpy())
    centres = bins.ab_bins(dtype=torch.float64).numpy()[index.flatten().numpy()]
    labels = [t.get_text() for t in bar_ax.get_xticklabels()]
    assert labels == [f"({a:.0f}, {b:.0f})" for a, b in centres]
    assert f"{k} nearest bins" in ax.get_title()
    render(fig)


def test_soft_encoding_pixel_on_a_bin_centre_with_narrow_sigma_is_nearly_one_hot():
    fig = plot.soft_encoding_pixel(0.0, 0.0, k=5, sigma=2.0)
    heights = [bar.get_height() for bar in fig.axes[1].patches]
    assert heights[0] > 0.99


def test_soft_encoding_map_ranges(photo):
    fig = plot.soft_encoding_map(photo, k=5, sigma=5.0)
    titled = [ax for ax in fig.axes if ax.get_title()]
    max_weight = images(titled[1])[0].get_array()
    entropy = images(titled[2])[0].get_array()
    assert max_weight.shape == entropy.shape == photo.shape[:2]
    assert max_weight.min() >= 1 / 5 - 1e-9 and max_weight.max() <= 1 + 1e-9
    assert entropy.min() >= -1e-9 and entropy.max() <= np.log2(5) + 1e-9
    # One-hot-ish pixels have low entropy: the two maps are strongly anti-correlated.
    assert np.corrcoef(max_weight.ravel(), entropy.ravel())[0, 1] < -0.8
    render(fig)


# -- chapter 4 --------------------------------------------------------------------------------------------------


def test_prior_maps_one_panel_per_prior_and_empty_bins_left_blank(prior):
    fig = plot.prior_maps({"random": prior, "uniform": np.full(NUM_BINS, 1 / NUM_BINS)})
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2 and len(fig.axes) == 3  # plus one shared colorbar
    assert panels[0].get_title() == f"random\n{(prior > 0).sum()} bins with p > 0"
    assert panels[1].get_title() == f"uniform\n{NUM_BINS} bins with p > 0"
    values = images(panels[0])[-1].get_array()
    assert values.count() == (prior > 0).sum()  # masked: off-grid cells and empty bins
    np.testing.assert_allclose(np.sort(values.compressed()), np.sort(prior[prior > 0]))
    render(fig)


def test_prior_maps_colour_scale_spans_the_dynamic_range(prior):
    tails = prior.copy()
    tails[0] = 1e-60  # a far Gaussian tail must not stretch the scale
    fig = plot.prior_maps({"tails": tails}, dynamic_range=1e4)
    norm = images(fig.axes[0])[-1].norm
    assert norm.vmax == pytest.approx(tails.max()) and norm.vmin == pytest.approx(tails.max() / 1e4)


def test_prior_maps_rejects_bad_shapes():
    with pytest.raises(ValueError, match="priors"):
        plot.prior_maps({"short": np.ones(10)})
    with pytest.raises(ValueError, match="priors"):
        plot.prior_maps({})


def test_weights_vs_prior_one_curve_per_lambda(prior):
    lams = (0.0, 0.5, 1.0)
    fig = plot.weights_vs_prior(prior, lams)
    (ax,) = fig.axes
    curves = ax.get_lines()[: len(lams)]
    assert [c.get_label() for c in curves] == ["λ = 0", "λ = 0.5", "λ = 1"]
    for curve in curves:
        assert len(curve.get_xdata()) == (prior > 0).sum()
    np.testing.assert_allclose(curves[2].get_ydata(), 1.0)  # λ = 1: no rebalancing
    # λ = 0: w ∝ 1 / p, so w · p is constant.
    product = curves[0].get_xdata() * curves[0].get_ydata()
    np.testing.assert_allclose(product, product[0], rtol=1e-9)
    render(fig)


def test_weight_maps_shared_scale(prior):
    fig = plot.weight_maps(prior, (0.0, 0.5))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["λ = 0", "λ = 0.5"]
    norms = [images(ax)[-1].norm for ax in panels]
    assert norms[0].vmin == norms[1].vmin and norms[0].vmax == norms[1].vmax
    render(fig)


def test_loss_share_curves_end_at_one_and_rebalancing_spreads_the_loss(prior):
    fig = plot.loss_share(prior, lam=0.5, top=10)
    curve_ax = fig.axes[2]
    before, after = curve_ax.get_lines()[:2]
    assert before.get_ydata()[-1] == pytest.approx(1.0) and after.get_ydata()[-1] == pytest.approx(1.0)
    assert after.get_ydata()[9] < before.get_ydata()[9]  # the frequent bins carry less after rebalancing
    assert f"top 10 carry {100 * before.get_ydata()[9]:.0f}%" in before.get_label()
    render(fig)


def test_prior_figures_accept_the_imagenet_prior_tensor_or_array():
    p = cl.prior.imagenet_prior()
    for fig in (plot.prior_maps({"ImageNet": p}), plot.weights_vs_prior(torch.as_tensor(p)), plot.loss_share(p)):
        assert isinstance(fig, Figure)


def test_ab_bins_grid_marks_bins_out_of_gamut_at_that_lightness():
    fig = plot.ab_bins_grid(l=30, mark_out_of_gamut=True)
    (ax,) = fig.axes
    shown, hollow = scatters(ax)
    centres = bins.ab_bins(dtype=torch.float64).numpy()
    mask = bins.ab_gamut_mask(30.0, centres[:, 0], centres[:, 1])
    assert len(shown.get_offsets()) == mask.sum() > 0
    assert len(shown.get_offsets()) + len(hollow.get_offsets()) == NUM_BINS
    assert ax.get_title() == f"L = 30: {mask.sum()} of {NUM_BINS} bins displayable"
    assert len(hollow.get_facecolors()) == 0  # hollow squares


def test_pixel_weight_map_moves_the_loss_away_from_grey(photo):
    w = cl.rebalance_weights(cl.imagenet_prior(), lam=0.5)
    fig = plot.pixel_weight_map(photo, w)
    weight_ax, bar_ax = fig.axes[1], fig.axes[2]
    weight = images(weight_ax)[0].get_array()
    assert weight.shape == photo.shape[:2]
    assert weight.min() >= w.min().item() - 1e-9 and weight.max() <= w.max().item() + 1e-9
    pixel_share, loss_share = [bar.get_height() for bar in bar_ax.patches]
    assert 0 < loss_share < pixel_share  # near-grey pixels weigh less than average
    # With every weight 1, the two shares agree.
    fig = plot.pixel_weight_map(photo, np.ones(NUM_BINS))
    pixel_share, loss_share = [bar.get_height() for bar in fig.axes[2].patches]
    assert loss_share == pytest.approx(pixel_share)
