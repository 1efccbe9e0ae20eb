"""Figures of the book, each made by one function that returns a :class:`matplotlib.figure.Figure`.

Conventions shared by every function here:

* a new ``Figure`` is built with the object-oriented API (no ``pyplot``), so nothing is registered globally,
  nothing is shown, and a notebook displays the returned figure once (after ``%matplotlib inline``);
* photos are accepted as uint8 arrays (H, W, 3) — what :func:`colorlab.sample_photo` returns — or as float
  tensors (3, H, W) / (1, 3, H, W) in [0, 1];
* ab planes put a on the x axis and b on the y axis, in raw CIELAB units, over
  :data:`colorlab.gamut.AB_VIEW_LIMIT` (the 313-bin grid plus half a cell);
* a per-bin quantity (313 values, one per row of :func:`colorlab.bins.ab_bins`) is drawn as the grid of
  10 × 10 squares it lives on.

Sections: the Lab space (chapter 1), quantization (chapter 2), soft encoding (chapter 3), class rebalancing
(chapter 4), the network (chapter 5). Later chapters append their own sections at the end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text

from . import bins as _bins
from . import encode as _encode
from . import gamut as _gamut
from . import prior as _prior
from .color import lab_to_rgb, rgb_to_lab
from .decode import T_ANNEALED
from .samples import to_tensor

_VIEW = _gamut.AB_VIEW_LIMIT
_EXTENT = (-_VIEW, _VIEW, -_VIEW, _VIEW)
_OUT_OF_GAMUT_GREY = 0.82


# ---------------------------------------------------------------------------------------------------------------
# Helpers shared by the sections
# ---------------------------------------------------------------------------------------------------------------


#: Widest a figure is drawn, in inches: the book's text column (about 670 CSS pixels at 1024 and 1400 pixels
#: of window) and a JupyterLab output area beside the file browser at 1024 pixels are no narrower, so a figure
#: is shown at its own size and its points are the reader's points.
PAGE_WIDTH = 6.9
#: Pixels per inch of the figures: CSS pixels are 96 to the inch, so the PNG is shown pixel for pixel.
DPI = 96
#: Smallest font a figure draws, in points (smaller sizes asked for are raised to it when it is drawn).
MIN_FONT_SIZE = 9.0


class BookFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` drawn for the page: no text below :data:`MIN_FONT_SIZE` points,
    and titles and axis labels wrapped onto more lines where they are longer than their panel.

    Text is wrapped while the figure is laid out; a draw without layout wraps only text not wrapped before, so
    the last draw of ``savefig(..., bbox_inches="tight")`` (the notebook's) keeps the text its bounding box was
    measured with."""

    def fit_text(self, renderer) -> None:
        """Raise small fonts to :data:`MIN_FONT_SIZE`; where the figure is laid out, wrap long titles and labels."""
        for text in self.findobj(Text):
            if text.get_fontsize() < MIN_FONT_SIZE:
                text.set_fontsize(MIN_FONT_SIZE)
        engine = self.get_layout_engine()
        if engine is None or isinstance(engine, PlaceHolderLayoutEngine):
            self._wrap_all(renderer, again=False)
        else:  # lay out and wrap again until the wrapping fits the layout it gives (the draw lays out once more)
            self._wrap_all(renderer)
            for _ in range(4):
                engine.execute(self)
                laid_out = self._texts()
                self._wrap_all(renderer)
                if self._texts() == laid_out:
                    break

    def _texts(self) -> list[str]:
        return [text.get_text() for ax in self.axes for text in (ax.title, ax.xaxis.label, ax.yaxis.label)]

    def _wrap_all(self, renderer, again: bool = True) -> None:
        """Wrap every title and axis label (``again=False``: those not wrapped yet) from the text it was given,
        to :func:`_wrap_rooms`."""
        wrapped = getattr(self, "_wrapped", {})  # Text → (the text given, the text wrapped)
        for ax in self.axes:
            for text, room in _wrap_rooms(ax, renderer):
                if not again and wrapped.get(text, (None, None))[1] == text.get_text():
                    continue
                given, last = wrapped.get(text, (None, None))
                if text.get_text() != last:
                    given = text.get_text()  # set anew since it was last wrapped
                text.set_text(_wrapped_text(given, text, room, renderer))
                wrapped[text] = (given, text.get_text())
        self._wrapped = wrapped

    def draw(self, renderer):
        self.fit_text(renderer)
        super().draw(renderer)

    #: A figure of photos (:func:`_image_grid`): a notebook shows it as a JPEG, not a PNG.
    photographic = False

    def _repr_mimebundle_(self, include=None, exclude=None):
        """A figure of photos as a JPEG at twice its pixels, shown at its own size: sharp on a high-density
        screen, and a fraction of a PNG's weight (the book's other figures are PNGs at twice their pixels,
        ``InlineBackend.figure_formats = ["retina"]``). Other figures: nothing here, the notebook's formats."""
        if not self.photographic:
            return None
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="jpeg", dpi=2 * self.dpi, bbox_inches="tight", pil_kwargs={"quality": 88})
        from PIL import Image

        width, height = Image.open(io.BytesIO(buffer.getvalue())).size
        return {"image/jpeg": buffer.getvalue()}, {"image/jpeg": {"width": width // 2, "height": height // 2}}


#: Spaces around these signs do not break a line: "chroma < 10" and "λ = 0.5" stay on one line.
_KEEP_TOGETHER = re.compile(r" ([=<>≤≥≈]) ")


def _wrap_rooms(ax, renderer) -> list[tuple[Text, float]]:
    """(text, pixels it may span) for the title and axis labels of ``ax``.

    The title and x label of a panel of a grid may span 95% of its share of the figure's width (not the axes'
    own width: that shrinks as a title grows taller under an equal aspect, so wrapping to it would feed back),
    and no more than they can centred on the axes inside the figure; the y label, and the labels of an axes
    outside a grid (a colorbar), the axes as it is drawn."""
    ax.apply_aspect()
    box, figure = ax.get_window_extent(renderer), ax.get_figure(root=True).bbox
    room = 0.95 * box.width
    spec = ax.get_subplotspec()
    if spec is not None:
        columns = spec.get_gridspec().get_width_ratios() or [1] * spec.get_gridspec().ncols
        share = sum(columns[i] for i in spec.colspan) / sum(columns)
        room = 0.95 * min(figure.width * share, box.x0 + box.x1, 2 * figure.width - box.x0 - box.x1)
    return [(ax.title, room), (ax.xaxis.label, room), (ax.yaxis.label, box.height)]


def _wrapped_text(text: str, artist: Text, room: float, renderer) -> str:
    """``text`` broken at spaces (not inside "a < b" phrases, not in TeX) so that no line drawn in ``artist``'s
    font is wider than ``room`` pixels; a word longer than ``room`` gets a line of its own."""
    if not text or "$" in text:
        return text

    def width(line: str) -> float:
        return renderer.get_text_width_height_descent(line, artist.get_fontproperties(), ismath=False)[0]

    lines = []
    for line in _KEEP_TOGETHER.sub("\u00a0\\1\u00a0", text).split("\n"):
        words = line.split(" ")
        current = words[0]
        for word in words[1:]:
            if width(f"{current} {word}".replace("\u00a0", " ")) <= room:
                current = f"{current} {word}"
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return "\n".join(lines).replace("\u00a0", " ")


def _wrap_title(ax, renderer) -> None:
    """Wrap the title of ``ax``, as it is now, to its room (:func:`_wrap_rooms`): for a widget's frame, whose
    titles change without a layout."""
    ax.title.set_text(_wrapped_text(ax.title.get_text(), ax.title, _wrap_rooms(ax, renderer)[0][1], renderer))


def _figure(ncols: int, nrows: int = 1, panel: float = 3.4, height: float | None = None) -> Figure:
    """A figure of ``ncols`` × ``nrows`` panels (inches), scaled down as a whole to fit :data:`PAGE_WIDTH`."""
    width, tall = panel * ncols, (height or panel) * nrows
    scale = min(1.0, PAGE_WIDTH / width)
    return BookFigure(figsize=(width * scale, tall * scale), dpi=DPI, layout="constrained")


def _image_grid(rows, panel: float, height: float | None = None, fontsize: float = 9) -> Figure:
    """A figure of titled images without axes: ``rows`` is a list of rows, each a list of (title, image)."""
    fig = _figure(len(rows[0]), len(rows), panel=panel, height=height)
    fig.photographic = True
    axes = np.asarray(fig.subplots(len(rows), len(rows[0]))).reshape(len(rows), len(rows[0]))
    for ax_row, row in zip(axes, rows):
        for ax, (title, image) in zip(ax_row, row):
            ax.imshow(image)
            ax.set_title(title, fontsize=fontsize)
            ax.axis("off")
    return fig


def _legend_below(ax, label_lines: int = 1):
    """The legend of ``ax`` under its x axis (tick labels and an x label of ``label_lines`` lines), off the
    data; an axes legend still, as a widget may redraw it (:meth:`matplotlib.axes.Axes.get_legend`)."""
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=3 + 1.3 * label_lines,
                     frameon=False, fontsize=MIN_FONT_SIZE)


def _rgb_tensor(rgb, name: str = "rgb") -> torch.Tensor:
    """A photo as float32 (1, 3, H, W) in [0, 1], from uint8 (H, W, 3) or float (3, H, W) / (1, 3, H, W)."""
    if isinstance(rgb, np.ndarray):
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"{name} must be a uint8 array of shape (H, W, 3); got {rgb.dtype} {rgb.shape}")
        return to_tensor(rgb)
    if not isinstance(rgb, torch.Tensor):
        raise TypeError(f"{name} must be a uint8 array (H, W, 3) or a float tensor (1, 3, H, W); got {type(rgb).__name__}")
    if rgb.dim() == 3:
        rgb = rgb[None]
    if rgb.dim() != 4 or rgb.shape[:2] != (1, 3) or not rgb.is_floating_point():
        raise ValueError(f"{name} must be a float tensor of shape (1, 3, H, W) or (3, H, W); got {rgb.dtype} {tuple(rgb.shape)}")
    return rgb.detach().float().cpu()


