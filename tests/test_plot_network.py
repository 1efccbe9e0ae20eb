"""Tests of colorlab.plot's chapter-5 section (the network): each figure draws the numbers it is given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import colorlab as cl
from colorlab import models, plot
from colorlab.bins import NUM_BINS


@pytest.fixture(scope="module")
def small_net():
    torch.manual_seed(0)
    return models.ECCV16(width=0.125).eval()


def test_network_blocks(small_net):
    rows = models.layer_table(small_net, 64)
    fig = plot.network_blocks(rows, input_size=64)
    assert isinstance(fig, Figure)
    diagram, costs = fig.axes[:2]
    boxes = [p for p in diagram.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(rows) + 1  # the input and every block
    # Box heights follow the output side: conv1 halves the input, conv3 is at 1/8, out at 1/4.
    heights = [b.get_height() for b in boxes]
    assert heights[1] == pytest.approx(heights[0] / 2) and heights[3] == pytest.approx(heights[0] / 8)
    assert heights[-1] == pytest.approx(heights[0] / 4)
    texts = [t.get_text() for t in diagram.texts]
    assert f"{NUM_BINS}×\n16×16" in texts
    bars = [p.get_height() for p in costs.patches]
    assert bars == pytest.approx([r.parameters / 1e6 for r in rows])
    flops_line = fig.axes[2].get_lines()[0]
    assert list(flops_line.get_ydata()) == pytest.approx([r.gflops for r in rows])


def test_receptive_field_growth():
    fields = {"dilated": models.receptive_fields(models.ECCV16(0.125)),
              "plain": models.receptive_fields(models.ECCV16(0.125, dilation=1))}
    photo = cl.sample_photo("chelsea")[::4, ::4]
    fig = plot.receptive_field_growth(fields, photo)
    growth, photo_ax = fig.axes
    for line, rows in zip(growth.get_lines(), fields.values()):
        assert list(line.get_ydata()) == [r.size for r in rows]
    squares = [p for p in photo_ax.patches if isinstance(p, Rectangle)]
    assert [s.get_width() for s in squares] == [fields["dilated"][-1].size, fields["plain"][-1].size]
    assert len(plot.receptive_field_growth(fields).axes) == 1
    with pytest.raises(ValueError, match="fields"):
        plot.receptive_field_growth({})


def test_bin_distribution(small_net):
    rgb = cl.sample_photo("chelsea")[:64, :96]
    l = cl.rgb_to_lab(cl.to_tensor(rgb))[:, :1]
    with torch.no_grad():
        logits = small_net(models.normalize_l(l))
    fig = plot.bin_distribution(rgb, logits, (3, 5))
    photo_ax, ab_ax = fig.axes[:2]
    grid = ab_ax.get_images()[-1].get_array()
    probs = torch.softmax(logits[0, :, 3, 5].double(), 0).numpy()
    assert np.nansum(grid.filled(np.nan)) == pytest.approx(1.0)
    assert np.nanmax(grid.filled(np.nan)) == pytest.approx(probs.max())
    true_star = ab_ax.get_lines()[-3]
    lab = cl.rgb_to_lab(cl.to_tensor(rgb).double())
    assert list(true_star.get_xdata()) + list(true_star.get_ydata()) == pytest.approx(lab[0, 1:, 12, 20].tolist())
    with pytest.raises(ValueError, match="cell"):
        plot.bin_distribution(rgb, logits, (16, 0))
    with pytest.raises(ValueError, match="logits"):
        plot.bin_distribution(rgb, logits[:, :10], (0, 0))


def test_bin_distribution_widget(small_net):
    pytest.importorskip("ipywidgets")
    from colorlab import widgets

    rgb = cl.sample_photo("chelsea")[:32, :32]
    with torch.no_grad():
        logits = small_net(models.normalize_l(cl.rgb_to_lab(cl.to_tensor(rgb))[:, :1]))
    box = widgets.bin_distribution_widget(rgb, logits, cell=(2, 3))
    assert [box.controls[name].options[-1][1] for name in ("row", "col")] == [7, 7]  # the 8 × 8 cells
    assert box.controls["row"].value == 2 and box.controls["T"].value == pytest.approx(0.38)
    box.controls["col"].value = 7  # redraws without error

