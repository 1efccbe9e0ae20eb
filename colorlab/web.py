"""Colorizing in a web browser: the whole colorization as one ONNX graph, and the page panel that runs it.

:class:`BrowserColorizer` wraps a classification model into the pipeline of :func:`colorlab.colorize_rgb`
(paper §2.3 and the authors' demo), from 8-bit pixels to 8-bit pixels: sRGB → CIELAB, L resized so that its
shorter side is ``size`` pixels, or its longer side ``MAX_ASPECT · size`` for a strip
(:func:`colorlab.models.prediction_shape`, antialiased bilinear), the network, the annealed mean at temperature T
(computed in log space as :mod:`colorlab.decode` does, for every T from 0 to inf), ab upsampled bilinearly onto
the full-resolution L, and back to sRGB.
:func:`export_onnx` writes it as one ONNX graph with a dynamic height and width, so a browser running
onnxruntime-web only moves pixels in and out. The graph::

    inputs   rgb          uint8   (1, 3, H, W)   sRGB, channels first
             temperature  float32 ()             T of the annealed mean, 0 (the mode) to inf; NaN or < 0 is 0
    outputs  colorized    uint8   (1, 3, H, W)   the input's L with the predicted ab
             gray         uint8   (1, 3, H, W)   the input's L alone (ab = 0): what the network sees

The convolution kernels can be stored as float32, float16 (the precision of the committed models, so nothing
is lost) or int8 with one scale per output channel; the graph computes in float32 either way.
:func:`panel_html` is the chapter-7 panel; its JavaScript lives in ``book/_assets/colorize-panel.js``.
"""

from __future__ import annotations

import base64
import copy
import io
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .color import lab_to_rgb, rgb_to_lab
from .colorize import _rgb_uint8
from .data import MAX_PIXELS  # the panel refuses photos with more pixels, as colorlab colorize does
from .decode import T_ANNEALED, _annealed
from .models import PREDICT_SIZE, ColorizationNet, check_predict_size, normalize_l, prediction_shape

__all__ = [
    "MAX_MODEL_BYTES",
    "PRECISIONS",
    "AUTO_PRECISIONS",
    "T_MIN",
    "MAX_PIXELS",
    "PARITY_MEAN",
    "PARITY_MAX",
    "BrowserColorizer",
    "export_onnx",
    "choose_precision",
    "colorize_onnx",
    "panel_html",
    "parity",
]

#: The largest model file the book ships (bytes).
MAX_MODEL_BYTES = 10_000_000
#: How the convolution kernels can be stored, most exact first.
PRECISIONS = ("fp32", "fp16", "int8")
#: ``precision="auto"`` takes the first of these whose file fits: float16 first, because the committed models
#: store their weights in float16 (:func:`colorlab.save_pretrained`), so it loses nothing; int8 for models too
#: large for float16, at a cost in accuracy that ``benchmarks/web_precision.py`` measures.
AUTO_PRECISIONS = ("fp16", "int8")
#: The lowest temperature on the panel's slider (the graph itself takes any T ≥ 0: T = 0 is the mode).
T_MIN = 0.01
#: The ONNX opset of the graph (antialiased Resize needs 18 or later).
OPSET = 20
#: How closely the graph must agree with ``colorlab colorize``, in 8-bit levels per channel: the mean absolute
#: difference over a photo, and the largest difference at any pixel.
PARITY_MEAN = 1.0
PARITY_MAX = 8