def _image(rgb: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) tensor → (H, W, 3) numpy for imshow."""
    return rgb[0].permute(1, 2, 0).clamp(0, 1).numpy()


def _lab(rgb: torch.Tensor) -> torch.Tensor:
    return rgb_to_lab(rgb.double())


def _ab_colours(ab: np.ndarray, l: float) -> np.ndarray:
    """sRGB (N, 3) of the Lab colours (l, a, b) for ab (N, 2), out-of-gamut ones clipped."""
    ab = np.asarray(ab, dtype=np.float64)
    lab = torch.from_numpy(np.concatenate([np.full((len(ab), 1), float(l)), ab], axis=1).T.copy())
    return lab_to_rgb(lab[:, :, None]).squeeze(-1).T.numpy()


def _channel_cmap(channel: int, limit: float, l: float = 70.0) -> ListedColormap:
    """A colormap running over a (channel 1) or b (channel 2) in [-limit, limit], the other held at 0."""
    values = np.linspace(-limit, limit, 256)
    ab = np.zeros((256, 2))
    ab[:, channel - 1] = values
    return ListedColormap(_ab_colours(ab, l), name="ab" + "ab"[channel - 1])


def _ab_axes(ax, title: str | None = None) -> None:
    ax.set_xlim(-_VIEW, _VIEW)
    ax.set_ylim(-_VIEW, _VIEW)
    ax.set_aspect("equal")
    ax.set_xlabel("a")
    ax.set_ylabel("b")
    if title:
        ax.set_title(title)


def _draw_hull(ax, **style) -> None:
    hull = _bins.gamut_ab_hull()
    closed = np.vstack([hull, hull[:1]])
    style = {"color": "black", "lw": 1.0, "ls": "--", "label": "sRGB gamut, all L (convex hull)"} | style
    ax.plot(closed[:, 0], closed[:, 1], **style)


def _bin_grid(values) -> np.ndarray:
    """Per-bin values (313,) → (cells, cells) array on the ab grid (row = b, column = a), NaN off the bins."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (_bins.NUM_BINS,):
        raise ValueError(f"per-bin values must have shape ({_bins.NUM_BINS},); got {values.shape}")
    cells = 2 * _bins.AB_LIMIT // _bins.GRID_STEP + 1
    grid = np.full((cells, cells), np.nan)
    centres = _bins.ab_bins(dtype=torch.float64).numpy()
    index = np.round((centres + _bins.AB_LIMIT) / _bins.GRID_STEP).astype(int)
    grid[index[:, 1], index[:, 0]] = values
    return grid


def _bin_map(ax, values, norm, cmap: str = "viridis", title: str | None = None, hull_colour: str = "black"):
    """Draw per-bin values as the 10 × 10 squares of the ab grid; bins with NaN (e.g. log of 0) are hatched."""
    grid = _bin_grid(values)
    bin_area = _bin_grid(np.ones(_bins.NUM_BINS))
    ax.imshow(np.where(np.isfinite(bin_area), 0.93, 1.0)[..., None].repeat(3, -1), origin="lower",
              extent=_EXTENT, interpolation="nearest")
    image = ax.imshow(np.ma.masked_invalid(grid), origin="lower", extent=_EXTENT, norm=norm, cmap=cmap,
                      interpolation="nearest")
    _draw_hull(ax, lw=0.8, color=hull_colour)
    _ab_axes(ax, title)
    return image


def _per_bin(values, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (_bins.NUM_BINS,):
        raise ValueError(f"{name} must have shape ({_bins.NUM_BINS},); got {values.shape}")
    return values


# ---------------------------------------------------------------------------------------------------------------
# Chapter 1: the Lab space
# ---------------------------------------------------------------------------------------------------------------


def lab_channels(rgb, ab_limit: float | None = None) -> Figure:
    """A photo beside its three CIELAB channels L, a and b (paper §2: the network sees L and predicts a, b).

    L is drawn in grey over [0, 100]. a and b are drawn with a colormap that shows the colour each value stands
    for (the other chromatic channel held at 0, L = 70), over a shared symmetric range.

    Args:
        rgb: uint8 (H, W, 3), or float tensor (3, H, W) / (1, 3, H, W) in [0, 1].
        ab_limit: the a and b colour scales span [-ab_limit, ab_limit]; default: the 99.5th percentile of
            |a| and |b| rounded up to a multiple of 10 (at least 10), so the image's own range fills the scale.

    Returns:
        A figure with four image panels titled "sRGB photo", "L (lightness)", "a (green – red)",
        "b (blue – yellow)", and a colorbar for each channel.
    """
    rgb = _rgb_tensor(rgb)
    lab = _lab(rgb)[0].numpy()
    if ab_limit is None:
        ab_limit = max(10.0, float(np.ceil(np.percentile(np.abs(lab[1:]), 99.5) / 10.0) * 10.0))
    fig = _figure(4, panel=3.2, height=3.0)
    axes = fig.subplots(1, 4)
    axes[0].imshow(_image(rgb))
    axes[0].set_title("sRGB photo")
    panels = [
        (lab[0], "gray", 0.0, 100.0, "L (lightness)"),
        (lab[1], _channel_cmap(1, ab_limit), -ab_limit, ab_limit, "a (green – red)"),
        (lab[2], _channel_cmap(2, ab_limit), -ab_limit, ab_limit, "b (blue – yellow)"),
    ]
    for ax, (channel, cmap, vmin, vmax, title) in zip(axes[1:], panels):
        image = ax.imshow(channel, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.8)
    for ax in axes:
        ax.set_axis_off()
    return fig


def ab_gamut_planes(lightness: Sequence[float] = (25, 50, 75), resolution: int = 231, hull: bool = True) -> Figure:
    """Slices of CIELAB at constant lightness: the colours sRGB can show, and where it cannot.

    Each panel is the ab plane at one L. Colours displayable in sRGB are drawn as themselves; ab values outside
    the sRGB gamut at that L are flat grey. The dashed outline is the convex hull of the gamut's ab projection
    over all L (the hull the 313 bins are derived from, :mod:`colorlab.bins`).

    Args:
        lightness: the L values, one panel each, in [0, 100].
        resolution: samples per ab axis.
        hull: draw the all-L hull outline.

    Returns:
        A figure with ``len(lightness)`` panels, titled ``"L = <value>: <share>% in gamut"`` (the share of the
        plotted ab window displayable at that L).
    """
    lightness = [float(l) for l in np.atleast_1d(lightness)]
    if not lightness:
        raise ValueError("lightness must hold at least one value in [0, 100]")
    fig = _figure(len(lightness), panel=3.4, height=3.6)
    axes = np.atleast_1d(fig.subplots(1, len(lightness)))
    for ax, l in zip(axes, lightness):
        rgb, in_gamut = _gamut.ab_plane(l, resolution)
        shown = np.where(in_gamut[..., None], rgb, _OUT_OF_GAMUT_GREY)
        ax.imshow(shown, origin="lower", extent=_EXTENT, interpolation="nearest")
        if hull:
            _draw_hull(ax)
        _ab_axes(ax, f"L = {l:g}: {100 * in_gamut.mean():.0f}% in gamut")
    handles = [Patch(color=str(_OUT_OF_GAMUT_GREY), label="not displayable in sRGB at this L")]
    if hull:
        handles.append(axes[0].get_lines()[0])
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles) if len(lightness) > 1 else 1,
               frameon=False, fontsize="small")
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Chapter 2: quantization into 313 bins
# ---------------------------------------------------------------------------------------------------------------


