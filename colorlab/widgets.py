"""Interactive versions of the book's figures, for JupyterLab and for the HTML book.

Each function returns an ipywidgets container: the sliders in a row above the figure of :mod:`colorlab.plot`
for their values (:func:`_assemble`). Two things show that figure, one at a time:

* frames precomputed when the widget is built, kept in the widget's saved state and switched in the browser by
  a link from each slider's position to a ``Stack`` of images (:func:`_static_figure`): the HTML book's sliders
  work without a kernel;
* an ``Output`` that a kernel's callback redraws at any of the slider's values: from the first move with a
  kernel (JupyterLab) it replaces the frames.

ipywidgets is imported inside the functions: ``import colorlab`` never needs it.

Controls wrap onto new lines in a narrow window and never get narrower than :data:`CONTROL_MIN_WIDTH`
(:func:`control_row`). Callbacks redraw one small figure; the heavy inputs (a prior, a network's prediction)
are computed once. Where a slider changes only part of a figure, the rest is kept as pixels and only the
changing artists are drawn again (:class:`Frames`), which makes the redraw several times faster.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import plot
from .bins import AB_LIMIT
from .encode import SIGMA, SOFT_K
from .prior import LAMBDA, rebalance_weights


#: Narrowest a control gets (a slider: its label, a track long enough to pick a value by hand, its readout).
CONTROL_MIN_WIDTH = "20em"


def _show_png(png: bytes) -> None:
    """Display a PNG (a frame of :class:`Frames`) in the current output area."""
    from IPython.display import Image, display

    display(Image(data=png, format="png"))


def control_row(controls):
    """Controls side by side, each at least :data:`CONTROL_MIN_WIDTH` wide, wrapping onto new lines.

    Args:
        controls: ipywidgets controls (sliders, buttons, uploads); their layout and label width are set here.

    Returns:
        An ipywidgets ``Box`` that lays the controls out in rows: as many per row as the window allows, each
        row's controls sharing its width.
    """
    import ipywidgets as widgets

    for control in controls:
        control.layout.flex = f"1 1 {CONTROL_MIN_WIDTH}"
        control.layout.min_width = CONTROL_MIN_WIDTH
        control.layout.width = "auto"
        if "description_width" in control.style.keys:
            control.style.description_width = "initial"  # short labels (a, b, σ, λ) take only their room
    return widgets.Box(list(controls), layout=widgets.Layout(display="flex", flex_flow="row wrap",
                                                             width="100%", grid_gap="0 1em"))


def stepped_slider(description: str, values, value, label=lambda v: f"{v:g}"):
    """A slider over the listed values (a ``SelectionSlider``), starting at ``value``.

    Its ``index`` (0 to ``len(values) - 1``) is what the browser links to a stack of frames
    (:func:`_static_figure`), so that a page without a kernel redraws too; its ``value`` is what a kernel's
    callback sees.

    Args:
        description: the slider's label.
        values: the values it can take (numbers; every one a kernel redraws at).
        value: the starting value, added to ``values`` where it is not one of them.
        label: the readout for a value (distinct values must give distinct labels).
    """
    import ipywidgets as widgets

    values = sorted({float(v) if isinstance(v, float) else v for v in values} | {value})
    # by index: a start value of 0 would leave the readout empty (ipywidgets 8.1 takes it for no value)
    return widgets.SelectionSlider(options=[(label(v), v) for v in values], index=values.index(value),
                                   description=description, continuous_update=False)


def _assemble(picture, controls: dict, title: str, every: dict | None = None, caption=None):
    """The title, the controls (:func:`control_row`) and the figure under them, for a kernel and for a page.

    Args:
        picture: ``picture(**values)`` → PNG bytes of the figure for the controls' values.
        controls: name → :func:`stepped_slider`; the names are ``picture``'s arguments.
        title: a line of HTML above the controls.
        every: name → keep a static frame at every n-th position of that slider (default 1: every one).
        caption: ``caption(**values)`` → a line of text shown above the figure, or None.

    Returns:
        A ``VBox`` with ``controls``, ``output`` (the ``Output`` a kernel redraws, hidden until the first move
        with a kernel), ``redraw()`` (draw into it now, e.g. for a new input) and ``figure`` (the precomputed
        frames that a page without a kernel switches between, :func:`_static_figure`; hidden from the first
        move with a kernel on).
    """
    import ipywidgets as widgets

    def draw(**values):
        if caption is not None:
            print(caption(**values))
        _show_png(picture(**values))

    output = widgets.interactive_output(draw, controls)
    output.layout.display = "none"
    figure = _static_figure(picture, controls, every or {}, caption)

    def live(_):
        figure.layout.display, output.layout.display = "none", None

    def redraw():
        output.clear_output(wait=True)
        with output:
            draw(**{name: control.value for name, control in controls.items()})
        live(None)

    for control in controls.values():
        control.observe(live, names="value")
    box = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), control_row(controls.values()), figure, output])
    box.controls, box.output, box.figure, box.redraw = controls, output, figure, redraw
    return box


def _nearest_frame(position: int, frames: list[int]) -> int:
    """The position in ``frames`` closest to ``position`` (the lower one on a tie)."""
    return min(frames, key=lambda f: (abs(f - position), f))


def _frame_positions(n: int, start: int, every: int) -> list[int]:
    """The positions of a slider of ``n`` that get a frame: ``start``, every ``every``-th from it, both ends."""
    return sorted({*range(start % every, n, every), start, 0, n - 1})


def _static_figure(picture, controls: dict, every: dict, caption=None):
    """Precomputed frames and a tree of ``Stack`` widgets that the browser switches between, with no kernel.

    Each slider sweeps its own frames with the other sliders at their starting values (``every[name]``-th
    positions, the nearest one shown in between). Each Stack's ``selected_index`` is linked to one slider's
    ``index`` in the browser (``jslink``); with several sliders the stacks nest, one level per slider, and a
    combination with two sliders off their start shows a note instead of a figure.

    Returns:
        The top ``Stack`` (a ``Box``), showing the frame of the starting values.
    """
    import ipywidgets as widgets

    names = list(controls)
    sliders = [controls[name] for name in names]
    starts = [slider.index for slider in sliders]
    frames = [_frame_positions(len(s.options), i, every.get(name, 1)) for name, s, i in zip(names, sliders, starts)]
    start_text = ", ".join(f"{s.description} = {s.label}" for s in sliders)
    note = widgets.HTML(f"<p><i>Without a running kernel the figure follows one slider at a time: put the others "
                        f"back to their starting values ({start_text}), or run the chapter in JupyterLab.</i></p>")
    leaves, nodes = {}, {}

    def leaf(moved):
        if moved not in leaves:
            values = {name: s.options[i][1] for name, s, i in zip(names, sliders, starts)}
            if moved is not None:
                values[names[moved[0]]] = sliders[moved[0]].options[moved[1]][1]
            leaves[moved] = _frame_widget(picture(**values), None if caption is None else caption(**values))
        return leaves[moved]

    def node(level, moved):
        if level == len(sliders):
            return leaf(moved)
        if (level, moved) not in nodes:
            children = []
            for position in range(len(sliders[level].options)):
                frame = _nearest_frame(position, frames[level])
                if frame == starts[level]:
                    children.append(node(level + 1, moved))
                else:
                    children.append(node(level + 1, (level, frame)) if moved is None else note)
            stack = widgets.Stack(children, selected_index=starts[level])
            stack.link = widgets.jslink((sliders[level], "index"), (stack, "selected_index"))
            nodes[level, moved] = stack
        return nodes[level, moved]

    return node(0, None)


def _frame_widget(png: bytes, caption: str | None = None):
    """One static frame: an ``Image`` of the figure (:func:`frame_bytes`), under a line of ``caption`` if any."""
    import html

    import ipywidgets as widgets

    data, kind = frame_bytes(png)
    image = widgets.Image(value=data, format=kind)
    if caption is None:
        return image
    return widgets.VBox([widgets.HTML(f"<pre>{html.escape(caption)}</pre>"), image])


def frame_bytes(png: bytes) -> tuple[bytes, str]:
    """A figure's PNG as the lighter of a PNG (optimised) and a WebP (quality 90) of the same size.

    Returns:
        (bytes, format) with format ``"png"`` or ``"webp"``.
    """
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(png))
    encoded = {}
    for kind, options in (("png", {"optimize": True}), ("webp", {"quality": 90, "method": 6})):
        buffer = io.BytesIO()
        picture.save(buffer, format=kind, **options)
        encoded[kind] = buffer.getvalue()
    kind = min(encoded, key=lambda k: len(encoded[k]))
    return encoded[kind], kind


class Frames:
    """A figure drawn in full once, then redrawn by drawing only the artists that change (matplotlib blitting).

    The first draw lays the figure out; that layout is kept, the figure without the changing artists is kept
    as pixels, and each frame restores those pixels and draws the changing artists over them: no layout, no
    ticks, no text but the artists' own. What the artists show is taken from a new figure of the same
    function (building a figure is quick; drawing it is what takes time), so the figure's content has one
    source, :mod:`colorlab.plot`.

    Args:
        fig: a figure (e.g. from :mod:`colorlab.plot`).
        select: ``select(fig)`` lists the artists that change between frames (images, lines, texts, legends),
            in an order that pairs them up between two figures of the same function.
    """

    def __init__(self, fig, select):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig, self.select = fig, select
        self.changing = select(fig)
        self.drawn = _drawn_over(fig, self.changing)
        for artist in self.drawn:
            artist.set_animated(True)  # laid out, but left out of the pixels kept
        self.canvas = FigureCanvasAgg(fig)
        self.canvas.draw()
        fig.set_layout_engine("none")  # every frame keeps the layout of the first draw
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def update(self, new) -> bool:
        """Show what the changing artists of figure ``new`` show; False, changing nothing, if it cannot.

        It cannot when an axes holding a changing artist has other limits in ``new`` or an image has another
        colour scale: then the rest of the figure (ticks, a colorbar) would change too.
        """
        pairs = list(zip(self.changing, self.select(new), strict=True))
        for old, fresh in pairs:
            if old.axes is not None and (old.axes.get_xlim() != fresh.axes.get_xlim()
                                         or old.axes.get_ylim() != fresh.axes.get_ylim()):
                return False
            if getattr(old, "get_array", None) and np.ndim(old.get_array()) == 2 and (
                    (old.norm.vmin, old.norm.vmax) != (fresh.norm.vmin, fresh.norm.vmax)):
                return False
        for old, fresh in pairs:
            _copy_content(old, fresh)
        self._wrap_titles()
        return True

    def show(self, contents) -> None:
        """Put ``contents`` into the changing artists, one per artist in ``select``'s order: an array for an
        image (what ``imshow`` takes: (H, W, 3) uint8 or floats in [0, 1], or (H, W) on the image's colour
        scale), a string for a text. Nothing but those artists changes; no figure is built."""
        contents = list(contents)
        if len(contents) != len(self.changing):
            raise ValueError(f"{len(self.changing)} changing artists, {len(contents)} contents")
        for artist, content in zip(self.changing, contents):
            _set_content(artist, content)
        self._wrap_titles()

    def _wrap_titles(self) -> None:
        """Wrap the changing titles as a full draw would (their fonts were fitted by the first draw)."""
        if isinstance(self.fig, plot.BookFigure):
            renderer = self.canvas.get_renderer()
            for artist in self.changing:
                if artist.axes is not None and artist is artist.axes.title:
                    plot._wrap_title(artist.axes, renderer)

    def png(self) -> bytes:
        """The figure as it is now, as PNG bytes at the figure's dpi."""
        import io

        from PIL import Image

        self.canvas.restore_region(self.background)
        for artist in self.drawn:
            self.fig.draw_artist(artist)
        pixels = np.asarray(self.canvas.buffer_rgba())
        if (pixels[..., 3] == 255).all():
            pixels = pixels[..., :3]  # an opaque figure: RGB is a third quicker to encode
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="png", compress_level=1)  # 2-4× quicker than level 6
        return buffer.getvalue()


