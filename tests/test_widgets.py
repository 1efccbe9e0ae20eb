"""Tests of colorlab.widgets: each widget builds, draws its first figure, and redraws when a control moves."""

import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

import colorlab as cl
from colorlab import plot

widgets = pytest.importorskip("ipywidgets")
from colorlab import widgets as cl_widgets  # noqa: E402



def spy(monkeypatch, name):
    """Wrap colorlab.plot.<name> so the test sees the arguments of every call."""
    seen = []
    original = getattr(plot, name)

    def wrapper(*args, **kwargs):
        seen.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(plot, name, wrapper)
    return seen


def test_importing_colorlab_does_not_import_ipywidgets():
    code = "import sys, colorlab, colorlab.widgets, colorlab.plot; print('ipywidgets' in sys.modules)"
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_gamut_slice_widget_redraws_for_each_lightness(drawn, monkeypatch):
    calls = spy(monkeypatch, "ab_gamut_planes")
    box = cl_widgets.gamut_slice_widget(l=40, resolution=21)
    assert isinstance(box, widgets.VBox)
    assert isinstance(box.output, widgets.Output)
    slider = box.controls["l"]
    assert slider.value == 40 and (slider.options[0][1], slider.options[-1][1]) == (0, 100)
    for value in (10, 90):
        slider.value = value
    assert [args[0] for args, _ in calls] == [(40,), (10,), (90,)]
    assert [fig.axes[0].get_title().split(":")[0] for fig in drawn] == ["L = 40", "L = 10", "L = 90"]


def test_soft_encoding_widget_redraws_with_every_control(drawn, monkeypatch):
    calls = spy(monkeypatch, "soft_encoding_pixel")
    box = cl_widgets.soft_encoding_widget(a=10.0, b=20.0)
    assert set(box.controls) == {"a", "b", "k", "sigma"}
    box.controls["a"].value = -60.0
    box.controls["k"].value = 8
    box.controls["sigma"].value = 2.5
    assert len(drawn) == 4
    args, kwargs = calls[-1]
    assert args == (-60.0, 20.0) and kwargs == {"k": 8, "sigma": 2.5}
    bars = drawn[-1].axes[1].patches
    assert len(bars) == 8 and sum(bar.get_height() for bar in bars) == pytest.approx(1.0)


def test_rebalancing_widget_reports_the_normalisation(drawn, monkeypatch, capsys):
    calls = spy(monkeypatch, "loss_share")
    prior = cl.prior.imagenet_prior()
    box = cl_widgets.rebalancing_widget(prior, lam=0.5)
    box.controls["lam"].value = 0.2
    box.controls["lam"].value = 1.0
    assert [kwargs["lam"] for _, kwargs in calls] == [0.5, 0.2, 1.0]
    assert len(drawn) == 3
    # Outside a kernel, clearing the output area prints a terminal escape sequence before each drawing.
    printed = [line[line.index("λ"):] for line in capsys.readouterr().out.splitlines() if "λ" in line]
    assert len(printed) == 3
    assert printed[0].startswith("λ = 0.50: weights from 0.097 to 6.175")
    assert all(line.endswith("Σ p·w = 1.0000") for line in printed)
    assert printed[2].startswith("λ = 1.00: weights from 1.000 to 1.000")


def test_widgets_display_real_figures_without_a_kernel():
    # Not patched: the real display path runs (outside a kernel it prints the figure's repr).
    box = cl_widgets.gamut_slice_widget(l=50, resolution=11)
    box.controls["l"].value = 55
    box = cl_widgets.rebalancing_widget(np.full(cl.bins.NUM_BINS, 1.0 / cl.bins.NUM_BINS))
    box.controls["lam"].value = 0.0


def test_bins_at_lightness_widget_redraws(drawn):
    box = cl_widgets.bins_at_lightness_widget(l=50)
    box.controls["l"].value = 20
    titles = [fig.axes[0].get_title() for fig in drawn]
    assert [t.split(":")[0] for t in titles] == ["L = 50", "L = 20"]
    counts = [int(t.split(": ")[1].split(" of")[0]) for t in titles]
    assert 0 < counts[1] < counts[0] < cl.bins.NUM_BINS


# -- layout -------------------------------------------------------------------------------------------------------