def ab_bins_grid(l: float = 50.0, centres=None, mark_out_of_gamut: bool = False) -> Figure:
    """The Q = 313 ab bins over the sRGB gamut (paper Fig. 3a), each drawn as a square in its own colour.

    Args:
        l: the lightness at which bin colours are shown.
        centres: (Q, 2) bin centres; default :func:`colorlab.bins.ab_bins`.
        mark_out_of_gamut: draw the bins whose centre sRGB cannot show at lightness ``l`` as hollow squares
            (otherwise their colour is clipped into the gamut like any other).

    Returns:
        A figure with one axes and the gamut hull outline. Without marking: one scatter collection of Q square
        markers, titled ``"<Q> ab bins, grid step 10 (colours at L = <l>)"``. With marking: a filled collection
        (displayable bins) and a hollow one (the rest), titled ``"L = <l>: <n> of <Q> bins displayable"``.
    """
    centres = _bins.ab_bins(dtype=torch.float64).numpy() if centres is None else np.asarray(centres, float)
    colours = _ab_colours(centres, l)
    fig = _figure(1, panel=5.0)
    ax = fig.subplots()
    if mark_out_of_gamut:
        shown = _bins.ab_gamut_mask(float(l), centres[:, 0], centres[:, 1])
        ax.scatter(centres[shown, 0], centres[shown, 1], c=colours[shown], marker="s", s=60, edgecolors="white",
                   linewidths=0.4, label="displayable at this L")
        ax.scatter(centres[~shown, 0], centres[~shown, 1], marker="s", s=60, facecolors="none",
                   edgecolors=colours[~shown], linewidths=1.0, label="not displayable at this L")
        title = f"L = {l:g}: {shown.sum()} of {len(centres)} bins displayable"
    else:
        # A marker of about one grid step at this figure size (marker sizes are in points²).
        ax.scatter(centres[:, 0], centres[:, 1], c=colours, marker="s", s=60, edgecolors="white", linewidths=0.4)
        title = f"{len(centres)} ab bins, grid step {_bins.GRID_STEP} (colours at L = {l:g})"
    _draw_hull(ax)
    _ab_axes(ax, title)
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    ax.grid(alpha=0.25)
    return fig


def bin_derivation(examples: int = 2) -> Figure:
    """The rule that yields the 313 bins, drawn (:func:`colorlab.bins.derive_ab_bins`).

    Grey points are the ab of an RGB grid (the whole sRGB gamut, all L); the dashed line is their convex hull.
    Every grid point with |a|, |b| ≤ 110 is tested: it is kept (filled) when the square [g − 10, g + 10]²
    meets the hull, i.e. its L∞ distance to the hull is below 10, and rejected (cross) otherwise. The squares
    drawn belong to the kept points farthest from the hull and the rejected points closest to it: the margin
    of the rule.

    Args:
        examples: how many kept and how many rejected points get their square drawn.

    Returns:
        A figure with one axes, titled with the number of kept points; the kept points are one scatter
        collection (313 points) and the rejected ones another.
    """
    grid = _bins.ab_grid()
    distance = _bins.hull_linf_distance(grid)
    keep = distance < _bins.KEEP_DISTANCE
    gamut_ab = _bins.srgb_gamut_ab(steps=16)
    fig = _figure(1, panel=6.0, height=6.8)
    ax = fig.subplots()
    ax.scatter(gamut_ab[:, 0], gamut_ab[:, 1], s=1, color="0.75", label="ab of an RGB grid (16 levels)")
    _draw_hull(ax)
    ax.scatter(grid[keep, 0], grid[keep, 1], s=14, color="tab:blue",
               label=f"kept: L∞ distance < {_bins.KEEP_DISTANCE:g} ({keep.sum()})")
    ax.scatter(grid[~keep, 0], grid[~keep, 1], s=14, marker="x", color="tab:red", linewidths=0.8,
               label=f"rejected ({(~keep).sum()})")
    kept_order = np.flatnonzero(keep)[np.argsort(-distance[keep])][:examples]
    rejected_order = np.flatnonzero(~keep)[np.argsort(distance[~keep])][:examples]
    for index, colour in [(i, "tab:blue") for i in kept_order] + [(i, "tab:red") for i in rejected_order]:
        a, b = grid[index]
        step = _bins.GRID_STEP
        ax.add_patch(Rectangle((a - step, b - step), 2 * step, 2 * step, fill=False, color=colour, lw=1.2))
        ax.annotate(f"{distance[index]:.2f}", (a, b), xytext=(a + 1.2 * step, b + 1.2 * step), fontsize=8,
                    color=colour, ha="center", va="center",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    lim = _bins.AB_LIMIT + 2 * _bins.GRID_STEP
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("a")
    ax.set_ylabel("b")
    ax.set_title(f"Keep g when [g − {_bins.GRID_STEP}, g + {_bins.GRID_STEP}]² meets the hull: {keep.sum()} bins",
                 fontsize="medium")
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    return fig


def bin_rules(rules: Mapping[str, np.ndarray]) -> Figure:
    """Compare rules for "in gamut" grid points: one panel per rule, its kept points over the gamut hull.

    Args:
        rules: ``{rule description: int (N, 2) grid points kept}``, e.g. from
            :func:`colorlab.bins.derive_ab_bins`, :func:`colorlab.gamut.grid_points_in_gamut` and
            :func:`colorlab.gamut.grid_points_of_8bit_colours`.

    Returns:
        A figure with one panel per rule, titled ``"<description>: <N> points"``; each panel holds one scatter
        collection with N points.
    """
    if not rules:
        raise ValueError("rules must name at least one set of grid points")
    fig = _figure(len(rules), panel=3.6, height=3.9)
    axes = np.atleast_1d(fig.subplots(1, len(rules), sharey=True))
    for ax, (name, points) in zip(axes, rules.items()):
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"rules[{name!r}] must have shape (N, 2); got {points.shape}")
        ax.scatter(points[:, 0], points[:, 1], c=_ab_colours(points, 60.0), marker="s", s=22)
        _draw_hull(ax, label=None)
        _ab_axes(ax, f"{name}: {len(points)} points")
        ax.title.set_fontsize("medium")
    return fig


def quantization_example(rgb) -> Figure:
    """What quantizing ab to the nearest of the 313 bins does to a photo (paper §2.1).

    Args:
        rgb: uint8 (H, W, 3), or float tensor (3, H, W) / (1, 3, H, W) in [0, 1].

    Returns:
        A figure with three panels: the photo, the photo with each pixel's ab replaced by its nearest bin centre
        (L kept), and the ab error |Δab| in ab units with a colorbar. The titles report the mean error.
    """
    rgb = _rgb_tensor(rgb)
    lab = _lab(rgb)
    nearest = _encode.nearest_bin(lab[:, 1:])
    centres = _bins.ab_bins(dtype=lab.dtype)
    quantized_ab = centres[nearest].permute(0, 3, 1, 2)
    quantized = lab_to_rgb(torch.cat([lab[:, :1], quantized_ab], dim=1))
    error = (quantized_ab - lab[:, 1:]).norm(dim=1)[0].numpy()
    fig = _figure(3, panel=3.6, height=3.2)
    axes = fig.subplots(1, 3)
    axes[0].imshow(_image(rgb))
    axes[0].set_title("photo")
    axes[1].imshow(_image(quantized))
    axes[1].set_title(f"ab snapped to the nearest of {_bins.NUM_BINS} bins")
    image = axes[2].imshow(error, cmap="magma", vmin=0, vmax=_bins.GRID_STEP * np.sqrt(2) / 2)
    axes[2].set_title(f"|Δab|, mean {error.mean():.2f}")
    fig.colorbar(image, ax=axes[2], shrink=0.8, label="ab units")
    for ax in axes:
        ax.set_axis_off()
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Chapter 3: soft encoding
# ---------------------------------------------------------------------------------------------------------------


def soft_encoding_pixel(a: float, b: float, k: int = _encode.SOFT_K, sigma: float = _encode.SIGMA,
                        l: float = 60.0, window: float = 35.0) -> Figure:
    """The soft encoding of one ab value: its k nearest bins and their Gaussian weights (paper §2.1).

    Args:
        a, b: the ab value, raw units.
        k: number of nearest bins (paper: 5).
        sigma: Gaussian width in ab units (paper: 5).
        l: lightness at which bins are coloured.
        window: half-width of the zoomed ab window around (a, b).

    Returns:
        A figure with two axes: left, the ab neighbourhood with every bin centre (one scatter of the bins in the
        window), the k chosen bins circled with areas proportional to their weights, and (a, b) as a star;
        right, a bar chart with k bars whose heights are the weights (they sum to 1), labelled by bin centre.
    """
    ab = torch.tensor([float(a), float(b)], dtype=torch.float64).view(1, 2, 1, 1)
    index, weight = _encode.soft_encode_sparse(ab, k=k, sigma=sigma)
    index = index.flatten().numpy()
    weight = weight.flatten().double().numpy()
    centres = _bins.ab_bins(dtype=torch.float64).numpy()
    chosen = centres[index]
    fig = _figure(2, panel=4.0)
    ax, bar_ax = fig.subplots(1, 2, width_ratios=(1.1, 1))
    near = np.all(np.abs(centres - [a, b]) <= window + _bins.GRID_STEP, axis=1)
    ax.scatter(centres[near, 0], centres[near, 1], c=_ab_colours(centres[near], l), marker="s", s=180,
               edgecolors="white")
    ax.scatter(chosen[:, 0], chosen[:, 1], s=2500 * weight, facecolors="none", edgecolors="black", lw=1.5)
    for (ca, cb), w in zip(chosen, weight):
        ax.plot([a, ca], [b, cb], color="black", lw=0.6, alpha=0.6)
        ax.annotate(f"{w:.2f}", (ca, cb), xytext=(0, -16), textcoords="offset points", ha="center", fontsize=8)
    ax.scatter([a], [b], marker="*", s=160, color="white", edgecolors="black", zorder=5)
    ax.set_xlim(a - window, a + window)
    ax.set_ylim(b - window, b + window)
    ax.set_aspect("equal")
    ax.set_xlabel("a")
    ax.set_ylabel("b")
    ax.set_title(f"(a, b) = ({a:.1f}, {b:.1f}): {k} nearest bins, σ = {sigma:g}")
    labels = [f"({ca:.0f}, {cb:.0f})" for ca, cb in chosen]
    bar_ax.bar(range(len(weight)), weight, color=_ab_colours(chosen, l), edgecolor="black")
    bar_ax.set_xticks(range(len(weight)), labels, rotation=45, ha="right", fontsize=8)
    bar_ax.set_ylim(0, 1)
    bar_ax.set_ylabel("weight in the soft target")
    bar_ax.set_title(f"weights (sum {weight.sum():.3f})")
    return fig