def _drawn_over(fig, changing: list) -> list:
    """The changing artists and, in each axes that holds some, every artist drawn over them, in drawing order
    (an image that changes must not cover the lines drawn over it)."""
    drawn = []
    for ax in fig.axes:
        mine = [artist for artist in changing if artist.axes is ax]
        if mine:
            lowest = min(artist.get_zorder() for artist in mine)
            children = sorted(_drawn_children(ax), key=lambda a: a.get_zorder())
            drawn += [a for a in children if a.get_zorder() >= lowest and (a.get_visible() or a in mine)]
    return drawn + [artist for artist in changing if artist.axes is None]


def _drawn_children(ax) -> list:
    """The artists of ``ax`` that its own draw draws over its background: without its axes and spines when it
    is turned off (``ax.axis("off")``) and without its spines when its frame is, as
    :meth:`matplotlib.axes.Axes.draw` leaves them out."""
    hidden = {id(ax.patch)}
    if not (ax.axison and ax.get_frame_on()):
        hidden |= {id(spine) for spine in ax.spines.values()}
    if not ax.axison:
        hidden |= {id(axis) for axis in ax._axis_map.values()}
    return [artist for artist in ax.get_children() if id(artist) not in hidden]


def _copy_content(old, new) -> None:
    """Make artist ``old`` show what ``new`` shows (an image, a scatter's points and sizes, a rectangle such as a
    bar, a line, a text or a legend)."""
    from matplotlib.image import AxesImage
    from matplotlib.legend import Legend
    from matplotlib.collections import PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    if isinstance(old, AxesImage):
        old.set_data(new.get_array())
    elif isinstance(old, PathCollection):
        old.set_offsets(new.get_offsets())
        old.set_sizes(new.get_sizes())
    elif isinstance(old, Rectangle):
        old.set_bounds(*new.get_bbox().bounds)
    elif isinstance(old, Line2D):
        old.set_data(new.get_xdata(), new.get_ydata())
        old.set_label(new.get_label())
    elif isinstance(old, Text):
        old.set_text(new.get_text())
    elif isinstance(old, Legend):
        for old_text, new_text in zip(old.get_texts(), new.get_texts(), strict=True):
            old_text.set_text(new_text.get_text())
    else:
        raise TypeError(f"cannot copy the content of a {type(old).__name__}")