def test_controls_wrap_and_keep_their_minimum_width():
    box = cl_widgets.soft_encoding_widget()
    row = box.children[1]
    assert row.layout.flex_flow == "row wrap"
    for control in box.controls.values():
        assert control.layout.min_width == cl_widgets.CONTROL_MIN_WIDTH
        assert control.layout.flex.endswith(cl_widgets.CONTROL_MIN_WIDTH)
        assert control.style.description_width == "initial"


# -- frames: redraws that draw only what changed ----------------------------------------------------------------


def pixels(png):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def full_draw(fig, layout_of):
    """PNG of ``fig`` drawn in full, with the axes where they are in figure ``layout_of`` (already drawn)."""
    import io

    fig.set_layout_engine("none")
    for ax, placed in zip(fig.axes, layout_of.axes, strict=True):
        ax.set_position(placed.get_position())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def assert_same_picture(png, reference):
    """Two renderings agree but for a few antialiased pixels at the edges of what was drawn over."""
    a, b = pixels(png), pixels(reference)
    assert a.shape == b.shape
    differ = np.abs(a - b).max(axis=2) > 40
    assert differ.sum() < 20, f"{differ.sum()} of {differ.size} pixels differ"


FRAME_CASES = ["loss_share λ", "gamut slice L", "bin distribution T"]


def frame_case(name):
    """(make(value) → figure, select, value before, value after) of a figure a widget redraws as frames."""
    prior = cl.prior.imagenet_prior().numpy()
    rgb = np.ascontiguousarray(cl.sample_photo("astronaut")[::8, ::8])  # 64 × 64
    logits = torch.randn(1, cl.bins.NUM_BINS, 16, 16, generator=torch.Generator().manual_seed(0))
    return {
        "loss_share λ": (lambda v: plot.loss_share(prior, lam=v), cl_widgets._loss_share_changing, 0.5, 0.2),
        "gamut slice L": (lambda v: plot.ab_gamut_planes((v,), resolution=41),
                          lambda f: [f.axes[0].images[0], f.axes[0].title], 50, 70),
        "bin distribution T": (lambda v: plot.bin_distribution(rgb, logits, (3, 4), T=v),
                               cl_widgets._annealed_mean_marks, 0.38, 0.9),
    }[name]


@pytest.mark.parametrize("case", FRAME_CASES)
def test_a_frame_shows_what_a_full_draw_shows(case):
    make, select, before, after = frame_case(case)
    frames = cl_widgets.Frames(make(before), select)
    first = frames.png()
    assert frames.update(make(after))
    moved = frames.png()
    assert_same_picture(moved, full_draw(make(after), layout_of=frames.fig))
    assert np.abs(pixels(moved) - pixels(first)).max() > 100  # and it did change


def test_frames_refuse_a_figure_with_another_colour_scale():
    rgb = np.ascontiguousarray(cl.sample_photo("astronaut")[::8, ::8])
    logits = torch.zeros(1, cl.bins.NUM_BINS, 16, 16)
    logits[0, 100, 3, 4] = 8.0  # one confident cell among flat ones
    probabilities = lambda fig: [fig.axes[1].images[-1]]  # noqa: E731
    frames = cl_widgets.Frames(plot.bin_distribution(rgb, logits, (0, 0)), probabilities)
    before = frames.png()
    assert not frames.update(plot.bin_distribution(rgb, logits, (3, 4)))
    assert frames.png() == before  # nothing changed
    assert frames.update(plot.bin_distribution(rgb, logits, (0, 1)))  # another flat cell: the same scale


def test_rebalancing_widget_redraws_frames_not_figures(shown_frames):
    shown, built = shown_frames
    box = cl_widgets.rebalancing_widget(cl.prior.imagenet_prior(), lam=0.5)
    for lam in (0.3, 0.0, 1.0):
        box.controls["lam"].value = lam
    assert len(shown) == 4 and len(built) == 1  # the authors' prior keeps one colour scale for every λ
    assert all(png[:4] == b"\x89PNG" for png in shown)
    assert len({png for png in shown}) == 4


# -- redraws in place: only the changing panel is computed ---------------------------------------------------------