def soft_encoding_map(rgb, k: int = _encode.SOFT_K, sigma: float = _encode.SIGMA) -> Figure:
    """The soft encoding of a whole photo, summarised per pixel (paper §2.1).

    Args:
        rgb: uint8 (H, W, 3), or float tensor (3, H, W) / (1, 3, H, W) in [0, 1].
        k, sigma: the encoding's neighbour count and Gaussian width.

    Returns:
        A figure with three panels: the photo; the largest of the k weights of each pixel (1 would be a one-hot
        target); the entropy of each pixel's k weights in bits (0 for one-hot, log2 k for uniform).
        Both maps have colorbars.
    """
    rgb = _rgb_tensor(rgb)
    ab = _lab(rgb)[:, 1:]
    _, weight = _encode.soft_encode_sparse(ab, k=k, sigma=sigma)
    weight = weight[0].double()
    max_weight = weight.amax(dim=0).numpy()
    entropy = -(weight * torch.log2(weight.clamp_min(1e-12))).sum(dim=0).numpy()
    fig = _figure(3, panel=3.6, height=3.2)
    axes = fig.subplots(1, 3)
    axes[0].imshow(_image(rgb))
    axes[0].set_title("photo")
    image = axes[1].imshow(max_weight, cmap="viridis", vmin=0, vmax=1)
    axes[1].set_title(f"largest weight (mean {max_weight.mean():.2f})")
    fig.colorbar(image, ax=axes[1], shrink=0.8)
    image = axes[2].imshow(entropy, cmap="viridis", vmin=0, vmax=np.log2(k))
    axes[2].set_title(f"entropy of the {k} weights, bits (mean {entropy.mean():.2f})")
    fig.colorbar(image, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.set_axis_off()
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Chapter 4: the prior and class rebalancing
# ---------------------------------------------------------------------------------------------------------------


def prior_maps(priors: Mapping[str, np.ndarray], dynamic_range: float = 1e8) -> Figure:
    """Priors over the 313 bins drawn on the ab plane, log10 scale, one panel each (paper Fig. 3b).

    Args:
        priors: ``{title: (313,) probabilities}``, e.g. the ImageNet prior and an empirical one.
        dynamic_range: the shared colour scale spans [max / dynamic_range, max]; smaller positive values (the
            far tails of a Gaussian-smoothed prior) are drawn in the lowest colour.

    Returns:
        A figure with one panel per prior (titled with its name and, on a second line, the number of bins with
        p > 0) and one shared log-scale colorbar; bins with probability 0 are left pale grey.
    """
    if not priors:
        raise ValueError("priors must hold at least one (313,) array")
    values = {name: _per_bin(p, f"priors[{name!r}]") for name, p in priors.items()}
    positive = np.concatenate([p[p > 0] for p in values.values()])
    if positive.size == 0:
        raise ValueError("priors must have some bin with probability > 0")
    norm = LogNorm(vmin=max(positive.min(), positive.max() / dynamic_range), vmax=positive.max())
    fig = _figure(len(values), panel=3.8, height=3.8)
    axes = np.atleast_1d(fig.subplots(1, len(values)))
    for ax, (name, p) in zip(axes, values.items()):
        image = _bin_map(ax, np.where(p > 0, p, np.nan), norm, title=f"{name}\n{(p > 0).sum()} bins with p > 0")
        ax.title.set_fontsize("medium")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="probability (log scale)", extend="min")
    return fig


def weights_vs_prior(prior, lams: Sequence[float] = (0.0, 0.25, 0.5, 1.0)) -> Figure:
    """Class weights w(λ) against the prior p, one curve per λ (paper Eq. 3–4).

    w ∝ ((1 − λ) p + λ / Q)⁻¹ scaled so that Σ p · w = 1 (:func:`colorlab.prior.rebalance_weights`):
    λ = 1 leaves every weight at 1, λ = 0 weights each bin by 1 / p.

    Args:
        prior: (313,) probabilities.
        lams: the λ values, each in [0, 1].

    Returns:
        A figure with one log–log axes holding one line per λ (labelled ``"λ = <value>"``, points sorted by p,
        bins with p = 0 left out).
    """
    prior = _per_bin(prior, "prior")
    order = np.argsort(prior)
    order = order[prior[order] > 0]
    fig = _figure(1, panel=5.0, height=3.8)
    ax = fig.subplots()
    for lam in lams:
        w = _per_bin(_prior.rebalance_weights(prior, lam=lam), "weights")
        ax.plot(prior[order], w[order], label=f"λ = {lam:g}", lw=1.5)
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("prior probability p of the bin")
    ax.set_ylabel("class weight w")
    ax.set_title("Rebalancing weights: rare bins weigh more")
    ax.legend()
    return fig


def weight_maps(prior, lams: Sequence[float] = (0.25, 0.5, 0.75)) -> Figure:
    """Class weights on the ab plane for several λ, on one shared log colour scale.

    Args:
        prior: (313,) probabilities.
        lams: the λ values, one panel each.

    Returns:
        A figure with one panel per λ (titled with λ and the weights' range over bins with p > 0) and one
        shared colorbar.
    """
    prior = _per_bin(prior, "prior")
    seen = prior > 0
    weights = [_per_bin(_prior.rebalance_weights(prior, lam=lam), "weights") for lam in lams]
    low = min(w[seen].min() for w in weights)
    high = max(w[seen].max() for w in weights)
    norm = LogNorm(vmin=low, vmax=high if high > low else low * 1.01)
    fig = _figure(len(weights), panel=3.6, height=3.6)
    axes = np.atleast_1d(fig.subplots(1, len(weights)))
    for ax, lam, w in zip(axes, lams, weights):
        image = _bin_map(ax, np.where(seen, w, np.nan), norm, cmap="magma", hull_colour="white",
                         title=f"λ = {lam:g}: w in [{w[seen].min():.2f}, {w[seen].max():.2f}]")
        ax.title.set_fontsize("medium")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="class weight w (log scale)")
    return fig


def loss_share(prior, lam: float = _prior.LAMBDA, top: int = 10) -> Figure:
    """How much of the loss each bin carries before and after rebalancing.

    A pixel whose nearest bin is q contributes to the loss in proportion to its weight w_q, so bin q carries
    the share p_q · w_q / Σ p · w of the loss (= p_q · w_q, since Σ p · w = 1). Without rebalancing
    (every w = 1) that share is p_q.

    Args:
        prior: (313,) probabilities.
        lam: the rebalancing λ.
        top: the curve panel marks how much the ``top`` most frequent bins carry.

    Returns:
        A figure with three panels: the share before (on the ab plane, log scale), the share after, and the
        cumulative share of the bins sorted from most to least frequent, one line each for before and after.
    """
    prior = _per_bin(prior, "prior")
    w = _per_bin(_prior.rebalance_weights(prior, lam=lam), "weights")
    before = prior / prior.sum()
    after = prior * w / np.sum(prior * w)
    seen = prior > 0
    positive = np.concatenate([before[seen], after[seen]])
    norm = LogNorm(vmin=positive.min(), vmax=positive.max())
    fig = _figure(3, panel=3.7, height=4.4)  # room for the legend under the curves
    axes = fig.subplots(1, 3)
    _bin_map(axes[0], np.where(seen, before, np.nan), norm, cmap="cividis", title="share of the loss, no rebalancing")
    image = _bin_map(axes[1], np.where(seen, after, np.nan), norm, cmap="cividis",
                     title=f"share of the loss, λ = {lam:g}")
    fig.colorbar(image, ax=list(axes[:2]), shrink=0.8, label="share of the loss (log scale)")
    order = np.argsort(-prior)
    rank = np.arange(1, len(prior) + 1)
    for share, label in ((before, "no rebalancing"), (after, f"λ = {lam:g}")):
        cumulative = np.cumsum(share[order])
        axes[2].plot(rank, cumulative, label=f"{label}:\ntop {top} carry {100 * cumulative[top - 1]:.0f}%")
    axes[2].axvline(top, color="0.5", lw=0.8, ls=":")
    axes[2].set_xscale("log")
    axes[2].set_ylim(0, 1.02)
    axes[2].set_xlabel("bins, most frequent first")
    axes[2].set_ylabel("cumulative share of the loss")
    axes[2].set_title("who carries the loss")
    _legend_below(axes[2], label_lines=2)  # the x label is wrapped in this narrow panel
    for ax in axes[:2]:
        ax.title.set_fontsize("medium")
    return fig