def _set_content(artist, content) -> None:
    """Make an image show the array ``content`` or a text the string ``content``."""
    from matplotlib.image import AxesImage
    from matplotlib.text import Text

    if isinstance(artist, AxesImage):
        artist.set_data(content)
    elif isinstance(artist, Text):
        artist.set_text(content)
    else:
        raise TypeError(f"cannot set the content of a {type(artist).__name__}")


def _redraw_in_place(state: dict, make, select, contents) -> bytes:
    """PNG of figure ``make()`` the first time (or after ``state["frames"] = None``), then, at each later call,
    of that figure with ``contents()`` put into its ``select`` artists (:meth:`Frames.show`): only what changes
    is computed, and only those artists are drawn again."""
    frames = state.get("frames")
    if frames is None:
        state["frames"] = frames = Frames(make(), select)
    else:
        frames.show(contents())
    return frames.png()


def _redraw(state: dict, fig, select) -> bytes:
    """PNG of ``fig``: as a frame of the figure drawn before when only ``select``'s artists differ, else anew."""
    frames = state.get("frames")
    if frames is None or not frames.update(fig):
        state["frames"] = frames = Frames(fig, select)
    return frames.png()


def _png(fig) -> bytes:
    """PNG of ``fig`` drawn in full at its dpi (as :meth:`Frames.png` draws a figure)."""
    return Frames(fig, lambda fig: []).png()