def test_temperature_widget_redraws_in_place_what_a_full_figure_shows(monkeypatch, shown_frames):
    shown, built = shown_frames
    strips = spy(monkeypatch, "temperature_strip")
    rgb = np.ascontiguousarray(cl.sample_photo("astronaut")[::8, ::8])  # 64 × 64
    logits = torch.randn(1, cl.bins.NUM_BINS, 16, 16, generator=torch.Generator().manual_seed(0))
    box = cl_widgets.temperature_widget(rgb, logits, T=0.38)
    for T in (0.0501, 1.0):  # on the slider's logarithmic scale
        box.controls["T"].value = T
    assert len(strips) == 1 and len(built) == 1  # one figure, built for the first drawing
    assert len(shown) == 3 and len(set(shown)) == 3
    panel = built[0].fig.axes[1]
    full = plot.temperature_strip(rgb, logits, (1.0,)).axes[1]
    assert panel.get_title() == full.get_title() and panel.get_title().startswith("T = 1: AuC")
    np.testing.assert_array_equal(panel.images[0].get_array(), full.images[0].get_array())
    assert_same_picture(shown[-1], full_draw(plot.temperature_strip(rgb, logits, (1.0,)), layout_of=built[0].fig))


def test_frames_show_sets_images_and_texts():
    rgb = np.ascontiguousarray(cl.sample_photo("astronaut")[::8, ::8])
    logits = torch.zeros(1, cl.bins.NUM_BINS, 16, 16)
    frames = cl_widgets.Frames(plot.temperature_strip(rgb, logits, (0.5,)), cl_widgets._decoded_panel)
    before = frames.png()
    frames.show([np.zeros_like(rgb), "black"])
    assert frames.fig.axes[1].get_title() == "black"
    assert (pixels(frames.png()) != pixels(before)).any()
    with pytest.raises(ValueError):
        frames.show(["too few"])


def test_frames_leave_out_the_axes_of_panels_turned_off():
    rgb = np.ascontiguousarray(cl.sample_photo("astronaut")[::8, ::8])
    fig = plot.temperature_strip(rgb, torch.zeros(1, cl.bins.NUM_BINS, 16, 16), (0.5,))
    frames = cl_widgets.Frames(fig, cl_widgets._decoded_panel)
    ax = fig.axes[1]
    assert ax.xaxis not in frames.drawn and ax.yaxis not in frames.drawn
    assert not set(ax.spines.values()) & set(frames.drawn)
    assert ax.images[0] in frames.drawn and ax.title in frames.drawn


# -- chapter 3: σ redraws as frames, the point and k as whole figures ----------------------------------------------


def test_soft_encoding_widget_redraws_sigma_as_a_frame_of_the_same_figure(monkeypatch, shown_frames):
    shown, built = shown_frames
    box = cl_widgets.soft_encoding_widget(23.0, -41.0, k=5, sigma=5.0)
    box.controls["sigma"].value = 12.0
    assert len(built) == 1 and len(shown) == 2 and shown[0] != shown[1]
    fresh = plot.soft_encoding_pixel(23.0, -41.0, k=5, sigma=12.0)
    fig = built[0].fig
    assert [bar.get_height() for bar in fig.axes[1].patches] == [bar.get_height() for bar in fresh.axes[1].patches]
    np.testing.assert_array_equal(fig.axes[0].collections[1].get_sizes(), fresh.axes[0].collections[1].get_sizes())
    assert [t.get_text() for t in fig.axes[0].texts] == [t.get_text() for t in fresh.axes[0].texts]
    assert [" ".join(ax.get_title().split()) for ax in fig.axes] == [ax.get_title() for ax in fresh.axes]  # wrapped
    assert_same_picture(shown[-1], full_draw(fresh, layout_of=fig))


@pytest.mark.parametrize("control, value", [("a", -60.0), ("b", 0.0), ("k", 8)])
def test_soft_encoding_widget_draws_a_new_figure_for_another_point_or_k(monkeypatch, shown_frames, control, value):
    shown, built = shown_frames
    box = cl_widgets.soft_encoding_widget(23.0, -41.0, k=5, sigma=5.0)
    box.controls[control].value = value
    box.controls["sigma"].value = 7.5  # then a frame of that new figure
    assert len(built) == 2 and len(shown) == 3
    values = {"a": 23.0, "b": -41.0, "k": 5} | {control: value}
    fig, fresh = built[1].fig, plot.soft_encoding_pixel(values["a"], values["b"], k=values["k"], sigma=7.5)
    assert fig.axes[0].get_xlim() == fresh.axes[0].get_xlim() and len(fig.axes[1].patches) == values["k"]
    assert [bar.get_height() for bar in fig.axes[1].patches] == [bar.get_height() for bar in fresh.axes[1].patches]
    assert_same_picture(shown[-1], full_draw(fresh, layout_of=fig))