def pixel_weight_map(rgb, w, grey_chroma: float = 10.0) -> Figure:
    """Per-pixel rebalancing weights of a photo and how they move the loss away from near-grey pixels.

    Each pixel is weighted by the class weight of its nearest bin (:func:`colorlab.prior.pixel_weights`, as in
    the authors' code). Near-grey pixels (chroma √(a² + b²) below ``grey_chroma``) are common and get small
    weights; the bar chart compares their share of the pixels with their share of the weighted loss.

    Args:
        rgb: uint8 (H, W, 3), or float tensor (3, H, W) / (1, 3, H, W) in [0, 1].
        w: (313,) class weights, e.g. :func:`colorlab.prior.rebalance_weights`.
        grey_chroma: chroma below which a pixel counts as near-grey, in ab units.

    Returns:
        A figure with three panels: the photo; the weight map (log scale, with a colorbar); a bar chart with two
        bars, "share of pixels" and "share of the weighted loss" of the near-grey pixels.
    """
    rgb = _rgb_tensor(rgb)
    w = torch.as_tensor(_per_bin(w, "w"))
    ab = _lab(rgb)[:, 1:]
    weight = _prior.pixel_weights(ab, w)[0].numpy()
    grey = (ab[0].norm(dim=0) < grey_chroma).numpy()
    pixel_share = grey.mean()
    loss_share_grey = weight[grey].sum() / weight.sum()
    fig = _figure(3, panel=3.6, height=3.2)
    axes = fig.subplots(1, 3, width_ratios=(1, 1, 0.8))
    axes[0].imshow(_image(rgb))
    axes[0].set_title("photo")
    axes[0].set_axis_off()
    image = axes[1].imshow(weight, cmap="magma", norm=LogNorm(vmin=weight.min(), vmax=max(weight.max(), weight.min() * 1.01)))
    axes[1].set_title("weight of each pixel")
    axes[1].set_axis_off()
    fig.colorbar(image, ax=axes[1], shrink=0.8)
    bars = axes[2].bar([0, 1], [pixel_share, loss_share_grey], color=["0.6", "tab:purple"])
    axes[2].bar_label(bars, labels=[f"{100 * pixel_share:.0f}%", f"{100 * loss_share_grey:.0f}%"])
    axes[2].set_xticks([0, 1], ["share of\npixels", "share of the\nweighted loss"])
    axes[2].set_ylim(0, 1)
    axes[2].set_title(f"near-grey pixels (chroma < {grey_chroma:g})", fontsize="medium")
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Chapter 5: the network
# ---------------------------------------------------------------------------------------------------------------


def _block_colour(row) -> str:
    if row.block == "out":
        return "tab:orange"
    if row.stride < 1:
        return "tab:green"
    return "tab:purple" if row.dilation > 1 else "tab:blue"


def network_blocks(rows, input_size: int | None = None) -> Figure:
    """The network block by block, drawn like the paper's Figure 2, from :func:`colorlab.models.layer_table`.

    Args:
        rows: the rows of ``layer_table(model, size)``.
        input_size: the input side the rows were measured at (shown as the first box), or None.

    Returns:
        A figure with two axes: top, one box per block whose height is proportional to the block's output
        side h and whose width grows with the square root of its channels, labelled "C×" over "h×w" (colours: blue
        plain, purple dilated, green upsampling, orange the 1×1 classifier; "BN" under blocks ending in
        BatchNorm); bottom, the parameters (millions, bars) and forward GFLOPs (dots) of every block.
    """
    rows = list(rows)
    fig = _figure(1, panel=11.0, height=6.4)
    ax, cost_ax = fig.subplots(2, 1, height_ratios=(1.5, 1))
    boxes = ([("input", (1, input_size, input_size), "tab:gray", False, 1)] if input_size else [])
    boxes += [(r.block, r.output_shape, _block_colour(r), r.batch_norm, r.dilation) for r in rows]
    tallest = max(shape[1] for _, shape, *_ in boxes)
    x, shape_y = 0.0, []
    for i, (name, (c, h, w), colour, bn, dilation) in enumerate(boxes):
        width = 0.25 + 0.9 * np.sqrt(c / 512)
        height = h / tallest
        ax.add_patch(Rectangle((x, -height / 2), width, height, facecolor=colour, alpha=0.75, edgecolor="black"))
        # Every other shape label is raised above its left neighbour's, as wide shapes ("128×128") of narrow
        # neighbouring boxes would run into each other.
        shape_y.append(max(height / 2 + 0.03, shape_y[-1] + 0.3 if i % 2 else 0.0))
        ax.text(x + width / 2, shape_y[-1], f"{c}×\n{h}×{w}", ha="center", va="bottom", fontsize=7.5)
        label = name + (f"\ndilation {dilation}" if dilation > 1 else "") + ("\nBN" if bn else "")
        ax.text(x + width / 2, -height / 2 - 0.03, label, ha="center", va="top", fontsize=8)
        x += width + 0.5
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-0.75, max(shape_y) + 0.3)
    ax.axis("off")
    ax.set_title("blocks and output shapes (box height ∝ output side, width ∝ √channels)")
    names = [r.block for r in rows]
    positions = np.arange(len(rows))
    cost_ax.bar(positions, [r.parameters / 1e6 for r in rows], color=[_block_colour(r) for r in rows], alpha=0.75)
    cost_ax.set_ylabel("parameters (millions)")
    cost_ax.set_xticks(positions, names)
    flops_ax = cost_ax.twinx()
    flops_ax.plot(positions, [r.gflops for r in rows], "o-", color="black")
    flops_ax.set_ylabel("forward GFLOPs (dots)")
    flops_ax.set_ylim(0, None)
    total_p = sum(r.parameters for r in rows) / 1e6
    total_f = sum(r.gflops for r in rows)
    cost_ax.set_title(f"{total_p:.1f} M parameters, {total_f:.1f} GFLOPs per image"
                      + (f" at {input_size}²" if input_size else ""))
    return fig


def _block_of(layer: str) -> str:
    """'blocks.conv5.0' → 'conv5'."""
    parts = layer.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "blocks" else parts[0]


def receptive_field_growth(fields: Mapping[str, Sequence], rgb=None) -> Figure:
    """How the receptive field grows layer by layer, for one or more networks (e.g. dilated vs not).

    Args:
        fields: name → the rows of :func:`colorlab.models.receptive_fields` of a model.
        rgb: optional photo (uint8 (H, W, 3) or float tensor); the final receptive field of the centre output cell
            of each network is drawn on it as a square.

    Returns:
        A figure with one axis (the receptive field side in input pixels after every convolution, one step line
        per network, block names on the x axis) or two when ``rgb`` is given (the photo with one square per
        network, clipped where it runs past the border).
    """
    if not fields:
        raise ValueError("fields must name at least one network")
    fig = _figure(2 if rgb is not None else 1, panel=5.0, height=4.2)
    axes = fig.subplots(1, 2 if rgb is not None else 1, squeeze=False)[0]
    ax = axes[0]
    colours = ["tab:purple", "tab:blue", "tab:green", "tab:orange"]
    first = list(fields.values())[0]
    for (name, rows), colour in zip(fields.items(), colours * len(fields)):
        sizes = [r.size for r in rows]
        ax.step(np.arange(1, len(sizes) + 1), sizes, where="post", color=colour, lw=2,
                label=f"{name}: {sizes[-1]:g} px")
    ticks, labels = [], []
    for i, r in enumerate(first, start=1):
        if _block_of(r.layer) not in labels:
            ticks.append(i)
            labels.append(_block_of(r.layer))
    ax.set_xticks(ticks, labels, rotation=90)  # upright, the close ticks of conv1–conv3 would collide
    ax.set_xlabel("layer (first convolution of each block)")
    ax.set_ylabel("receptive field side (input pixels)")
    ax.grid(alpha=0.3)
    if rgb is None:
        ax.legend(loc="lower right", fontsize=8)  # under the curves, which rise to the right
    else:  # the panel is too narrow for it under the curves
        fig.legend(handles=ax.get_lines(), loc="outside lower left", fontsize=8, frameon=False)
    ax.set_title("receptive field after each convolution")
    if rgb is not None:
        image = _image(_rgb_tensor(rgb))
        height, width = image.shape[:2]
        photo_ax = axes[1]
        photo_ax.imshow(image)
        for (name, rows), colour in zip(fields.items(), colours * len(fields)):
            side = rows[-1].size
            photo_ax.add_patch(Rectangle((width / 2 - side / 2, height / 2 - side / 2), side, side, fill=False,
                                         edgecolor=colour, lw=2.5, label=f"{name}: {side:g}²"))
        photo_ax.plot([width / 2], [height / 2], "+", color="white", ms=12, mew=2)
        photo_ax.set_xlim(-0.5, width - 0.5)
        photo_ax.set_ylim(height - 0.5, -0.5)
        photo_ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8)  # under the photo
        photo_ax.set_title(f"what the centre output cell sees ({width}×{height} photo)")
        photo_ax.axis("off")
    return fig


