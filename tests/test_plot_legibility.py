"""The book's figures are drawn at the size the page shows them: text of at least 9 points, titles that fit."""

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.text import Text

import colorlab as cl
from colorlab import plot


@pytest.fixture(scope="module")
def figures():
    photo = np.ascontiguousarray(cl.sample_photo("astronaut")[::4, ::4])
    prior = cl.prior.imagenet_prior().numpy()
    return {
        "lab_channels": plot.lab_channels(photo),  # four panels with colorbars
        "loss_share": plot.loss_share(prior),  # three panels, long titles, a legend asked for in "small"
        "soft_encoding_pixel": plot.soft_encoding_pixel(23.0, -41.0),  # labels asked for in 8 points
        "ab_bins_grid": plot.ab_bins_grid(50.0),  # one panel narrower than the page
    }


def drawn(fig):
    fig.savefig(io.BytesIO(), format="png")
    return fig


def test_figures_fit_the_page_at_its_pixel_density(figures):
    for name, fig in figures.items():
        width, height = fig.get_size_inches()
        assert width <= plot.PAGE_WIDTH + 1e-9, name
        assert fig.dpi == plot.DPI, name
    # Narrow figures keep their size; wide ones are scaled down as a whole, keeping their proportions.
    assert tuple(figures["ab_bins_grid"].get_size_inches()) == pytest.approx((5.0, 5.0))
    assert figures["loss_share"].get_size_inches() == pytest.approx(np.array([3 * 3.7, 3.6]) * plot.PAGE_WIDTH / 11.1)


def test_no_text_is_drawn_below_the_minimum_size(figures):
    for name, fig in figures.items():
        sizes = [text.get_fontsize() for text in drawn(fig).findobj(Text) if text.get_text()]
        assert min(sizes) >= plot.MIN_FONT_SIZE, name
    assert any(t.get_fontsize() == plot.MIN_FONT_SIZE for t in figures["soft_encoding_pixel"].findobj(Text))


def test_panel_titles_do_not_overlap(figures):
    fig = drawn(figures["loss_share"])
    renderer = fig._get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    assert len(boxes) == 3
    for left, right in zip(boxes, boxes[1:]):
        assert left.x1 <= right.x0, (left, right)
    assert "\n" in fig.axes[0].get_title()  # "share of the loss, no rebalancing" was wrapped to fit


def test_a_title_that_fits_is_left_alone():
    fig = plot.ab_gamut_planes((50,), resolution=21)
    title = fig.axes[0].get_title()
    assert drawn(fig).axes[0].get_title() == title