class BrowserColorizer(nn.Module):
    """The full-resolution colorization of :func:`colorlab.colorize_rgb` as one module, uint8 in, uint8 out.

    forward(rgb, temperature): rgb uint8 (1, 3, H, W) sRGB and a float32 scalar tensor T → ``(colorized,
    gray)``, both uint8 (1, 3, H, W). Every step is the package's own function (Lab conversion,
    :func:`colorlab.models.prediction_shape`, the network, the annealed mean of :mod:`colorlab.decode`), so
    the result matches ``colorize_rgb(model, rgb, T, size)`` up to float rounding, for every T from 0 to inf
    (a graph cannot refuse an input: a NaN or negative T is taken as 0). Puts ``model`` in eval mode.

    Raises:
        TypeError: ``model`` is not a classification model. TypeError, ValueError: ``size`` is not an integer
        of at least 8 (:func:`colorlab.models.check_predict_size`).
    """

    def __init__(self, model: ColorizationNet, size: int = PREDICT_SIZE):
        super().__init__()
        if not isinstance(model, ColorizationNet) or model.output_kind != "logits":
            raise TypeError(f"model must be a colorlab classification model; got {type(model).__name__}")
        self.model = model
        self.size = check_predict_size(size)
        self.eval()  # BatchNorm uses its running statistics

    def forward(self, rgb: torch.Tensor, temperature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        l = rgb_to_lab(rgb.float() / 255.0)[:, :1]
        height, width = l.shape[-2:]
        small = F.interpolate(l, size=prediction_shape(height, width, self.size), mode="bilinear",
                              align_corners=False, antialias=True)
        logits = self.model(normalize_l(small))
        ab = _annealed(logits, torch.where(temperature >= 0, temperature, 0.0))  # NaN >= 0 is false too
        ab = F.interpolate(ab, size=(height, width), mode="bilinear", align_corners=False)
        colorized = lab_to_rgb(torch.cat([l, ab], dim=1))
        gray = lab_to_rgb(torch.cat([l, torch.zeros_like(ab)], dim=1))
        return _to_uint8(colorized), _to_uint8(gray)


def _to_uint8(rgb: torch.Tensor) -> torch.Tensor:
    return (rgb * 255.0).round().to(torch.uint8)  # lab_to_rgb already clips to [0, 1]


def _fp16_kernel(name: str, w: np.ndarray):
    """``w`` stored as float16, and the Cast node that turns it back into the float32 tensor ``name``."""
    from onnx import TensorProto, helper, numpy_helper

    stored = numpy_helper.from_array(w.astype(np.float16), f"{name}.fp16")
    return [stored], helper.make_node("Cast", [stored.name], [name], to=TensorProto.FLOAT)


def _int8_kernel(name: str, w: np.ndarray, axis: int):
    """``w`` stored as int8 with one scale per index of ``axis`` (symmetric, max |w| ↦ 127), and the
    DequantizeLinear node that turns it back into the float32 tensor ``name``."""
    from onnx import helper, numpy_helper

    scale = np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis)) / 127
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)  # an all-zero channel stays zero
    shape = [-1 if i == axis else 1 for i in range(w.ndim)]
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    stored = [numpy_helper.from_array(q, f"{name}.int8"), numpy_helper.from_array(scale, f"{name}.scale"),
              numpy_helper.from_array(np.zeros_like(scale, np.int8), f"{name}.zero")]
    return stored, helper.make_node("DequantizeLinear", [t.name for t in stored], [name], axis=axis)


def _store_kernels(proto, precision: str):
    """Store the convolution kernels of an ONNX model (in place) as ``precision``; each is turned back into the
    float32 tensor of its old name by a node at the start of the graph. Returns ``proto``."""
    from onnx import numpy_helper

    if precision == "fp32":
        return proto
    # the output-channel axis: Conv kernels are (C_out, C_in, k, k), ConvTranspose ones (C_in, C_out, k, k)
    axes = {node.input[1]: int(node.op_type == "ConvTranspose") for node in proto.graph.node
            if node.op_type in ("Conv", "ConvTranspose")}
    initializers, decoders = [], []
    for init in proto.graph.initializer:
        if init.name not in axes:
            initializers.append(init)
            continue
        w = numpy_helper.to_array(init)
        if precision == "fp16":
            stored, node = _fp16_kernel(init.name, w)
        else:
            stored, node = _int8_kernel(init.name, w, axes[init.name])
        initializers += stored
        decoders.append(node)
    nodes = decoders + list(proto.graph.node)
    del proto.graph.initializer[:], proto.graph.node[:]
    proto.graph.initializer.extend(initializers)
    proto.graph.node.extend(nodes)
    return proto


