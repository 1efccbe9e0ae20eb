"""Interactive versions of the book's figures, for JupyterLab and for the HTML book.

Each function returns an ipywidgets container: the controls in a row above an ``Output`` that shows the
figure of :mod:`colorlab.plot` for the current values. The figure is drawn once when the widget is built, so
the executed notebook stores a real figure in the widget's state and the HTML book shows it without a kernel.
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


def _show(fig) -> None:
    """Display a figure in the current output area and release it."""
    from IPython.display import display

    display(fig)
    fig.clear()


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


def _assemble(draw, controls: dict, title: str):
    """The title, the controls (:func:`control_row`), the drawing below them, the first drawing made now."""
    import ipywidgets as widgets

    output = widgets.interactive_output(draw, controls)
    box = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), control_row(controls.values()), output])
    box.controls = controls
    box.output = output
    return box


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


def _redraw_in_place(state: dict, make, select, contents) -> None:
    """Show figure ``make()`` the first time (or after ``state["frames"] = None``), then, at each later call,
    that figure with ``contents()`` put into its ``select`` artists (:meth:`Frames.show`): only what changes
    is computed, and only those artists are drawn again."""
    frames = state.get("frames")
    if frames is None:
        state["frames"] = frames = Frames(make(), select)
    else:
        frames.show(contents())
    _show_png(frames.png())


def _redraw(state: dict, fig, select) -> None:
    """Show ``fig``: as a frame of the figure shown before when only ``select``'s artists differ, else anew."""
    frames = state.get("frames")
    if frames is None or not frames.update(fig):
        state["frames"] = frames = Frames(fig, select)
    _show_png(frames.png())


def gamut_slice_widget(l: float = 50.0, resolution: int = 161):
    """An L slider over the ab plane: which colours sRGB can show at each lightness (chapter 1).

    Args:
        l: initial lightness in [0, 100].
        resolution: samples per ab axis of the slice (lower is faster).

    Returns:
        An ipywidgets ``VBox`` whose ``controls`` attribute is ``{"l": IntSlider}`` and whose ``output`` is the
        ``Output`` showing :func:`colorlab.plot.ab_gamut_planes` for the chosen L.
    """
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=int(round(l)), min=0, max=100, step=5, description="L",
                               continuous_update=False)

    state = {}

    def draw(l):
        fig = plot.ab_gamut_planes((l,), resolution=resolution)
        _redraw(state, fig, lambda fig: [fig.axes[0].images[0], fig.axes[0].title])

    return _assemble(draw, {"l": slider}, "Move L: the displayable part of the ab plane grows, then shrinks")