def _steps(low: float, high: float, step: float) -> list[float]:
    """``low``, ``low + step``, ... ``high``, rounded to the step's decimals (so that 0.2 is 0.2)."""
    decimals = max(0, -int(np.floor(np.log10(step))) + 1)
    return [round(v, decimals) for v in np.linspace(low, high, int(round((high - low) / step)) + 1)]


def gamut_slice_widget(l: float = 50.0, resolution: int = 161):
    """An L slider over the ab plane: which colours sRGB can show at each lightness (chapter 1).

    Args:
        l: initial lightness in [0, 100].
        resolution: samples per ab axis of the slice (lower is faster).

    Returns:
        An ipywidgets ``VBox`` whose ``controls`` attribute is ``{"l": SelectionSlider}`` and whose ``output`` is the
        ``Output`` showing :func:`colorlab.plot.ab_gamut_planes` for the chosen L.
    """
    slider = stepped_slider("L", range(0, 101, 5), l)
    state = {}

    def picture(l):
        fig = plot.ab_gamut_planes((l,), resolution=resolution)
        return _redraw(state, fig, lambda fig: [fig.axes[0].images[0], fig.axes[0].title])

    return _assemble(picture, {"l": slider}, "Move L: the displayable part of the ab plane grows, then shrinks")


def bins_at_lightness_widget(l: float = 50.0):
    """An L slider over the 313 bins: which bins sRGB can show at each lightness (chapter 2).

    Args:
        l: initial lightness in [0, 100].

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"l": SelectionSlider}`` and an ``output`` showing
        :func:`colorlab.plot.ab_bins_grid` with the bins not displayable at that L hollow.
    """
    slider = stepped_slider("L", range(0, 101, 5), l)

    def picture(l):
        return _png(plot.ab_bins_grid(l, mark_out_of_gamut=True))

    return _assemble(picture, {"l": slider}, "Move L: the bins a pixel of that lightness can really take")