# -- static frames: the figure follows the sliders in a page without a kernel -------------------------------------


def value_picture(**values):
    """A 4 × 4 PNG whose grey levels (twice each value) encode the values it was drawn for (stand-in for a figure)."""
    import io

    from PIL import Image

    levels = [2 * int(v) for v in values.values()]
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(np.array(levels, np.uint8), 16 // len(levels))[:16].reshape(4, 4)).save(buffer, "png")
    return buffer.getvalue()


def frame_values(leaf, count):
    """The values a static frame (an ``Image``) was drawn for, from its pixels (see ``value_picture``)."""
    assert isinstance(leaf, widgets.Image)
    flat = pixels(leaf.value)[..., 0].ravel()
    return [int(v) // 2 for v in flat[:: 16 // count][:count]]


@pytest.fixture
def lossless(monkeypatch):
    """Static frames kept as the PNGs drawn (a WebP would blur the grey levels of ``value_picture``)."""
    monkeypatch.setattr(cl_widgets, "frame_bytes", lambda png: (png, "png"))


def test_one_slider_links_a_stack_of_frames_by_index(lossless):
    slider = cl_widgets.stepped_slider("L", range(0, 101, 5), 50)
    stack = cl_widgets._static_figure(value_picture, {"l": slider}, {})
    assert stack.link.source == (slider, "index") and stack.link.target == (stack, "selected_index")
    assert len(stack.children) == 21 and stack.selected_index == slider.index == 10
    assert [frame_values(child, 1)[0] for child in stack.children] == list(range(0, 101, 5))


def test_a_sparse_slider_shows_the_nearest_frame(lossless):
    slider = cl_widgets.stepped_slider("a", range(0, 21), 7)
    stack = cl_widgets._static_figure(value_picture, {"a": slider}, {"a": 5})
    shown = [frame_values(child, 1)[0] for child in stack.children]
    assert sorted(set(shown)) == [0, 2, 7, 12, 17, 20]  # every 5th from the start, and both ends
    assert shown[4] == 2 and shown[5] == 7 and shown[19] == 20  # the lower one on a tie (4.5 → 2)


def test_two_sliders_sweep_one_at_a_time_and_say_so_for_both(lossless):
    a = cl_widgets.stepped_slider("a", range(10, 14), 11)
    b = cl_widgets.stepped_slider("b", range(20, 23), 22)
    top = cl_widgets._static_figure(value_picture, {"a": a, "b": b}, {})
    assert top.link.source == (a, "index") and len(top.children) == 4
    for i, inner in enumerate(top.children):
        assert inner.link.source == (b, "index") and len(inner.children) == 3
        for j, leaf in enumerate(inner.children):
            if i == a.index or j == b.index:  # one slider off its start at most: a real frame
                assert frame_values(leaf, 2) == [10 + i, 20 + j]
            else:
                assert isinstance(leaf, widgets.HTML) and "a = 11, b = 22" in leaf.value
    assert top.children[0].children[0] is top.children[3].children[1]  # one note for every such combination


def test_a_widget_starts_with_the_stack_shown_and_the_kernel_output_hidden():
    box = cl_widgets.gamut_slice_widget(l=50, resolution=11)
    assert box.figure.layout.display is None and box.output.layout.display == "none"
    start = box.figure.children[box.figure.selected_index]
    assert start.format in ("png", "webp") and start is not box.figure.children[0]
    box.controls["l"].value = 55  # a kernel redraws: its drawing replaces the frames
    assert box.figure.layout.display == "none" and box.output.layout.display is None


def test_frames_are_the_lighter_encoding_of_the_same_picture():
    png = cl_widgets._png(plot.ab_gamut_planes((50,), resolution=41))
    data, kind = cl_widgets.frame_bytes(png)
    assert len(data) <= len(png) and kind in ("png", "webp")
    assert np.abs(pixels(data) - pixels(png)).mean() < 2
