"""The book's figures are drawn at the size the page shows them: text of at least 9 points, titles that fit, and
no text outside its figure, over other text, or legends over the data (checked on every figure of colorlab.plot)."""

import inspect
from unittest import mock

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from IPython.core.pylabtools import print_figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.text import Text

import colorlab as cl
from colorlab import plot


# ---------------------------------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------------------------------


def page_problems(fig: Figure, tol: float = 1.0, *, as_frame: bool = False) -> list[str]:
    """What is illegible in ``fig`` as the notebook shows it, one line per problem (none: an empty list).

    The figure is rendered as the inline backend renders it (``print_figure(fig, "png", bbox_inches="tight")``)
    and its last draw, the one in the PNG, is checked: the PNG is no larger than the figure (plus the crop's
    padding: nothing was drawn past the figure's edges), every text drawn lies inside it and overlaps no other
    (by more than ``tol`` pixels each way), and no legend covers data (:func:`_data_under`). With ``as_frame``
    it is rendered as a widget's frame is (:class:`colorlab.widgets.Frames`: the figure's own canvas, no crop),
    where a text past the figure's edges is cut off.
    """
    drawn, found = [], []
    room = fig.bbox.size + 2 * matplotlib.rcParams["savefig.pad_inches"] * fig.dpi + tol
    draw_text = Text.draw

    def recording(text, renderer):
        if text.get_visible() and text.get_text().strip():
            drawn.append(text)
        return draw_text(text, renderer)

    def check(event):  # at the end of each draw; the last one is the PNG's
        size = np.array(event.renderer.get_canvas_width_height())
        found[:] = [f"drawn past the figure's edges: {size.round()} pixels"] if (size > room).any() else []
        found.extend(_text_problems(list(dict.fromkeys(drawn)), event.renderer, tol))
        found.extend(_legend_problems(fig, event.renderer))
        drawn.clear()

    canvas = FigureCanvasAgg(fig) if as_frame else fig.canvas
    callback = canvas.mpl_connect("draw_event", check)
    try:
        with mock.patch.object(Text, "draw", recording):
            canvas.draw() if as_frame else print_figure(fig, "png", bbox_inches="tight")
    finally:
        canvas.mpl_disconnect(callback)
    return found


def _text_problems(texts: list[Text], renderer, tol: float) -> list[str]:
    """Texts (drawn, with their extents in ``renderer``'s pixels) outside the canvas or over one another."""
    width, height = renderer.get_canvas_width_height()
    boxes = [(text, text.get_window_extent(renderer)) for text in texts]
    found = [f"outside the figure: {text.get_text()!r} at {np.round(box.extents)}" for text, box in boxes
             if box.x0 < -tol or box.y0 < -tol or box.x1 > width + tol or box.y1 > height + tol]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            across = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            up = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if across > tol and up > tol:
                found.append(f"overlap: {a.get_text()!r} / {b.get_text()!r}")
    return found