def soft_encoding_widget(a: float = 23.0, b: float = -41.0, k: int = SOFT_K, sigma: float = SIGMA):
    """Sliders for one ab value and for k and σ, showing its soft encoding (chapter 3).

    Args:
        a, b: the initial ab value, raw units, within ±110.
        k: initial number of nearest bins.
        sigma: initial Gaussian width, ab units.

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"a", "b", "k", "sigma"}`` and an ``output`` showing
        :func:`colorlab.plot.soft_encoding_pixel`.
    """
    ab = _steps(-AB_LIMIT, AB_LIMIT, 1.0)
    controls = {"a": stepped_slider("a", ab, a), "b": stepped_slider("b", ab, b),
                "k": stepped_slider("k", range(1, 11), k), "sigma": stepped_slider("σ", _steps(1.0, 20.0, 0.5), sigma)}
    state = {}

    def picture(a, b, k, sigma):
        if state.get("point") != (a, b, k):  # another window or other bins: everything but σ's effect changes
            state.update(point=(a, b, k), frames=None)
        return _redraw(state, plot.soft_encoding_pixel(a, b, k=k, sigma=sigma), _soft_weights)

    return _assemble(picture, controls, "Move the point: how its weight spreads over the nearest bins",
                     every={"a": 10, "b": 10, "sigma": 2})


def _soft_weights(fig) -> list:
    """What σ changes in :func:`colorlab.plot.soft_encoding_pixel`: the circles of the k chosen bins (their areas
    are the weights), the weights written under them, the bars and both titles (the bins and the window stay)."""
    ax, bar_ax = fig.axes
    return [ax.collections[1], *ax.texts, *bar_ax.patches, ax.title, bar_ax.title]


