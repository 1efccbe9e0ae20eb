"""Colorizing whole photos at full resolution, and writing the results safely.

The pipeline of the paper's demo (Zhang, Isola & Efros 2016, section 2.3 and the authors' released code): take L
of the photo at its own resolution; predict ab from a copy of L resized so its shorter side is ``size`` pixels
(the scale the network saw in training, aspect ratio kept); upsample ab bilinearly to the full resolution; put it
back together with the original L and convert to sRGB. The fine detail of the output therefore comes entirely from
the input's L, and the network only has to get the colours, which vary slowly, right.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ._atomic import atomic_write, writable_folder
from .color import lab_to_rgb, rgb_to_lab
from .decode import T_ANNEALED
from .models import PREDICT_SIZE, ColorizationNet

#: JPEG quality of written images (Pillow's scale; its default is 75).
JPEG_QUALITY = 95

__all__ = [
    "colorize_rgb",
    "colorize_lab",
    "colorize_l",
    "lightness",
    "colorize_files",
    "expand_inputs",
    "output_paths",
    "gray_rgb",
    "side_by_side",
    "save_image_atomic",
]


def _rgb_uint8(rgb, name: str = "rgb") -> np.ndarray:
    """uint8 (H, W, 3), or a grayscale uint8 (H, W) repeated to 3 channels."""
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"{name} must be a numpy uint8 array of shape (H, W, 3) or (H, W); got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"{name} must be a numpy uint8 array of shape (H, W, 3) or (H, W); got dtype {rgb.dtype}")
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"{name} must have shape (H, W, 3) or (H, W); got {rgb.shape}")
    return rgb


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float in [0, 1] → uint8 (H, W, 3), rounded to nearest."""
    return (rgb[0].clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _lab_of(rgb: np.ndarray, device) -> torch.Tensor:
    x = torch.tensor(rgb, device=device).permute(2, 0, 1)[None].float() / 255.0  # a copy: rgb may be read-only
    return rgb_to_lab(x)


def colorize_lab(model: ColorizationNet, l: torch.Tensor, T: float = T_ANNEALED, size: int | None = PREDICT_SIZE,
                 *, mode: bool = False) -> torch.Tensor:
    """Full-resolution Lab from lightness: (B, 1, H, W) L in [0, 100] → (B, 3, H, W) Lab, L copied from ``l``.

    ab comes from ``model.colorize(l, T, size=size, mode=mode)`` (predict at ``size``, upsample to H × W). Runs on
    the model's device; returns a tensor there, in ``l``'s dtype.
    """
    device = next(model.parameters()).device
    l = l.to(device)
    ab = model.colorize(l, T, size=size, mode=mode)
    return torch.cat([l, ab.to(l.dtype)], dim=1)


def colorize_rgb(model: ColorizationNet, rgb: np.ndarray, T: float = T_ANNEALED, size: int | None = PREDICT_SIZE,
                 *, mode: bool = False) -> np.ndarray:
    """Colorize a photo at its full resolution.

    Args:
        model: a classification or regression model (:mod:`colorlab.models`, e.g. from
            :func:`colorlab.load_pretrained`); it runs on its own device, in eval mode.
        rgb: uint8 numpy (H, W, 3) — a colour photo (only its L is used) or a gray one — or (H, W) grayscale.
        T: annealed-mean temperature (paper section 2.3: 0.38; 1 gives the mean; ignored by regression models).
        size: shorter side, in pixels, of the copy the network sees (None: the photo's own size).
        mode: decode with the most probable bin instead (T → 0).

    Returns:
        uint8 numpy (H, W, 3): the input's L with the predicted ab, converted to sRGB (out-of-gamut colours are
        clipped as in :func:`colorlab.lab_to_rgb`).

    >>> from colorlab.models import build_model
    >>> colorize_rgb(build_model("eccv16", 0.125), np.zeros((30, 50, 3), np.uint8), size=16).shape
    (30, 50, 3)
    """
    if not isinstance(model, ColorizationNet):
        raise TypeError(f"model must be a colorlab model (ColorizationNet); got {type(model).__name__}")
    return colorize_l(model, lightness(rgb, next(model.parameters()).device), T, size, mode=mode)


def lightness(rgb: np.ndarray, device="cpu") -> torch.Tensor:
    """L of a photo as :func:`colorize_rgb` takes it: uint8 (H, W, 3) or (H, W) → float32 (1, 1, H, W) in
    [0, 100] on ``device``."""
    with torch.no_grad():
        return _lab_of(_rgb_uint8(rgb), device)[:, :1]


def colorize_l(model: ColorizationNet, l: torch.Tensor, T: float = T_ANNEALED, size: int | None = PREDICT_SIZE,
               *, mode: bool = False) -> np.ndarray:
    """:func:`colorize_rgb` from the photo's L (:func:`lightness`, float32 (1, 1, H, W) in [0, 100] on the
    model's device): uint8 (H, W, 3) sRGB of that L with the predicted ab, out-of-gamut colours clipped."""
    with torch.no_grad():
        return _to_uint8(lab_to_rgb(colorize_lab(model, l, T, size, mode=mode)))


def gray_rgb(rgb: np.ndarray) -> np.ndarray:
    """The photo as the network sees it: its L with ab = 0, as uint8 (H, W, 3) sRGB."""
    rgb = _rgb_uint8(rgb)
    with torch.no_grad():
        lab = _lab_of(rgb, "cpu")
        lab[:, 1:] = 0
        return _to_uint8(lab_to_rgb(lab))


def side_by_side(*images: np.ndarray, gap: int = 8) -> np.ndarray:
    """Place uint8 (H, W, 3) images of the same height next to each other with white gaps of ``gap`` pixels."""
    if not images:
        raise ValueError("images: give at least one image")
    images = tuple(_rgb_uint8(im, "images") for im in images)
    height = images[0].shape[0]
    if any(im.shape[0] != height for im in images):
        raise ValueError(f"images must share their height; got {[im.shape[0] for im in images]}")
    spacer = np.full((height, gap, 3), 255, np.uint8)
    parts = []
    for i, im in enumerate(images):
        if i:
            parts.append(spacer)
        parts.append(im)
    return np.concatenate(parts, axis=1)


def save_image_atomic(rgb: np.ndarray, path: str | os.PathLike) -> Path:
    """Write uint8 (H, W, 3) to ``path`` (format from the extension) via a temporary file and a rename.

    The temporary file lives in the target folder, so the rename is atomic: ``path`` either keeps its old content
    or holds the complete new image. The folder must exist. Returns the path.
    """
    rgb = _rgb_uint8(rgb)
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None:
        raise ValueError(f"path: cannot tell the image format from the extension of {str(path)!r}")
    image = Image.fromarray(rgb)
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    return atomic_write(path, lambda f: image.save(f, format=fmt, **options))


# ------------------------------------------------------------------------------------------ files and folders

_GLOB_CHARS = set("*?[")


def expand_inputs(inputs) -> list[tuple[Path, str]]:
    """Turn files, folders and glob patterns into ``(path, relative output name)`` pairs, in order.

    A file gives its own name; a folder gives every image under it (recursive, by extension, see
    :func:`colorlab.data.list_images`) named relative to the folder; a pattern with ``*``, ``?`` or ``[`` is
    expanded (``**`` recursive), files by their name and folders as above. The same file is listed once.

    Raises:
        FileNotFoundError: an input does not exist, or a pattern matches nothing.
        colorlab.data.NoImagesError: a folder holds no image file.
    """
    import glob

    from .data import list_images

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    pairs: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(path: Path, name: str) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            pairs.append((path, name))

    def add_path(path: Path) -> None:
        if path.is_dir():
            for image in list_images(path):
                add(image, image.relative_to(path).as_posix())
        else:
            add(path, path.name)

    for item in inputs:
        text = os.fspath(item)
        path = Path(text).expanduser()
        if path.exists():
            add_path(path)
        elif _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            if not matches:
                raise FileNotFoundError(f"input: no file matches the pattern {text!r}")
            for match in matches:
                add_path(Path(match))
        else:
            raise FileNotFoundError(f"input: {text!r} does not exist")
    if not pairs:
        raise FileNotFoundError("input: no input files given")
    return pairs


def output_paths(pairs: list[tuple[Path, str]], out, single_file_ok: bool = True) -> list[Path]:
    """Where each input's colorization goes.

    With one input and an ``out`` that ends in an image extension, ``out`` is that file. Otherwise ``out`` is a
    folder (created if needed) and each output keeps the input's relative name; names that would collide get
    ``_2``, ``_3``, ... Checks that the target folder can be written before anything is computed.

    Raises:
        NotADirectoryError / OSError: ``out`` cannot be created or written.
    """
    from PIL import Image

    out = Path(out).expanduser()
    writable = Image.registered_extensions()
    single = single_file_ok and len(pairs) == 1 and out.suffix.lower() in writable and not out.is_dir()
    if len(pairs) > 1 and out.suffix.lower() in writable and not out.is_dir():
        raise NotADirectoryError(f"output: {str(out)!r} names an image file, but there are {len(pairs)} inputs; "
                                 "give a folder")
    try:
        writable_folder(out.parent if single else out)
    except OSError as error:
        raise type(error)(f"output: {error}") from error
    if single:
        return [out]
    taken: set[str] = set()
    paths = []
    for path, name in pairs:
        relative = Path(name)
        suffix = relative.suffix.lower() if relative.suffix.lower() in writable else ".png"
        candidate = relative.with_suffix(suffix)
        n = 2
        while candidate.as_posix().lower() in taken:
            candidate = relative.with_name(f"{relative.stem}_{n}{suffix}")
            n += 1
        taken.add(candidate.as_posix().lower())
        paths.append(out / candidate)
    return paths


def comparison_path(path: Path) -> Path:
    """Where the side-by-side comparison of an output goes: ``<stem>_compare<suffix>`` beside it."""
    return path.with_name(f"{path.stem}_compare{path.suffix}")


def colorize_files(model: ColorizationNet, inputs, out, T: float = T_ANNEALED, size: int | None = PREDICT_SIZE,
                   *, compare: bool = False, progress: bool | None = None) -> dict:
    """Colorize files, folders or glob patterns into ``out`` (see :func:`expand_inputs`, :func:`output_paths`).

    Each output is written atomically (:func:`save_image_atomic`). Files that cannot be decoded are skipped with a
    :class:`colorlab.data.SkippedImageWarning` as long as at least one image is colorized. With ``compare``, a
    side-by-side image (the input's L, the colorization, the original) is written beside each output.

    Returns:
        ``{"written": [paths], "compared": [paths], "skipped": [(path, reason)]}``.

    Raises:
        FileNotFoundError, colorlab.data.NoImagesError: no input; UnreadableImageError: every input was
        unreadable; OSError: the output cannot be written.
    """
    import warnings

    from .data import SkippedImageWarning, UnreadableImageError, load_rgb

    pairs = expand_inputs(inputs)
    targets = output_paths(pairs, out)
    if progress is None:
        progress = len(pairs) > 1
    iterator = zip(pairs, targets)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=len(pairs), desc="colorize", unit="img", disable=None)  # off when not a terminal
    written, compared, skipped = [], [], []
    for (path, _), target in iterator:
        try:
            rgb = load_rgb(path)
        except UnreadableImageError as error:
            warnings.warn(f"skipping {path}: {error}", SkippedImageWarning, stacklevel=2)
            skipped.append((path, str(error)))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        colorized = colorize_rgb(model, rgb, T, size)
        written.append(save_image_atomic(colorized, target))
        if compare:
            panel = side_by_side(gray_rgb(rgb), colorized, rgb)
            compared.append(save_image_atomic(panel, comparison_path(target)))
    if not written:
        raise UnreadableImageError(f"input: none of the {len(pairs)} input file(s) could be decoded as an image "
                                   f"(first: {skipped[0][1]})")
    return {"written": written, "compared": compared, "skipped": skipped}
