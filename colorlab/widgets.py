"""Interactive versions of the book's figures, for JupyterLab and for the HTML book.

Each function returns an ipywidgets container: the controls in a row above an ``Output`` that shows the
figure of :mod:`colorlab.plot` for the current values. The figure is drawn once when the widget is built, so
the executed notebook stores a real figure in the widget's state and the HTML book shows it without a kernel.
ipywidgets is imported inside the functions: ``import colorlab`` never needs it.

Callbacks redraw one small figure (well under a second on a laptop CPU); the heavy inputs (a prior, for
example) are passed in once and never recomputed.
"""

from __future__ import annotations

import numpy as np

from . import plot
from .bins import AB_LIMIT
from .encode import SIGMA, SOFT_K
from .prior import LAMBDA, rebalance_weights


def _show(fig) -> None:
    """Display a figure in the current output area and release it."""
    from IPython.display import display

    display(fig)
    fig.clear()


def _assemble(draw, controls: dict, title: str):
    """Controls in a row, the drawing below them, the first drawing made now."""
    import ipywidgets as widgets

    output = widgets.interactive_output(draw, controls)
    box = widgets.VBox([widgets.HTML(f"<b>{title}</b>"), widgets.HBox(list(controls.values())), output])
    box.controls = controls
    box.output = output
    return box


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

    def draw(l):
        _show(plot.ab_gamut_planes((l,), resolution=resolution))

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

    def draw(a, b, k, sigma):
        _show(plot.soft_encoding_pixel(a, b, k=k, sigma=sigma))

    return _assemble(draw, controls, "Move the point: how its weight spreads over the nearest bins")


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

    def draw(lam):
        w = rebalance_weights(prior, lam=lam).numpy()
        seen = prior > 0
        print(f"λ = {lam:.2f}: weights from {w[seen].min():.3f} to {w[seen].max():.3f}, "
              f"Σ p·w = {float((prior * w).sum()):.4f}")
        _show(plot.loss_share(prior, lam=lam))

    return _assemble(draw, {"lam": slider}, "Move λ: from weighting by 1/p (λ = 0) to no rebalancing (λ = 1)")


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

    def draw(row, col, T):
        _show(plot.bin_distribution(rgb, logits, (row, col), T=T))

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

    def draw(T):
        _show(plot.temperature_strip(rgb, logits, (T,)))

    return _assemble(draw, {"T": slider}, "Move T: from the mode (0.01) to the mean (1)")


# ---------------------------------------------------------------------------------------------------------------
# Chapter 7: colorize your own photo
# ---------------------------------------------------------------------------------------------------------------


def _decode_upload(content: bytes, name: str) -> np.ndarray:
    """Bytes of an uploaded file → uint8 (H, W, 3), with colorlab's robust decoder (it needs a file on disk)."""
    import os
    import tempfile

    from .data import load_rgb

    suffix = os.path.splitext(name)[1] or ".img"
    fd, tmp = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        return load_rgb(tmp)
    finally:
        os.unlink(tmp)


def _uploaded(value) -> tuple[str, bytes] | None:
    """(name, content) of the latest file of a FileUpload's value (ipywidgets 8: a tuple of dicts)."""
    if not value:
        return None
    item = value[-1] if isinstance(value, (tuple, list)) else list(value.values())[-1]
    return item["name"], bytes(item["content"])


def colorize_upload_widget(model, example: np.ndarray, T: float | None = None, size: int = 256,
                           max_side: int = 2048):
    """Upload a photo and a temperature slider: the photo's L, its colorization, and the original.

    Args:
        model: a classification model (e.g. ``colorlab.load_pretrained("classification")``).
        example: uint8 (H, W, 3) shown before anything is uploaded (and in the saved widget state of the HTML).
        T: initial annealed-mean temperature (default :data:`colorlab.decode.T_ANNEALED`).
        size: shorter side the network predicts at; ab is upsampled onto the full-resolution L.
        max_side: uploads larger than this on their longer side are shrunk first, to keep the widget responsive.

    Returns:
        An ipywidgets ``VBox`` with ``controls`` ``{"T"}``, ``upload`` (a ``FileUpload`` for one image file),
        ``output`` showing :func:`colorlab.plot.colorization_grid` for the current photo, and ``status`` (an
        ``HTML`` line that reports a file it could not read instead of raising).
    """
    import ipywidgets as widgets
    from PIL import Image

    from .decode import T_ANNEALED

    current = {"name": "example", "rgb": np.asarray(example)}
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="photo")
    status = widgets.HTML("")
    slider = widgets.FloatSlider(value=T_ANNEALED if T is None else T, min=0.05, max=1.0, step=0.01,
                                 description="T", continuous_update=False)
    output = widgets.Output()

    def draw(*_):
        output.clear_output(wait=True)
        with output:
            _show(plot.colorization_grid(model, {current["name"]: current["rgb"]}, T=slider.value, size=size,
                                         panel=3.2))

    def on_upload(change):
        item = _uploaded(change["new"])
        if item is None:
            return
        name, content = item
        try:
            rgb = _decode_upload(content, name)
        except Exception as error:  # a bad upload is reported in the widget, never raised into the notebook
            status.value = f"<span style='color:#b00'>could not read {name}: {error}</span>"
            return
        if max(rgb.shape[:2]) > max_side:
            scale = max_side / max(rgb.shape[:2])
            rgb = np.asarray(Image.fromarray(rgb).resize((round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                                                         Image.Resampling.LANCZOS))
        current.update(name=name, rgb=rgb)
        status.value = f"{name}: {rgb.shape[1]} × {rgb.shape[0]} pixels"
        draw()

    upload.observe(on_upload, names="value")
    slider.observe(draw, names="value")
    draw()
    box = widgets.VBox([widgets.HTML("<b>Colorize your own photo</b> (it never leaves this kernel)"),
                        widgets.HBox([upload, slider]), status, output])
    box.controls = {"T": slider}
    box.upload = upload
    box.output = output
    box.status = status
    box.on_upload = on_upload
    return box