def rebalancing_widget(prior, lam: float = LAMBDA):
    """A λ slider for the class weights: the weight map and the share of the loss each bin carries (chapter 4).

    Args:
        prior: (313,) probabilities, computed once by the caller (e.g. :func:`colorlab.prior.imagenet_prior`).
        lam: initial λ in [0, 1].

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"lam": SelectionSlider}`` and an ``output`` showing the weights'
        range and Σ p·w, then :func:`colorlab.plot.loss_share` for the chosen λ.
    """
    prior = np.asarray(prior, dtype=np.float64)
    slider = stepped_slider("λ", _steps(0.0, 1.0, 0.05), lam, label=lambda v: f"{v:.2f}")
    state = {}

    def weights(lam):
        w = rebalance_weights(prior, lam=lam).numpy()
        seen = prior > 0
        return (f"λ = {lam:.2f}: weights from {w[seen].min():.3f} to {w[seen].max():.3f}, "
                f"Σ p·w = {float((prior * w).sum()):.4f}")

    def picture(lam):
        return _redraw(state, plot.loss_share(prior, lam=lam), _loss_share_changing)

    return _assemble(picture, {"lam": slider}, "Move λ: from weighting by 1/p (λ = 0) to no rebalancing (λ = 1)",
                     caption=weights)


def _loss_share_changing(fig) -> list:
    """What λ changes in :func:`colorlab.plot.loss_share`: the map after rebalancing, its title, that curve and
    the legend (the map before, the colour scale and the axes stay)."""
    share_ax, curve_ax = fig.axes[1], fig.axes[2]
    return [share_ax.images[-1], share_ax.title, curve_ax.lines[1], curve_ax.get_legend()]


# ---------------------------------------------------------------------------------------------------------------
# Chapter 5: the network
# ---------------------------------------------------------------------------------------------------------------