def _legend_problems(fig: Figure, renderer) -> list[str]:
    """Legends (of the figure or of an axes) drawn over data of any axes."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    found = []
    for legend in legends:
        box = legend.get_window_extent(renderer).shrunk(0.98, 0.98)
        found += [f"legend {[t.get_text() for t in legend.get_texts()]} over {what}"
                  for ax in fig.axes for what in _data_under(ax, box, renderer)]
    return found


def _data_under(ax, box, renderer) -> list[str]:
    """The data of ``ax`` that reach into ``box`` (display pixels): labelled lines (their vertices, and their
    segments unless the line has none), error bars and their caps, bars, labelled scatters.

    Left out, as a legend may lie over them: images (a legend on a photo or a map is read against it), filled
    bands and spans (fill_between, axhspan: what a band shows is its edge, which the lines draw), outline
    patches that are not bars (e.g. squares drawn on a photo), and unlabelled lines (axhline/axvline guides,
    markers placed on a photo), which reach across the whole axes."""
    found = []
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            lines += [line for line in container.lines[1] if line is not None]
            found += [f"error bars of {ax.get_xlabel()!r}" for collection in container.lines[2]
                      if _path_under(collection.get_transform(), collection.get_paths(), box, True)]
        if isinstance(container, BarContainer):
            found += [f"a bar of {ax.get_xlabel() or ax.get_title()!r}" for bar in container
                      if bar.get_window_extent(renderer).overlaps(box)]
    found += [f"line {line.get_label()!r}" for line in lines
              if _path_under(line.get_transform(), [line.get_path()], box, line.get_linestyle() not in ("None", ""))]
    found += [f"scatter {c.get_label()!r}" for c in ax.collections
              if isinstance(c, PathCollection) and not c.get_label().startswith("_")
              and box.count_contains(c.get_offset_transform().transform(c.get_offsets()))]
    return found


def _path_under(transform, paths, box, segments: bool) -> bool:
    """Whether a vertex of one of ``paths`` (or, with ``segments``, a segment) lies in ``box``."""
    for path in paths:
        path = transform.transform_path(path)
        if box.count_contains(path.vertices) or (segments and path.intersects_bbox(box, filled=False)):
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# Every figure of colorlab.plot
# ---------------------------------------------------------------------------------------------------------------


def _small(name: str, step: int = 4) -> np.ndarray:
    return np.ascontiguousarray(cl.sample_photo(name)[::step, ::step])


def gallery() -> dict:
    """``{name: () → Figure}``: every public figure function of colorlab.plot (some twice), on small real inputs:
    the committed models and evaluation, sample photos, full-width networks built on the meta device."""
    rgb = _small("astronaut")  # 128 × 128
    prior = cl.prior.imagenet_prior().numpy()
    model, regressor = cl.load_pretrained("classification"), cl.load_pretrained("regression")
    l = cl.rgb_to_lab(cl.to_tensor(rgb))[:, :1]
    with torch.no_grad():
        logits, crop_logits = model(cl.normalize_l(l)), model(cl.normalize_l(l[..., :64, :64]))
    with torch.device("meta"):
        net, plain = cl.ECCV16(width=1.0), cl.ECCV16(width=1.0, dilation=1)
    fields = {"dilated conv5–6 (paper)": cl.receptive_fields(net), "no dilation": cl.receptive_fields(plain)}
    torch.manual_seed(0)
    gradient = cl.color_gradient(cl.ECCV16(width=0.0625).eval(), cl.normalize_l(l[..., :64, :64]), (8, 8))
    photos = {name: cl.evaluate.ground_truth(cl.sample_photo(name), 32) for name in ("chelsea", "coffee")}
    sweep = cl.temperature_sweep(photos, model, (0.01, 0.1, 0.38, 1.0), size=32, bootstrap=20)
    validation = cl.pretrained.load_evaluation("validation")
    curves = validation["accuracy_curves"]
    records = [dict(step=s, loss=5 - s / 100, lr=3e-5 if s < 200 else 1e-5, images_per_s=20.0 + s % 7)
               for s in range(10, 400, 10)]
    rules = {"the book's rule (L∞ distance < 10)": cl.ab_bins().numpy(), "a subset": cl.ab_bins().numpy()[:200]}
    models = {"classifier": model, "L2": regressor}
    return {
        "lab_channels": lambda: plot.lab_channels(rgb),
        "ab_gamut_planes": lambda: plot.ab_gamut_planes((25, 50, 75), resolution=61),
        "ab_bins_grid": lambda: plot.ab_bins_grid(50.0, mark_out_of_gamut=True),
        "bin_derivation": lambda: plot.bin_derivation(),
        "bin_rules": lambda: plot.bin_rules(rules),
        "quantization_example": lambda: plot.quantization_example(rgb),
        "soft_encoding_pixel": lambda: plot.soft_encoding_pixel(23.0, -41.0),
        "soft_encoding_map": lambda: plot.soft_encoding_map(rgb),
        "prior_maps": lambda: plot.prior_maps({"ImageNet (authors)": prior, "empirical": prior}),
        "weights_vs_prior": lambda: plot.weights_vs_prior(prior),
        "weight_maps": lambda: plot.weight_maps(prior),
        "loss_share": lambda: plot.loss_share(prior),
        "pixel_weight_map": lambda: plot.pixel_weight_map(rgb, cl.rebalance_weights(cl.imagenet_prior(), lam=0.5)),
        "network_blocks": lambda: plot.network_blocks(cl.layer_table(net, 256), input_size=256),
        "receptive_field_growth": lambda: plot.receptive_field_growth(fields),
        "receptive_field_growth_photo": lambda: plot.receptive_field_growth(fields, rgb),
        "receptive_field_map": lambda: plot.receptive_field_map(rgb[:64, :64], fields, gradient),
        "bin_distribution": lambda: plot.bin_distribution(rgb, logits, (12, 20)),
        "temperature_strip": lambda: plot.temperature_strip(rgb[:64, :64], crop_logits),
        "training_curves": lambda: plot.training_curves(records),
        "colorization_grid": lambda: plot.colorization_grid(model, photos, size=32),
        "method_comparison": lambda: plot.method_comparison(validation),
        "accuracy_curves": lambda: plot.accuracy_curves({m: curves[m] for m in validation["methods"]},
                                                        curves["thresholds"]),
        "temperature_curves": lambda: plot.temperature_curves(sweep),
        "ranked_colorizations": lambda: plot.ranked_colorizations(photos, {k: v[..., ::-1].copy() for k, v in photos.items()},
                                                                  {"chelsea": 0.9, "coffee": 0.8}, n=1, label="AuC"),
        "model_gallery": lambda: plot.model_gallery(photos, models, size=32),
        "model_comparison": lambda: plot.model_comparison(photos["chelsea"], models, size=32),
    }


GALLERY = gallery()


def figure_functions() -> set[str]:
    """Names of colorlab.plot's public functions that return a Figure."""
    return {name for name, function in inspect.getmembers(plot, inspect.isfunction)
            if not name.startswith("_") and function.__module__ == plot.__name__
            and inspect.signature(function).return_annotation in (Figure, "Figure")}