def _trace(model: ColorizationNet, size: int):
    """The fp32 ONNX ModelProto of :class:`BrowserColorizer` with symbolic height and width."""
    import logging
    import warnings

    pipeline = BrowserColorizer(copy.deepcopy(model).cpu(), size)
    example = (torch.zeros(1, 3, 64, 96, dtype=torch.uint8), torch.tensor(T_ANNEALED))
    dims = {2: torch.export.Dim("height", min=2), 3: torch.export.Dim("width", min=2)}
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # e.g. "torchvision is not installed", irrelevant here
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", FutureWarning)  # deprecation notes from inside torch.export
            program = torch.onnx.export(
                pipeline, example, dynamo=True, dynamic_shapes=(dims, None), opset_version=OPSET,
                input_names=["rgb", "temperature"], output_names=["colorized", "gray"], verbose=False,
            )
    finally:
        quiet.setLevel(level)
    return program.model_proto


def choose_precision(sizes: dict[str, int], max_bytes: int = MAX_MODEL_BYTES) -> str:
    """The first of :data:`AUTO_PRECISIONS` whose file size in ``sizes`` (bytes per precision) is at most
    ``max_bytes``.

    >>> choose_precision({"fp16": 16_200_000, "int8": 8_200_000})
    'int8'
    """
    for precision in AUTO_PRECISIONS:
        if sizes[precision] <= max_bytes:
            return precision
    raise ValueError(f"the model does not fit in {max_bytes:,} bytes at any precision "
                     f"({', '.join(f'{p}: {sizes[p]:,}' for p in AUTO_PRECISIONS)}); export a smaller model")


def export_onnx(model: ColorizationNet, path: str | os.PathLike, precision: str = "auto",
                size: int = PREDICT_SIZE, max_bytes: int = MAX_MODEL_BYTES) -> tuple[Path, str]:
    """Write ``model`` wrapped in :class:`BrowserColorizer` as one ONNX file (opset :data:`OPSET`).

    Args:
        model: a classification model, e.g. ``colorlab.load_pretrained("classification")`` (a copy of it is
            exported, on the CPU).
        path: the ``.onnx`` file to write (atomically; its folder must exist and be writable).
        precision: how the convolution kernels are stored, one of :data:`PRECISIONS`, or ``"auto"``: the first
            of :data:`AUTO_PRECISIONS` whose file has at most ``max_bytes`` bytes.
        size: shorter side, in pixels, of the copy of L the network sees (as ``colorlab colorize --size``), an
            integer of at least 8 (:func:`colorlab.models.prediction_shape`).
        max_bytes: the size limit of ``"auto"``, a positive integer.

    Returns:
        ``(path, precision)``. Takes about 20 s of CPU time (``torch.export`` and the ONNX translation).

    Raises:
        TypeError: ``model`` is not a classification model. ValueError: unknown ``precision``, a ``size`` or
        ``max_bytes`` out of range, or ``"auto"`` and no precision fits. OSError: ``path`` is a folder, or its
        folder is missing or not writable. All of these are raised before the slow part.
    """
    import onnx

    from ._atomic import atomic_write, writable_file

    if precision != "auto" and precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto' or one of {', '.join(PRECISIONS)}; got {precision!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer number of bytes; got {max_bytes!r}")
    BrowserColorizer(model, size)  # checks the model and the size before the slow part
    path = writable_file(path, "path", "colorize.onnx")
    traced = _trace(model, size)
    candidates = AUTO_PRECISIONS if precision == "auto" else (precision,)
    files = {}
    for candidate in candidates:
        proto = onnx.ModelProto()
        proto.CopyFrom(traced)
        files[candidate] = _store_kernels(proto, candidate).SerializeToString()
    if precision == "auto":
        precision = choose_precision({p: len(data) for p, data in files.items()}, max_bytes)
    path = atomic_write(path, lambda f: f.write(files[precision]))
    return path, precision