def bin_distribution_widget(rgb, logits, cell: tuple[int, int] = (0, 0), T: float | None = None):
    """Sliders for an output cell and the temperature: the distribution the network predicts there (chapter 5).

    Args:
        rgb: the photo the network saw (uint8 (H, W, 3)), ``OUTPUT_STRIDE`` times the logits' size.
        logits: (1, NUM_BINS, h, w) the network's output for the photo, computed once by the caller.
        cell: initial (row, column).
        T: initial annealed-mean temperature (default :data:`colorlab.decode.T_ANNEALED`).

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"row", "col", "T"}`` and an ``output`` showing
        :func:`colorlab.plot.bin_distribution` for the chosen cell and temperature.
    """
    from .decode import T_ANNEALED

    rows, cols = logits.shape[-2:]
    controls = {"row": stepped_slider("row", range(rows), cell[0]),
                "col": stepped_slider("column", range(cols), cell[1]),
                "T": stepped_slider("T", _steps(0.05, 1.0, 0.01), T_ANNEALED if T is None else T)}
    state = {}

    def picture(row, col, T):
        if state.get("cell") != (row, col):  # another cell: everything but the photo changes
            state.update(cell=(row, col), frames=None)
        return _redraw(state, plot.bin_distribution(rgb, logits, (row, col), T=T), _annealed_mean_marks)

    return _assemble(picture, controls, "Move the cell: the network's distribution over the bins there",
                     every={"row": max(1, rows // 8), "col": max(1, cols // 8), "T": 5})


def temperature_widget(rgb, logits, T: float | None = None):
    """A temperature slider on a logarithmic scale from 0.01 to 1: one photo decoded with the annealed mean at
    that temperature (chapter 5).

    Args:
        rgb: the photo the network saw (uint8 (H, W, 3)).
        logits: (1, NUM_BINS, h, w) the network's output for it, computed once by the caller.
        T: initial temperature (default :data:`colorlab.decode.T_ANNEALED`).

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"T": SelectionSlider}`` and an ``output`` showing
        :func:`colorlab.plot.temperature_strip` at the chosen temperature.
    """
    from .decode import T_ANNEALED

    slider = stepped_slider("T", [float(f"{t:.3g}") for t in np.logspace(-2, 0, 41)], T_ANNEALED if T is None else T,
                            label=lambda v: f"{v:.3g}")
    lab = plot.photo_lab(rgb)  # the photo's L and true ab, for every temperature
    state = {}

    def picture(T):
        return _redraw_in_place(state, lambda: plot.temperature_strip(rgb, logits, (T,)), _decoded_panel,
                                lambda: plot.temperature_panel(lab, logits, T)[::-1])

    return _assemble(picture, {"T": slider}, "Move T: from the mode (0.01) to the mean (1)", every={"T": 2})


def _decoded_panel(fig) -> list:
    """What T changes in :func:`colorlab.plot.temperature_strip` of one temperature, or in
    :func:`colorlab.plot.colorization_grid` of one photo: the decoded photo in the second panel and its title (the
    input L and the original stay)."""
    return [fig.axes[1].images[0], fig.axes[1].title]


def _annealed_mean_marks(fig) -> list:
    """What T changes in :func:`colorlab.plot.bin_distribution`: the annealed mean's mark and the legend."""
    ax = fig.axes[1]
    return [ax.lines[2], ax.get_legend()]


# ---------------------------------------------------------------------------------------------------------------
# Chapter 7: colorize your own photo
# ---------------------------------------------------------------------------------------------------------------


def _decode_upload(content: bytes, name: str) -> np.ndarray:
    """Bytes of an uploaded file → uint8 (H, W, 3), with colorlab's robust decoder (it needs a file on disk).

    Raises:
        ValueError: the file cannot be decoded; the message gives the reason without naming any file.
    """
    import os
    import tempfile

    from .data import UnreadableImageError, load_rgb

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload" + (os.path.splitext(name)[1] or ".img"))
        with open(path, "wb") as f:
            f.write(content)
        try:
            return load_rgb(path)
        except UnreadableImageError as error:
            reason = error.__cause__ or error
            detail = str(reason).replace(f"'{path}'", "").replace(path, "").strip(" :")
            raise ValueError(detail or type(reason).__name__) from error


def _uploaded(value) -> tuple[str, bytes] | None:
    """(name, content) of the latest file of a FileUpload's value (ipywidgets 8: a tuple of dicts)."""
    if not value:
        return None
    item = value[-1] if isinstance(value, (tuple, list)) else list(value.values())[-1]
    return item["name"], bytes(item["content"])


def _shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """``rgb`` scaled down (Lanczos) so that its longer side is at most ``max_side`` pixels."""
    from PIL import Image

    scale = max_side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


@contextlib.contextmanager
def _remembered_forward(model, memory: dict):
    """Within the block, calling ``model`` on the input of its last call returns the last output again.

    A new temperature only changes how the network's output is decoded, so the network need not run again.
    """
    import torch

    forward = model.forward

    def remembering(x):
        last = memory.get("input")
        if last is None or last.shape != x.shape or last.dtype != x.dtype or not torch.equal(last, x):
            memory.update(input=x.detach().clone(), output=forward(x))
        return memory["output"]

    model.forward = remembering
    try:
        yield model
    finally:
        del model.forward  # the class's own forward again


def _read_upload(name: str, content: bytes, max_side: int) -> tuple[np.ndarray | None, str]:
    """An uploaded file as uint8 (H, W, 3), shrunk to at most ``max_side`` pixels a side, and the status line
    (HTML) that gives its size and says whether it was shrunk; ``(None, message)`` when it cannot be read."""
    import html

    shown = html.escape(name)
    try:
        rgb = _decode_upload(content, name)
    except Exception as error:  # a bad upload is reported in the widget, never raised into the notebook
        return None, f"<span style='color:#b00'>could not read {shown}: {html.escape(str(error))}</span>"
    small = _shrink(rgb, max_side)
    shrunk = (f" (shrunk from {rgb.shape[1]} × {rgb.shape[0]}: at most {max_side} pixels a side)"
              if small is not rgb else "")
    return small, f"{shown}: {small.shape[1]} × {small.shape[0]} pixels{shrunk}"


def _upload_drawing(model, current: dict, size: int):
    """What :func:`colorize_upload_widget` draws for the photo in ``current`` (``name``, ``rgb``, ``l``) at a
    temperature T: ``figure(T)`` builds its :func:`colorlab.plot.colorization_grid`, and ``colorized(T)`` gives
    what a new T changes in it (the colorization and its title). The network runs again only for a new photo;
    a new T decodes its remembered output."""
    from .colorize import colorize_l

    memory = {}

    def figure(T):
        with _remembered_forward(model, memory):
            return plot.colorization_grid(model, {current["name"]: current["rgb"]}, T=T, size=size, panel=3.2)

    def colorized(T):
        with _remembered_forward(model, memory):
            return [colorize_l(model, current["l"], T=T, size=size), plot.colorized_title(T)]

    return figure, colorized


def colorize_upload_widget(model, example: np.ndarray, T: float | None = None, size: int = 256,
                           max_side: int = 2048):
    """A temperature slider over the colorization of a photo, and an upload for another photo.

    The upload needs a kernel, so it is not in the returned box but in its ``upload_controls``, for a cell of
    its own that the HTML book leaves out; the slider works without a kernel (on the example photo).

    Args:
        model: a classification model (e.g. ``colorlab.load_pretrained("classification")``).
        example: uint8 (H, W, 3) shown before anything is uploaded (and in the HTML book).
        T: initial annealed-mean temperature (default :data:`colorlab.decode.T_ANNEALED`).
        size: shorter side the network predicts at; ab is upsampled onto the full-resolution L.
        max_side: uploads larger than this on their longer side are shrunk first, to keep the widget responsive
            (the status line says so).

    Returns:
        An ipywidgets ``VBox`` (:func:`_assemble`) with ``controls`` ``{"T"}`` and ``output`` showing
        :func:`colorlab.plot.colorization_grid` for the current photo, and ``upload_controls``: a ``VBox`` of
        ``upload`` (a ``FileUpload`` for one image file) and ``status`` (an ``HTML`` line that reports the photo's
        size, or a file it could not read instead of raising), also attributes of the box.
    """
    import ipywidgets as widgets

    from .colorize import lightness
    from .decode import T_ANNEALED

    device = next(model.parameters()).device
    current = {"name": "example", "rgb": np.asarray(example), "l": lightness(example, device)}
    slider = stepped_slider("T", _steps(0.05, 1.0, 0.01), T_ANNEALED if T is None else T,
                            label=lambda v: f"{v:.2f}")
    state = {}
    figure, colorized = _upload_drawing(model, current, size)

    def picture(T):
        return _redraw_in_place(state, lambda: figure(T), _decoded_panel, lambda: colorized(T))

    box = _assemble(picture, {"T": slider}, "Colorize a photo: move T",
                    every={"T": 5})
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="photo")
    status = widgets.HTML("")

    def on_upload(change):
        item = _uploaded(change["new"])
        if item is None:
            return
        rgb, status.value = _read_upload(*item, max_side)
        if rgb is not None:
            current.update(name=item[0], rgb=rgb, l=lightness(rgb, device))
            state["frames"] = None  # another photo: draw it all
            box.redraw()

    upload.observe(on_upload, names="value")
    box.upload_controls = widgets.VBox([widgets.HTML("<b>Your own photo</b> (it never leaves this kernel)"),
                                        control_row([upload]), status])
    box.upload, box.status, box.on_upload = upload, status, on_upload
    return box