def _centred_square_share(gradient: np.ndarray, centre: tuple[float, float], share: float) -> int:
    """Side of the smallest square around ``centre`` that holds ``share`` of the gradient's total."""
    rows, cols = np.indices(gradient.shape)
    reach = np.maximum(np.abs(rows - centre[0]), np.abs(cols - centre[1]))  # L∞ distance
    order = np.argsort(reach, axis=None)
    mass = np.cumsum(gradient.ravel()[order])
    needed = order[np.searchsorted(mass, share * mass[-1])]
    return int(2 * reach.ravel()[needed] + 1)


def receptive_field_map(rgb, fields: Mapping[str, Sequence], gradient, share: float = 0.9) -> Figure:
    """The receptive field of the centre output cell on a photo: in theory, and in effect.

    Args:
        rgb: the photo the network saw (uint8 (H, W, 3) or float tensor).
        fields: name → the rows of :func:`colorlab.models.receptive_fields` (the first is the network the
            gradient belongs to).
        gradient: (H, W) :func:`colorlab.models.color_gradient` of the centre output cell, for this photo.
        share: the square drawn on the right holds this share of the gradient's total.

    Returns:
        A figure with two axes. Left, the photo on a grey canvas large enough for the theoretical receptive
        fields: one square per network, centred on the centre cell, drawn in full even where it runs past the
        photo. Right, the gradient on a logarithmic colour scale (4 decades), with the smallest centred square
        that holds ``share`` of it.
    """
    if not fields:
        raise ValueError("fields must name at least one network")
    image = _image(_rgb_tensor(rgb))
    height, width = image.shape[:2]
    gradient = np.asarray(gradient, dtype=np.float64)
    if gradient.shape != (height, width):
        raise ValueError(f"gradient must have the photo's shape {(height, width)}; got {gradient.shape}")
    if not np.isfinite(gradient).all() or gradient.min() < 0 or gradient.sum() <= 0:
        raise ValueError("gradient must be finite, non-negative and not all zero")
    centre = ((height - 1) / 2, (width - 1) / 2)
    fig = _figure(2, panel=4.6)
    field_ax, grad_ax = fig.subplots(1, 2)
    reach = max(max(rows[-1].size for rows in fields.values()), height, width) / 2 + 8
    field_ax.set_facecolor("0.85")
    field_ax.imshow(image, extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    colours = ["tab:purple", "tab:blue", "tab:green", "tab:orange"]
    for (name, rows), colour in zip(fields.items(), colours * len(fields)):
        side = rows[-1].size
        field_ax.add_patch(Rectangle((centre[1] - side / 2, centre[0] - side / 2), side, side, fill=False,
                                     edgecolor=colour, lw=2.5, label=f"{name}: {side:g} px"))
    field_ax.plot([centre[1]], [centre[0]], "+", color="white", ms=12, mew=2)
    field_ax.set_xlim(centre[1] - reach, centre[1] + reach)
    field_ax.set_ylim(centre[0] + reach, centre[0] - reach)
    field_ax.legend(loc="lower right", fontsize=8)
    field_ax.set_title(f"theoretical receptive field ({width}×{height} photo)", fontsize=10)
    field_ax.set_xticks([])
    field_ax.set_yticks([])
    peak = gradient.max()
    shown = grad_ax.imshow(np.maximum(gradient, peak * 1e-4), norm=LogNorm(peak * 1e-4, peak), cmap="magma")
    fig.colorbar(shown, ax=grad_ax, shrink=0.8, label="|∂a/∂L| + |∂b/∂L| (log scale)")
    side = _centred_square_share(gradient, centre, share)
    grad_ax.add_patch(Rectangle((centre[1] - side / 2, centre[0] - side / 2), side, side, fill=False,
                                edgecolor="cyan", lw=2, label=f"{100 * share:.0f}% of the gradient: {side} px"))
    grad_ax.legend(loc="lower right", fontsize=8)
    grad_ax.set_title("effective: how much each pixel moves the colour", fontsize=10)
    grad_ax.axis("off")
    return fig


def bin_distribution(rgb, logits, cell: tuple[int, int], T: float | None = None) -> Figure:
    """The distribution a network predicts at one output cell, over the bins (paper §2.1 and Figure 3).

    Args:
        rgb: the photo the network saw (uint8 (H, W, 3) or float tensor); its height and width are
            ``OUTPUT_STRIDE`` times those of the logits.
        logits: (1, NUM_BINS, h, w) the network's output for the photo.
        cell: (row, column) of the output cell to show.
        T: annealed-mean temperature (default :data:`colorlab.decode.T_ANNEALED`).

    Returns:
        A figure with two axes: left, the photo with the cell's location marked; right, the softmax
        probability of every bin drawn on the ab grid (colour scale from 0 to at least 5 / NUM_BINS), with the photo's true ab at that location (star), the
        annealed mean (circle) and the mode (square) marked.
    """
    from . import decode as _decode
    from .models import OUTPUT_STRIDE

    T = _decode.T_ANNEALED if T is None else T
    photo = _rgb_tensor(rgb)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 4 or logits.shape[:2] != (1, _bins.NUM_BINS):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must have shape (1, {_bins.NUM_BINS}, h, w); got {shape}")
    logits = logits.detach().double().cpu()
    row, col = cell
    if not (0 <= row < logits.shape[2] and 0 <= col < logits.shape[3]):
        raise ValueError(f"cell must lie inside the {logits.shape[2]} × {logits.shape[3]} output; got {cell}")
    probs = torch.softmax(logits[0, :, row, col], dim=0).numpy()
    y, x = row * OUTPUT_STRIDE, col * OUTPUT_STRIDE
    y_in, x_in = min(y, photo.shape[2] - 1), min(x, photo.shape[3] - 1)
    true_ab = _lab(photo[:, :, y_in:y_in + 1, x_in:x_in + 1])[0, 1:, 0, 0].numpy()  # Lab of that pixel only
    cell_logits = logits[:, :, row:row + 1, col:col + 1]
    mean_ab = _decode.annealed_mean_from_logits(cell_logits, T).flatten().numpy()
    mode_ab = _decode.decode_mode(cell_logits).flatten().double().numpy()
    fig = _figure(2, panel=4.6)
    photo_ax, ax = fig.subplots(1, 2)
    photo_ax.imshow(_image(photo))
    photo_ax.add_patch(Rectangle((x - 0.5, y - 0.5), OUTPUT_STRIDE, OUTPUT_STRIDE, fill=False, edgecolor="white",
                                 lw=1.5))
    photo_ax.plot([x], [y], "o", ms=14, mfc="none", mec="white", mew=2)
    photo_ax.plot([x], [y], "o", ms=17, mfc="none", mec="black", mew=1)
    photo_ax.set_title(f"output cell ({row}, {col}) → pixel ({y}, {x})")
    photo_ax.axis("off")
    from matplotlib.colors import Normalize

    # The scale reaches at least 5× the uniform probability, so a flat (untrained) distribution looks pale.
    norm = Normalize(0, max(probs.max(), 5 / _bins.NUM_BINS))
    image = _bin_map(ax, probs, norm, cmap="magma_r",
                     title=f"p over the bins (max {probs.max():.3f}; uniform {1 / _bins.NUM_BINS:.4f})")
    fig.colorbar(image, ax=ax, shrink=0.8, label="probability")
    ax.plot(*true_ab, "*", ms=15, color="cyan", mec="black", label=f"true ab ({true_ab[0]:.0f}, {true_ab[1]:.0f})")
    ax.plot(*mean_ab, "o", ms=10, color="white", mec="black",
            label=f"annealed mean T={T:.2f} ({mean_ab[0]:.0f}, {mean_ab[1]:.0f})")
    ax.plot(*mode_ab, "s", ms=9, mfc="none", mec="tab:green", mew=2,
            label=f"mode ({mode_ab[0]:.0f}, {mode_ab[1]:.0f})")
    _legend_below(ax)
    return fig


def _decode_onto(l: torch.Tensor, logits, T: float) -> torch.Tensor:
    """float32 Lab (1, 3, H, W): L (1, 1, H, W) in [0, 100] with the ab decoded from ``logits``
    (1, NUM_BINS, h, w) at ``T`` (mode for T = 0), upsampled bilinearly onto H × W."""
    from torch.nn.functional import interpolate

    from . import decode as _decode

    if not isinstance(logits, torch.Tensor) or logits.dim() != 4 or logits.shape[:2] != (1, _bins.NUM_BINS):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must have shape (1, {_bins.NUM_BINS}, h, w); got {shape}")
    logits = logits.detach().float().cpu()
    ab = _decode.annealed_mean_from_logits(logits, T)  # T = 0 is the mode
    ab = interpolate(ab, size=l.shape[-2:], mode="bilinear", align_corners=False)
    return torch.cat([l, ab], dim=1)


def _uint8(lab: torch.Tensor) -> np.ndarray:
    """Lab (1, 3, H, W) → uint8 (H, W, 3) sRGB, out-of-gamut colours clipped."""
    return (lab_to_rgb(lab)[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def photo_lab(rgb) -> torch.Tensor:
    """float64 Lab (1, 3, H, W) of a photo as :func:`temperature_strip` shows it (rounded to uint8 first), for
    :func:`temperature_panel`. rgb: uint8 (H, W, 3) or a float tensor in [0, 1]."""
    return _lab(_rgb_tensor((_image(_rgb_tensor(rgb)) * 255).round().astype(np.uint8)))


def temperature_panel(lab: torch.Tensor, logits, T: float) -> tuple[str, np.ndarray]:
    """One panel of :func:`temperature_strip`: the photo decoded at one temperature, and its title.

    Args:
        lab: float64 (1, 3, H, W) Lab of the photo (:func:`photo_lab`), computed once for all temperatures.
        logits: (1, NUM_BINS, h, w) the network's output for the photo.
        T: temperature of the annealed mean, ≥ 0 (0 means the mode).

    Returns:
        (title, uint8 (H, W, 3) sRGB): the title gives the AuC of the decoded ab against the photo's in percent
        and the colourfulness of the decoded image.
    """
    from .metrics import auc, colorfulness

    decoded_lab = _decode_onto(lab[:, :1].float(), logits, T)
    decoded = _uint8(decoded_lab)
    score = 100 * auc(decoded_lab[0, 1:].double().numpy(), lab[0, 1:].numpy())
    name = "mode" if T == 0 else f"T = {T:g}"
    return f"{name}: AuC {score:.1f}%, colourf. {colorfulness(decoded):.0f}", decoded


def temperature_strip(rgb, logits, temperatures: Sequence[float] = (1.0, T_ANNEALED, 0.1, 0.01),
                      panel: float = 2.6) -> Figure:
    """One photo decoded at several temperatures of the annealed mean (paper §2.3, Eq. 5), between its
    lightness (what the network saw) and the original.

    Args:
        rgb: uint8 (H, W, 3) photo whose L the network saw (or a float tensor).
        logits: (1, NUM_BINS, h, w) the network's output for it.
        temperatures: the temperatures shown, in order; 0 means the mode.

    Returns:
        A figure of titled images, three per row: input L, the photo decoded at each temperature (titled with
        the AuC of its predicted ab and its colourfulness, :mod:`colorlab.metrics`), the original.
    """
    from .colorize import gray_rgb
    from .decode import check_temperature
    from .metrics import colorfulness

    temperatures = [check_temperature(t, "temperatures") for t in temperatures]
    if not temperatures:
        raise ValueError("temperatures must hold at least one temperature; got none")
    original = (_image(_rgb_tensor(rgb)) * 255).round().astype(np.uint8)
    images = [("input L", gray_rgb(original))]
    lab = photo_lab(original)
    images += [temperature_panel(lab, logits, t) for t in temperatures]
    images.append((f"original: colourf. {colorfulness(original):.0f}", original))
    columns = min(3, len(images))
    rows = [images[i:i + columns] for i in range(0, len(images), columns)]
    rows[-1] += [("", original)] * (columns - len(rows[-1]))
    aspect = original.shape[0] / original.shape[1]
    fig = _image_grid(rows, panel=panel, height=panel * aspect + 0.35, fontsize=8)
    for ax in fig.axes[len(images):]:  # the unused places of the last row
        fig.delaxes(ax)
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Chapter 6: training
# ---------------------------------------------------------------------------------------------------------------


def _log_records(log) -> list[dict]:
    """Records of a training log from a run folder, a ``log.jsonl`` path, or the records themselves."""
    import os

    if isinstance(log, (str, os.PathLike)):
        from .train import read_log

        return read_log(log)
    return list(log)


def training_curves(log, smooth: int = 10) -> Figure:
    """The loss, learning rate and throughput of a training run, from its ``log.jsonl``.

    Args:
        log: a run folder, the path of its ``log.jsonl``, or the records of :func:`colorlab.train.read_log`
            (dicts with ``step``, ``loss``, ``lr`` and ``images_per_s``).
        smooth: the running mean over the loss spans this many log records.

    Left: the loss of each log record (the mean over the steps since the previous record), its running mean, and
    the learning rate on a logarithmic second axis. Right: training images per second (over all processes), the
    run's median dashed; the first record includes the start-up of the run.
    """
    records = _log_records(log)
    if not records:
        raise ValueError("log: the training log has no records yet")
    step = np.array([r["step"] for r in records], dtype=np.int64)
    loss = np.array([r["loss"] for r in records], dtype=np.float64)
    lr = np.array([r["lr"] for r in records], dtype=np.float64)
    speed = np.array([np.nan if r.get("images_per_s") is None else r["images_per_s"] for r in records])
    fig = _figure(2, panel=4.6, height=3.3)
    ax_loss, ax_speed = fig.subplots(1, 2)
    ax_loss.plot(step, loss, lw=0.8, alpha=0.45, color="tab:blue", label="loss")
    window = min(max(int(smooth), 1), len(loss))
    if window > 1:
        running = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(step[window - 1:], running, lw=2, color="tab:blue", label=f"running mean of {window}")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    ax_lr = ax_loss.twinx()
    ax_lr.step(step, lr, where="post", color="tab:orange", lw=1.2, label="learning rate")
    ax_lr.set_yscale("log")
    ax_lr.set_ylabel("learning rate", color="tab:orange")
    ax_lr.tick_params(axis="y", colors="tab:orange")
    handles = ax_loss.get_legend_handles_labels()[0] + ax_lr.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    ax_loss.set_title(f"{int(step[-1])} steps, last loss {loss[-1]:.3f}")
    ax_speed.plot(step, speed, ".-", color="tab:green", lw=0.8)
    if np.isfinite(speed).any():
        median = float(np.nanmedian(speed))
        ax_speed.axhline(median, ls="--", color="grey", lw=1)
        ax_speed.set_title(f"throughput: median {median:.1f} images/s")
    ax_speed.set_xlabel("step")
    ax_speed.set_ylabel("images per second")
    ax_speed.set_ylim(bottom=0)
    return fig


def colorized_title(T: float) -> str:
    """Title of a colorization in :func:`colorization_grid`, decoded at temperature ``T``."""
    return f"colorized (T = {T:.2f})"


def colorization_grid(model, photos: Mapping[str, np.ndarray], T: float | None = None, size: int | None = 256,
                      panel: float = 2.6) -> Figure:
    """One row per photo: what the network sees (its lightness), the network's colorization, the original.

    Args:
        model: a colorlab model (e.g. from :func:`colorlab.train.load_checkpoint`), on any device.
        photos: ``{name: uint8 (H, W, 3)}``, e.g. :func:`colorlab.train.holdout_photos`.
        T: annealed-mean temperature (default :data:`colorlab.decode.T_ANNEALED`, 0.38).
        size: shorter side the network predicts at (None: each photo's own size); ab is upsampled onto the
            full-resolution L (:func:`colorlab.colorize.colorize_rgb`).
    """
    from .colorize import colorize_rgb, gray_rgb
    from .decode import T_ANNEALED

    if not photos:
        raise ValueError("photos: no photo to show")
    T = T_ANNEALED if T is None else T
    aspect = max(np.asarray(rgb).shape[0] / np.asarray(rgb).shape[1] for rgb in photos.values())
    rows = [[(f"{name}: input L", gray_rgb(rgb)),
             (colorized_title(T), colorize_rgb(model, rgb, T=T, size=size)),
             ("original", np.asarray(rgb))] for name, rgb in photos.items()]
    return _image_grid(rows, panel=panel, height=panel * aspect + 0.3)


# ---------------------------------------------------------------------------------------------------------------
# Chapter 7: evaluation
# ---------------------------------------------------------------------------------------------------------------

#: Display names of the evaluation's methods and metrics (colorlab.evaluate), in table order.
_METHOD_LABELS = {"gray": "gray (ab = 0)", "regression": "regression (L2)", "class_mode": "class: mode",
                  "class_mean": "class: mean (T = 1)", "class_annealed": "class: annealed mean"}
_METRIC_LABELS = {"auc": "AuC (%)", "auc_rebal": "rebalanced AuC (%)", "psnr": "PSNR (dB)", "ssim": "SSIM",
                  "colorfulness": "colourfulness"}
_METHOD_COLOURS = {"gray": "0.55", "regression": "tab:orange", "class_mode": "tab:purple",
                   "class_mean": "tab:cyan", "class_annealed": "tab:blue"}


def method_comparison(result: Mapping, metrics: Sequence[str] = ("auc", "auc_rebal", "psnr", "colorfulness")) -> Figure:
    """One panel per metric: every method's mean with its 95% bootstrap interval, from an evaluation result.

    Args:
        result: the dict of :func:`colorlab.evaluate.evaluate_images` (``methods`` → method → metric →
            ``{"mean", "ci95"}``; the ground truth's colourfulness, when present, is drawn as a dashed line).
        metrics: which metrics, in panel order.
    """
    methods = list(result["methods"])
    if not methods:
        raise ValueError("result: no method to show")
    fig = _figure(len(metrics), panel=3.1, height=3.6)
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    y = np.arange(len(methods))[::-1]
    for ax, metric in zip(axes, metrics):
        scale = 100.0 if metric in ("auc", "auc_rebal") else 1.0
        means = np.array([result["methods"][m][metric]["mean"] for m in methods]) * scale
        intervals = [result["methods"][m][metric]["ci95"] for m in methods]  # None: one photo, no interval
        ax.barh(y, means, color=[_METHOD_COLOURS.get(m, "tab:grey") for m in methods], alpha=0.85)
        if all(interval is not None for interval in intervals):
            ci = np.array(intervals) * scale
            ax.errorbar(means, y, xerr=np.abs(ci.T - means), fmt="none", ecolor="black", capsize=3, lw=1)
        if metric == "colorfulness" and "ground_truth" in result:
            truth = ax.axvline(result["ground_truth"]["colorfulness"]["mean"], color="black", ls="--", lw=1,
                               label="ground truth")
            fig.legend(handles=[truth], loc="outside lower right", fontsize=7, frameon=False)
        ax.set_xlim(left=0)  # a bar's length is its value
        ax.set_yticks(y, [_METHOD_LABELS.get(m, m) for m in methods] if ax is axes[0] else [""] * len(methods))
        ax.set_xlabel(_METRIC_LABELS.get(metric, metric))
        ax.grid(axis="x", alpha=0.3)
    n = result["n_images"]
    fig.suptitle(f"one held-out photo at {result['size']}² (one photo gives no interval)" if n == 1 else
                 f"{n} held-out photos at {result['size']}²: mean and 95% bootstrap interval", fontsize=10)
    return fig


def accuracy_curves(curves: Mapping[str, np.ndarray], thresholds=None) -> Figure:
    """The raw-accuracy curves behind AuC: share of pixels within distance t of the true ab, per method.

    Args:
        curves: ``{method: (len(thresholds),) accuracies in [0, 1]}``, e.g. the mean over photos of
            :func:`colorlab.metrics.accuracy_curve`.
        thresholds: the distances (default :data:`colorlab.metrics.AUC_THRESHOLDS`, 0 to 150).
    """
    from .metrics import AUC_THRESHOLDS

    t = AUC_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    fig = _figure(1, panel=4.6, height=3.4)
    ax = fig.subplots()
    for method, curve in curves.items():
        curve = np.asarray(curve, dtype=np.float64)
        if curve.shape != t.shape:
            raise ValueError(f"curves[{method!r}] must have shape {t.shape}; got {curve.shape}")
        area = np.trapezoid(curve, t) / (t[-1] - t[0])
        ax.plot(t, curve, color=_METHOD_COLOURS.get(method), lw=1.8,
                label=f"{_METHOD_LABELS.get(method, method)}: AuC {100 * area:.1f}%")
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("threshold t on the ab distance (CIELAB units)")
    ax.set_ylabel("share of pixels within t")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def temperature_curves(sweep: Mapping) -> Figure:
    """AuC, rebalanced AuC and colourfulness against the annealed-mean temperature (paper section 2.3).

    Args:
        sweep: the dict of :func:`colorlab.evaluate.temperature_sweep` (means with 95% bootstrap bands; the
            ground truth's colourfulness is drawn as a dashed line and a grey band).
    """
    from .decode import T_ANNEALED

    t = np.asarray(sweep["temperature"], dtype=np.float64)
    fig = _figure(2, panel=4.2, height=3.2)
    ax_auc, ax_col = fig.subplots(1, 2)
    for key, colour in (("auc", "tab:blue"), ("auc_rebal", "tab:red")):
        mean = 100 * np.asarray(sweep[key]["mean"])
        ax_auc.plot(t, mean, "o-", ms=3, color=colour, label=_METRIC_LABELS[key])
        ax_auc.fill_between(t, 100 * np.asarray(sweep[key]["lo"]), 100 * np.asarray(sweep[key]["hi"]), color=colour,
                            alpha=0.15, lw=0)
    mean = np.asarray(sweep["colorfulness"]["mean"])
    ax_col.plot(t, mean, "o-", ms=3, color="tab:green", label="colorized")
    ax_col.fill_between(t, sweep["colorfulness"]["lo"], sweep["colorfulness"]["hi"], color="tab:green", alpha=0.15,
                        lw=0)
    truth = sweep.get("ground_truth_colorfulness")
    if truth is not None:
        ax_col.axhline(truth["mean"], color="black", ls="--", lw=1, label="ground truth")
        ax_col.axhspan(*truth["ci95"], color="grey", alpha=0.12, lw=0)
    for ax, label in ((ax_auc, "AuC (%)"), (ax_col, "colourfulness (Hasler & Süsstrunk)")):
        ax.set_xscale("log")
        ax.axvline(T_ANNEALED, color="grey", ls=":", lw=1)
        ax.set_xlabel("temperature T (log scale; dotted: T = 0.38)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    if sweep["n_images"] == 1:
        fig.suptitle("Annealed mean on one photo", fontsize=10)
    else:
        fig.suptitle(f"Annealed mean on {sweep['n_images']} held-out photos: mean and 95% bootstrap band",
                     fontsize=10)
    return fig


def ranked_colorizations(photos: Mapping[str, np.ndarray], colorized: Mapping[str, np.ndarray],
                         scores: Mapping[str, float], n: int = 2, label: str = "score",
                         higher_is_better: bool = True, panel: float = 2.4) -> Figure:
    """The best and the worst colorizations by a metric: each row shows input L, colorization and original.

    Args:
        photos: ``{name: uint8 (H, W, 3)}`` originals.
        colorized: ``{name: uint8 (H, W, 3)}`` colorizations of the same photos (same sizes).
        scores: ``{name: value}`` of the metric that ranks them (e.g. per-image rows of the evaluation).
        n: how many best and how many worst rows (fewer when there are not 2n photos).
        label: the metric's name in the titles.
        higher_is_better: the ranking's direction.
    """
    from .colorize import gray_rgb

    names = sorted(scores, key=lambda k: scores[k], reverse=higher_is_better)
    if not names:
        raise ValueError("scores: no photo to rank")
    n = max(1, min(int(n), len(names) // 2 or 1))
    chosen = [("best", name) for name in names[:n]] + [("worst", name) for name in names[::-1][:n][::-1]
                                                        if name not in names[:n]]
    rows = [[(f"{rank}: {name}", gray_rgb(photos[name])),
             (f"colorized, {label} {scores[name]:.3g}", colorized[name]),
             ("original", np.asarray(photos[name]))] for rank, name in chosen]
    return _image_grid(rows, panel=panel, fontsize=8)


def _comparison_row(name: str, rgb: np.ndarray, models: Mapping[str, object], T: float, size: int | None):
    from .colorize import colorize_rgb, gray_rgb

    images = [(f"{name}input L", gray_rgb(rgb))]
    for label, model in models.items():
        decoded = f", T = {T:g}" if getattr(model, "output_kind", None) == "logits" else ""
        images.append((f"{label}{decoded}", colorize_rgb(model, rgb, T=T, size=size)))
    return images + [("original", np.asarray(rgb))]


def model_gallery(photos: Mapping[str, np.ndarray], models: Mapping[str, object], T: float | None = None,
                  size: int | None = 256, panel: float = 2.4) -> Figure:
    """Several photos colorized by several models: one row per photo with its lightness, each model's result and
    the original (the layout of the paper's Figures 1 and 3).

    Args:
        photos: ``{name: uint8 (H, W, 3)}``, all of the same shape (e.g. :func:`colorlab.evaluate.ground_truth`
            crops).
        models: ``{label: colorlab model}``; classification models are decoded with the annealed mean at ``T``
            (default 0.38), regression models ignore T.
        size: shorter side the networks predict at (:func:`colorlab.colorize.colorize_rgb`).
    """
    from .decode import T_ANNEALED

    if not models:
        raise ValueError("models: give at least one model")
    if not photos:
        raise ValueError("photos: give at least one photo")
    T = T_ANNEALED if T is None else T
    rows = [_comparison_row(f"{name}: " if len(photos) > 1 else "", np.asarray(rgb), models, T, size)
            for name, rgb in photos.items()]
    aspect = max(np.asarray(rgb).shape[0] / np.asarray(rgb).shape[1] for rgb in photos.values())
    return _image_grid(rows, panel=panel, height=panel * aspect + 0.4)


def model_comparison(rgb: np.ndarray, models: Mapping[str, object], T: float | None = None, size: int | None = 256,
                     panel: float = 3.0) -> Figure:
    """One photo colorized by several models side by side: its lightness, each model's result, the original
    (:func:`model_gallery` with one photo)."""
    return model_gallery({"photo": rgb}, models, T=T, size=size, panel=panel)