def colorize_onnx(session, rgb: np.ndarray, T: float = T_ANNEALED) -> tuple[np.ndarray, np.ndarray]:
    """Run an exported graph with onnxruntime: uint8 (H, W, 3) or (H, W) → ``(colorized, gray)``, each uint8
    (H, W, 3).

    ``session`` is an ``onnxruntime.InferenceSession`` of a file written by :func:`export_onnx`, or the path of
    one (a session is then created on the CPU).
    """
    if isinstance(session, (str, os.PathLike)):
        import onnxruntime

        session = onnxruntime.InferenceSession(os.fspath(session), providers=["CPUExecutionProvider"])
    rgb = _rgb_uint8(rgb)
    feeds = {"rgb": np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]), "temperature": np.array(T, np.float32)}
    colorized, gray = session.run(["colorized", "gray"], feeds)
    return colorized[0].transpose(1, 2, 0), gray[0].transpose(1, 2, 0)


def _jpeg_data_url(rgb: np.ndarray, quality: int = 90) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def panel_html(samples=("astronaut", "chelsea", "china"), static: str = "../_static"):
    """The in-browser colorization panel of the HTML book, as an ``IPython.display.HTML`` object.

    The markup is a container for ``colorize-panel.js`` (from ``static``), which builds the controls: a file
    picker and drop zone, the embedded ``samples`` (:func:`colorlab.sample_photo` names) as buttons, a
    temperature slider, the gray input and the result side by side, a download link and the time taken. The
    script loads onnxruntime-web (``static/onnxruntime-web/``, vendored by ``tools/fetch_vendor.sh``) and the
    model ``static/colorize.onnx`` (written by ``colorlab export-onnx``) when the first photo is chosen.
    Outside the HTML book (in Jupyter) the script does not run and the container says so.
    """
    from html import escape

    from IPython.display import HTML

    from .samples import sample_photo

    images = "".join(
        f'<img class="colorize-panel-sample" src="{_jpeg_data_url(sample_photo(name))}" alt="{escape(name)}" '
        f'width="96">' for name in samples
    )
    attributes = {
        "model": f"{static}/colorize.onnx",
        "runtime": f"{static}/onnxruntime-web/ort.wasm.bundle.min.mjs",
        "temperature": T_ANNEALED,
        "t-min": T_MIN,
        "max-pixels": MAX_PIXELS,
    }
    data = " ".join(f'data-{key}="{escape(str(value))}"' for key, value in attributes.items())
    return HTML(
        f'<link rel="stylesheet" href="{static}/colorize-panel.css">'
        f'<div class="colorize-panel" {data}>'
        '<p class="colorize-panel-note">This panel runs in the HTML version of the book, where a script colorizes '
        "your photo in the browser. In Jupyter, use the widget above.</p>"
        f"{images}</div>"
        f'<script src="{static}/colorize-panel.js"></script>'
    )


def parity(result: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Compare two uint8 (H, W, 3) colorizations: per-channel mean and max absolute difference (8-bit levels),
    and whether they agree within :data:`PARITY_MEAN` and :data:`PARITY_MAX`."""
    if result.shape != reference.shape:
        raise ValueError(f"result and reference differ in shape: {result.shape} and {reference.shape}")
    diff = np.abs(result.astype(np.int16) - reference.astype(np.int16)).reshape(-1, 3)
    mean, largest = diff.mean(axis=0), diff.max(axis=0)
    return mean, largest, bool((mean <= PARITY_MEAN).all() and (largest <= PARITY_MAX).all())
