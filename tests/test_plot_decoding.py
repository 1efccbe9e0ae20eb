"""Chapter 5's decoding and receptive-field figures, the temperature widget, and the colour gradient behind the
effective receptive field."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.patches import Rectangle

import colorlab as cl
from colorlab import metrics, models, plot


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return models.ECCV16(width=0.0625).eval()


@pytest.fixture(scope="module")
def photo_and_logits(net):
    rgb = np.ascontiguousarray(cl.center_crop(cl.sample_photo("coffee"), 64))
    l = cl.rgb_to_lab(cl.to_tensor(rgb))[:, :1]
    with torch.no_grad():
        logits = net(models.normalize_l(l))
    return rgb, l, logits


def test_color_gradient_stays_inside_the_receptive_field(net):
    side = 384  # larger than the 349-pixel receptive field, so the field's edge shows
    l_norm = torch.rand(1, 1, side, side, generator=torch.Generator().manual_seed(0)) - 0.5
    gradient = models.color_gradient(net, l_norm, (0, 0))
    assert gradient.shape == (side, side) and gradient.dtype == torch.float32
    assert torch.isfinite(gradient).all() and gradient.sum() > 0
    rows, cols = torch.nonzero(gradient, as_tuple=True)
    field = models.receptive_fields(net)[-1].size
    # Cell (0, 0) sits at the top-left corner: its field reaches at most half its side into the photo.
    assert rows.max() < field / 2 + 4 and cols.max() < field / 2 + 4
    assert not net.training
    with pytest.raises(ValueError, match="cell must lie inside"):
        models.color_gradient(net, l_norm, (side, 0))
    with pytest.raises(ValueError, match="one image"):
        models.color_gradient(net, l_norm.repeat(2, 1, 1, 1), (0, 0))


def test_receptive_field_map_draws_full_squares_and_the_share_of_the_gradient(net, photo_and_logits):
    rgb, l, _ = photo_and_logits
    fields = {"dilated": models.receptive_fields(net),
              "plain": models.receptive_fields(models.ECCV16(0.0625, dilation=1))}
    gradient = np.zeros((64, 64))
    gradient[24:40, 24:40] = 1.0  # all of it in a 16-pixel square around the centre
    fig = plot.receptive_field_map(rgb, fields, gradient, share=1.0)
    field_ax, grad_ax = fig.axes[:2]
    squares = [p.get_width() for p in field_ax.patches if isinstance(p, Rectangle)]
    assert squares == [fields["dilated"][-1].size, fields["plain"][-1].size]
    # The canvas shows the whole of the largest square, far beyond the 64-pixel photo.
    assert field_ax.get_xlim()[1] - field_ax.get_xlim()[0] > fields["dilated"][-1].size
    assert [p.get_width() for p in grad_ax.patches if isinstance(p, Rectangle)] == [16]
    with pytest.raises(ValueError, match="photo's shape"):
        plot.receptive_field_map(rgb, fields, gradient[:10])
    with pytest.raises(ValueError, match="fields"):
        plot.receptive_field_map(rgb, {}, gradient)


def test_temperature_strip_decodes_as_the_model_colorizes(net, photo_and_logits):
    rgb, l, logits = photo_and_logits
    fig = plot.temperature_strip(rgb, logits, (1.0, 0.38, 0))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input L" and titles[-1].startswith("original")
    true_ab = cl.rgb_to_lab(cl.to_tensor(rgb).double())[0, 1:].numpy()
    for title, T in zip(titles[1:4], (1.0, 0.38, 0)):
        ab = net.colorize(l, T=T, size=None)[0].double().numpy()  # the full pipeline at the photo's size
        expected = 100 * metrics.auc(ab, true_ab)
        assert title.startswith(("mode" if T == 0 else f"T = {T:g}") + f": AuC {expected:.1f}%")
    assert len(plot.temperature_strip(rgb, logits, (0.5,)).axes) == 3
    with pytest.raises(ValueError, match="temperatures"):
        plot.temperature_strip(rgb, logits, (-1.0,))
    with pytest.raises(ValueError, match="logits"):
        plot.temperature_strip(rgb, logits[:, :5], (1.0,))


def test_temperature_widget_redraws_at_the_slider_value(drawn, photo_and_logits):
    pytest.importorskip("ipywidgets")
    from colorlab import widgets

    rgb, _, logits = photo_and_logits
    box = widgets.temperature_widget(rgb, logits)
    slider = box.controls["T"]
    values = [value for _, value in slider.options]  # a logarithmic scale from 0.01 to 1
    assert slider.value == pytest.approx(cl.T_ANNEALED) and (values[0], values[-1]) == (0.01, 1.0)
    assert np.allclose(np.diff(np.log10([v for v in values if v != cl.T_ANNEALED])), 0.05, atol=0.005)
    slider.value = values[14]  # 10^-1.3 ≈ 0.05
    assert [fig.axes[1].get_title().split(":")[0] for fig in drawn] == ["T = 0.38", "T = 0.0501"]