def bins_at_lightness_widget(l: float = 50.0):
    """An L slider over the 313 bins: which bins sRGB can show at each lightness (chapter 2).

    Args:
        l: initial lightness in [0, 100].

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"l": IntSlider}`` and an ``output`` showing
        :func:`colorlab.plot.ab_bins_grid` with the bins not displayable at that L hollow.
    """
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=int(round(l)), min=0, max=100, step=5, description="L",
                               continuous_update=False)

    def draw(l):
        _show(plot.ab_bins_grid(l, mark_out_of_gamut=True))

    return _assemble(draw, {"l": slider}, "Move L: the bins a pixel of that lightness can really take")


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
    import ipywidgets as widgets

    style = {"continuous_update": False}
    controls = {
        "a": widgets.FloatSlider(value=a, min=-AB_LIMIT, max=AB_LIMIT, step=1.0, description="a", **style),
        "b": widgets.FloatSlider(value=b, min=-AB_LIMIT, max=AB_LIMIT, step=1.0, description="b", **style),
        "k": widgets.IntSlider(value=k, min=1, max=10, description="k", **style),
        "sigma": widgets.FloatSlider(value=sigma, min=1.0, max=20.0, step=0.5, description="σ", **style),
    }

    state = {}

    def draw(a, b, k, sigma):
        if state.get("point") != (a, b, k):  # another window or other bins: everything but σ's effect changes
            state.update(point=(a, b, k), frames=None)
        _redraw(state, plot.soft_encoding_pixel(a, b, k=k, sigma=sigma), _soft_weights)

    return _assemble(draw, controls, "Move the point: how its weight spreads over the nearest bins")


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
        An ipywidgets ``VBox`` with ``controls`` ``{"lam": FloatSlider}`` and an ``output`` showing the weights'
        range and Σ p·w, then :func:`colorlab.plot.loss_share` for the chosen λ.
    """
    import ipywidgets as widgets

    prior = np.asarray(prior, dtype=np.float64)
    slider = widgets.FloatSlider(value=lam, min=0.0, max=1.0, step=0.05, description="λ", continuous_update=False)
    state = {}

    def draw(lam):
        w = rebalance_weights(prior, lam=lam).numpy()
        seen = prior > 0
        print(f"λ = {lam:.2f}: weights from {w[seen].min():.3f} to {w[seen].max():.3f}, "
              f"Σ p·w = {float((prior * w).sum()):.4f}")
        _redraw(state, plot.loss_share(prior, lam=lam), _loss_share_changing)

    return _assemble(draw, {"lam": slider}, "Move λ: from weighting by 1/p (λ = 0) to no rebalancing (λ = 1)")


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
    import ipywidgets as widgets

    from .decode import T_ANNEALED

    rows, cols = logits.shape[-2:]
    style = {"continuous_update": False}
    controls = {
        "row": widgets.IntSlider(value=cell[0], min=0, max=rows - 1, description="row", **style),
        "col": widgets.IntSlider(value=cell[1], min=0, max=cols - 1, description="column", **style),
        "T": widgets.FloatSlider(value=T_ANNEALED if T is None else T, min=0.05, max=1.0, step=0.01,
                                 description="T", **style),
    }

    state = {}

    def draw(row, col, T):
        if state.get("cell") != (row, col):  # another cell: everything but the photo changes
            state.update(cell=(row, col), frames=None)
        _redraw(state, plot.bin_distribution(rgb, logits, (row, col), T=T), _annealed_mean_marks)

    return _assemble(draw, controls, "Move the cell: the network's distribution over the bins there")


def temperature_widget(rgb, logits, T: float | None = None):
    """A temperature slider on a logarithmic scale from 0.01 to 1: one photo decoded with the annealed mean at
    that temperature (chapter 5).

    Args:
        rgb: the photo the network saw (uint8 (H, W, 3)).
        logits: (1, NUM_BINS, h, w) the network's output for it, computed once by the caller.
        T: initial temperature (default :data:`colorlab.decode.T_ANNEALED`).

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"T": FloatLogSlider}`` and an ``output`` showing
        :func:`colorlab.plot.temperature_strip` at the chosen temperature.
    """
    import ipywidgets as widgets

    from .decode import T_ANNEALED

    slider = widgets.FloatLogSlider(value=T_ANNEALED if T is None else T, base=10, min=-2, max=0, step=0.05,
                                    description="T", readout_format=".2f", continuous_update=False)

    lab = plot.photo_lab(rgb)  # the photo's L and true ab, for every temperature
    state = {}

    def draw(T):
        _redraw_in_place(state, lambda: plot.temperature_strip(rgb, logits, (T,)), _decoded_panel,
                         lambda: plot.temperature_panel(lab, logits, T)[::-1])

    return _assemble(draw, {"T": slider}, "Move T: from the mode (0.01) to the mean (1)")


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


def _upload_drawing(model, current: dict, temperature, size: int):
    """What :func:`colorize_upload_widget` draws for the photo in ``current`` (``name``, ``rgb``, ``l``) at the
    temperature ``temperature()``: ``figure()`` builds its :func:`colorlab.plot.colorization_grid`, and
    ``colorized()`` gives what a new T changes in it (the colorization and its title). The network runs again
    only for a new photo; a new T decodes its remembered output."""
    from .colorize import colorize_l

    memory = {}

    def figure():
        with _remembered_forward(model, memory):
            return plot.colorization_grid(model, {current["name"]: current["rgb"]}, T=temperature(), size=size,
                                          panel=3.2)

    def colorized():
        with _remembered_forward(model, memory):
            T = temperature()
            return [colorize_l(model, current["l"], T=T, size=size), plot.colorized_title(T)]

    return figure, colorized


def colorize_upload_widget(model, example: np.ndarray, T: float | None = None, size: int = 256,
                           max_side: int = 2048):
    """Upload a photo and a temperature slider: the photo's L, its colorization, and the original.

    Args:
        model: a classification model (e.g. ``colorlab.load_pretrained("classification")``).
        example: uint8 (H, W, 3) shown before anything is uploaded (and in the saved widget state of the HTML).
        T: initial annealed-mean temperature (default :data:`colorlab.decode.T_ANNEALED`).
        size: shorter side the network predicts at; ab is upsampled onto the full-resolution L.
        max_side: uploads larger than this on their longer side are shrunk first, to keep the widget responsive
            (the status line says so).

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"T"}``, ``upload`` (a ``FileUpload`` for one image file),
        ``output`` showing :func:`colorlab.plot.colorization_grid` for the current photo, and ``status`` (an
        ``HTML`` line that reports the photo's size, or a file it could not read instead of raising).
    """
    import ipywidgets as widgets

    from .colorize import lightness
    from .decode import T_ANNEALED

    device = next(model.parameters()).device
    current = {"name": "example", "rgb": np.asarray(example), "l": lightness(example, device)}
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="photo")
    status = widgets.HTML("")
    slider = widgets.FloatSlider(value=T_ANNEALED if T is None else T, min=0.05, max=1.0, step=0.01,
                                 description="T", continuous_update=False)
    output = widgets.Output()
    state = {}
    figure, colorized = _upload_drawing(model, current, lambda: slider.value, size)

    def draw(*_):
        output.clear_output(wait=True)
        with output:
            _redraw_in_place(state, figure, _decoded_panel, colorized)

    def on_upload(change):
        item = _uploaded(change["new"])
        if item is None:
            return
        rgb, status.value = _read_upload(*item, max_side)
        if rgb is not None:
            current.update(name=item[0], rgb=rgb, l=lightness(rgb, device))
            state["frames"] = None  # another photo: draw it all
            draw()

    upload.observe(on_upload, names="value")
    slider.observe(draw, names="value")
    draw()
    box = widgets.VBox([widgets.HTML("<b>Colorize your own photo</b> (it never leaves this kernel)"),
                        control_row([upload, slider]), status, output])
    box.controls = {"T": slider}
    box.upload = upload
    box.output = output
    box.status = status
    box.on_upload = on_upload
    return box