def test_the_gallery_holds_every_figure_function():
    covered = {name.removesuffix("_photo") for name in GALLERY}
    assert figure_functions() - covered == set()
    assert len(figure_functions()) > 20


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_no_text_is_clipped_or_covered(name):
    assert page_problems(GALLERY[name]()) == []


#: The figures the widgets redraw as frames (colorlab.widgets calls their functions).
FRAME_FIGURES = sorted(name for name in GALLERY if f"plot.{name}(" in inspect.getsource(cl.widgets))


@pytest.mark.parametrize("name", FRAME_FIGURES)
def test_no_text_is_cut_off_in_a_widget_frame(name):
    assert page_problems(GALLERY[name](), as_frame=True) == []


def test_the_widget_figures_are_found():
    assert {"ab_gamut_planes", "loss_share", "bin_distribution", "soft_encoding_pixel"} <= set(FRAME_FIGURES)


def test_the_checker_finds_what_it_looks_for():
    fig = Figure(figsize=(3, 2), dpi=plot.DPI, layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="data")
    ax.bar([0.1], [0.9], width=0.1)
    ax.legend(loc="upper left")
    ax.set_title("a title much too long for a figure as narrow as three inches")
    ax.text(0.5, 0.5, "here")
    ax.text(0.5, 0.5, "there")
    found = page_problems(fig)
    assert any(p.startswith("drawn past the figure's edges") for p in found)
    assert "overlap: 'here' / 'there'" in found
    assert any("over a bar" in p for p in found)
    fig = Figure(figsize=(3, 2), dpi=plot.DPI)
    ax = fig.subplots()
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50), label="data")
    ax.legend(loc="upper left")
    assert page_problems(fig) == []  # a legend beside a line


# ---------------------------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figures():
    return {name: GALLERY[name]() for name in ("lab_channels", "loss_share", "soft_encoding_pixel", "ab_bins_grid")}


def drawn(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_figures_fit_the_page_at_its_pixel_density(figures):
    for name, fig in figures.items():
        width, height = fig.get_size_inches()
        assert width <= plot.PAGE_WIDTH + 1e-9, name
        assert fig.dpi == plot.DPI, name
    # Narrow figures keep their size; wide ones are scaled down as a whole, keeping their proportions.
    assert tuple(figures["ab_bins_grid"].get_size_inches()) == pytest.approx((5.0, 5.0))
    width, height = figures["loss_share"].get_size_inches()
    assert width == pytest.approx(plot.PAGE_WIDTH) and height < width / 2


def test_no_text_is_drawn_below_the_minimum_size(figures):
    for name, fig in figures.items():
        drawn(fig)
        sizes = [text.get_fontsize() for text in fig.findobj(Text) if text.get_text()]
        assert min(sizes) >= plot.MIN_FONT_SIZE, name
    assert any(t.get_fontsize() == plot.MIN_FONT_SIZE for t in figures["soft_encoding_pixel"].findobj(Text))


def test_panel_titles_do_not_overlap(figures):
    fig = figures["loss_share"]
    renderer = drawn(fig)
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    assert len(boxes) == 3
    for left, right in zip(boxes, boxes[1:]):
        assert left.x1 <= right.x0, (left, right)
    assert "\n" in fig.axes[0].get_title()  # "share of the loss, no rebalancing" was wrapped to fit


def test_a_title_that_fits_is_left_alone():
    fig = plot.ab_gamut_planes((50,), resolution=21)
    title = fig.axes[0].get_title()
    drawn(fig)
    assert fig.axes[0].get_title() == title


def test_wrapping_keeps_comparisons_together_and_is_done_once():
    fig = plot.pixel_weight_map(_small("astronaut", 8), np.ones(cl.NUM_BINS))
    print_figure(fig, "png", bbox_inches="tight")
    title = fig.axes[2].get_title()
    assert "chroma < 10" in title.replace("\n", " ") and "<\n" not in title and "\n10" not in title
    print_figure(fig, "png", bbox_inches="tight")
    assert fig.axes[2].get_title() == title  # shown again, it is wrapped from the words it was given
