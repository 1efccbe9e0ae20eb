"""Colorizing whole photos at full resolution, and writing the results safely.

The pipeline of the paper's demo (Zhang, Isola & Efros 2016, section 2.3 and the authors' released code): take L
of the photo at its own resolution; predict ab from a copy of L resized so its shorter side is ``size`` pixels
(the scale the network saw in training, aspect ratio kept); upsample ab bilinearly to the full resolution; put it
back together with the original L and convert to sRGB. The fine detail of the output therefore comes entirely from
the input's L, and the network only has to get the colours, which vary slowly, right.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ._atomic import atomic_write, writable_folder
from .color import lab_to_rgb, rgb_to_lab
from .data import IMAGE_EXTENSIONS, MAX_PIXELS
from .decode import T_ANNEALED
from .models import PREDICT_SIZE, ColorizationNet

#: JPEG quality of written images (Pillow's scale; its default is 75).
JPEG_QUALITY = 95

#: The largest ``size`` (shorter side of the copy the network sees) of :func:`colorize_files` and
#: ``colorlab colorize --size``: 16 times the area of the paper's 256, so the network's memory stays bounded.
MAX_SIZE = 1024

#: Extensions of the formats outputs are written in: those colorlab reads (:data:`colorlab.data.IMAGE_EXTENSIONS`).
#: Others are refused (ICO, for one, would shrink the image to 256 × 256 at most; GIF keeps 256 colours).
OUTPUT_EXTENSIONS = IMAGE_EXTENSIONS

#: The largest side, in pixels, that a format of :data:`OUTPUT_EXTENSIONS` holds (the others have no limit that
#: :data:`colorlab.data.MAX_PIXELS` allows to reach).
MAX_SIDE = {"WEBP": 16383, "JPEG": 65500}

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
    # a contiguous copy: rgb may be read-only, or a flipped view with negative strides, which torch refuses
    x = torch.tensor(np.ascontiguousarray(rgb), device=device).permute(2, 0, 1)[None].float() / 255.0
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


#: White gap, in pixels, between the images of a comparison (:func:`side_by_side`).
COMPARE_GAP = 8


def side_by_side(*images: np.ndarray, gap: int = COMPARE_GAP) -> np.ndarray:
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


def _output_format(path: Path) -> str:
    """Pillow's format name for an output path; ValueError unless its extension is in :data:`OUTPUT_EXTENSIONS`."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_EXTENSIONS:
        raise ValueError(f"path: cannot write the format of {str(path)!r}; colorlab writes "
                         f"{', '.join(OUTPUT_EXTENSIONS)}")
    return Image.registered_extensions()[suffix]


def _check_fits(path: Path, height: int, width: int) -> None:
    """ValueError when the format of ``path`` cannot hold an image of ``height`` × ``width`` (:data:`MAX_SIDE`)."""
    fmt = _output_format(path)
    limit = MAX_SIDE.get(fmt)
    if limit is not None and max(height, width) > limit:
        raise ValueError(f"path: {fmt} holds at most {limit} pixels per side, but the image written to "
                         f"{str(path)!r} is {width} × {height}; write it as .png or .tif")


def save_image_atomic(rgb: np.ndarray, path: str | os.PathLike) -> Path:
    """Write uint8 (H, W, 3) to ``path`` (format from the extension) via a temporary file and a rename.

    The temporary file lives in the target folder, so the rename is atomic: ``path`` either keeps its old content
    or holds the complete new image. The folder must exist. The extension must be one of
    :data:`OUTPUT_EXTENSIONS` and its format able to hold the size (:data:`MAX_SIDE`); else ValueError, and
    nothing is written. Returns the path.
    """
    rgb = _rgb_uint8(rgb)
    path = Path(path)
    _check_fits(path, *rgb.shape[:2])
    fmt = _output_format(path)
    image = Image.fromarray(rgb)
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    return atomic_write(path, lambda f: image.save(f, format=fmt, **options))


# ------------------------------------------------------------------------------------------ files and folders

_GLOB_CHARS = set("*?[")


def expand_inputs(inputs, unsupported: list | None = None) -> list[tuple[Path, str]]:
    """Turn files, folders and glob patterns into ``(path, relative output name)`` pairs, in order.

    A file gives its own name; a folder gives every image under it (recursive, by extension, see
    :func:`colorlab.data.list_images`) named relative to the folder; a pattern with ``*``, ``?`` or ``[`` is
    expanded (``**`` recursive), files by their name and folders as above. The same file is listed once (links
    resolved). Files of formats colorlab does not read found in folders (``.gif``, ``.heic``, ...) are appended
    to ``unsupported`` when a list is given.

    Raises:
        FileNotFoundError: an input does not exist, or a pattern matches nothing.
        colorlab.data.NoImagesError: a folder holds no image file.
    """
    import glob

    from .data import list_images

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    pairs: list[tuple[Path, str]] = []
    seen: set[str] = set()

    def add(path: Path, name: str) -> None:
        key = os.path.realpath(path)  # unlike Path.resolve, never raises on a link loop
        if key not in seen:
            seen.add(key)
            pairs.append((path, name))

    def add_path(path: Path) -> None:
        if path.is_dir():
            for image in list_images(path, unsupported):
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


def output_paths(pairs: list[tuple[Path, str]], out, single_file_ok: bool = True, *, compare: bool = False,
                 overwrite: bool = False) -> list[Path]:
    """Where each input's colorization goes.

    With one input and an ``out`` that ends in an image extension, ``out`` is that file (its extension one of
    :data:`OUTPUT_EXTENSIONS`). Otherwise ``out`` is a folder (created if needed) and each output keeps the
    input's relative name (``.png`` for other extensions). Names are unique across the batch, comparisons
    (:func:`comparison_path`, when ``compare``) included: names that would collide get ``_2``, ``_3``, ...
    Checks, before anything is computed, that the target folder can be written, that no output (nor comparison)
    is an input file (its path, through links, or a hard link of it), and, unless ``overwrite``, that none
    exists yet.

    Raises:
        NotADirectoryError / OSError: ``out`` cannot be created or written.
        ValueError: ``out`` has an extension colorlab does not write, or an output would replace an input.
        FileExistsError: an output exists and ``overwrite`` is false.
    """
    out = Path(out).expanduser()
    writable = Image.registered_extensions()
    single = single_file_ok and len(pairs) == 1 and out.suffix.lower() in writable and not out.is_dir()
    if len(pairs) > 1 and out.suffix.lower() in writable and not out.is_dir():
        raise NotADirectoryError(f"output: {str(out)!r} names an image file, but there are {len(pairs)} inputs; "
                                 "give a folder")
    if single:
        try:
            _output_format(out)
        except ValueError as error:
            raise ValueError(f"output: {str(error).removeprefix('path: ')}") from None
    paths = [out] if single else [out / name for name in _unique_names(pairs, compare)]
    _refuse_inputs(pairs, paths, compare)
    try:
        writable_folder(out.parent if single else out)
    except OSError as error:
        raise type(error)(f"output: {error}") from error
    if not overwrite:
        _refuse_existing(paths, compare)
    return paths


def _unique_names(pairs: list[tuple[Path, str]], compare: bool) -> list[Path]:
    """Relative output names, unique (case-insensitively) across the batch, comparison names included."""
    taken: set[str] = set()
    names = []
    for _, name in pairs:
        relative = Path(name)
        suffix = relative.suffix.lower() if relative.suffix.lower() in OUTPUT_EXTENSIONS else ".png"
        candidate, n = relative.with_suffix(suffix), 2
        while {k.as_posix().lower() for k in _with_comparison(candidate, compare)} & taken:
            candidate, n = relative.with_name(f"{relative.stem}_{n}{suffix}"), n + 1
        taken.update(k.as_posix().lower() for k in _with_comparison(candidate, compare))
        names.append(candidate)
    return names


def _with_comparison(path: Path, compare: bool) -> list[Path]:
    return [path, comparison_path(path)] if compare else [path]


def _file_id(path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _refuse_inputs(pairs: list[tuple[Path, str]], paths: list[Path], compare: bool) -> None:
    """ValueError when an output (or comparison) would be one of the input files: the same path once links are
    resolved, or the same file (a hard link)."""
    real = {os.path.realpath(path): path for path, _ in pairs}
    ids = {_file_id(path): path for path, _ in pairs}
    ids.pop(None, None)
    for target in (t for path in paths for t in _with_comparison(path, compare)):
        source = real.get(os.path.realpath(target)) or ids.get(_file_id(target))
        if source is not None:
            raise ValueError(f"output: writing {str(target)!r} would replace the input {str(source)!r}; "
                             "give an output file or folder outside the inputs")


def _refuse_existing(paths: list[Path], compare: bool) -> None:
    existing = [t for path in paths for t in _with_comparison(path, compare) if os.path.lexists(t)]
    if existing:
        raise FileExistsError(f"output: {len(existing)} output file(s) exist already (first: "
                              f"{str(existing[0])!r}); pass --overwrite (overwrite=True) to replace them")


def comparison_path(path: Path) -> Path:
    """Where the side-by-side comparison of an output goes: ``<stem>_compare<suffix>`` beside it."""
    return path.with_name(f"{path.stem}_compare{path.suffix}")


def colorize_files(model: ColorizationNet, inputs, out, T: float = T_ANNEALED, size: int | None = PREDICT_SIZE,
                   *, compare: bool = False, progress: bool | None = None, max_pixels: int | None = MAX_PIXELS,
                   overwrite: bool = False) -> dict:
    """Colorize files, folders or glob patterns into ``out`` (see :func:`expand_inputs`, :func:`output_paths`).

    Each output is written atomically (:func:`save_image_atomic`). With ``compare``, a side-by-side image (the
    input's L, the colorization, the original) is written beside each output. ``size`` is at most
    :data:`MAX_SIZE` (None: the photo's own size). Before anything is computed, the outputs are checked: none may
    be an input, and unless ``overwrite`` none may exist. A file is skipped, with a
    :class:`colorlab.data.SkippedImageWarning`, when it cannot be opened or decoded (a FIFO or a device is never
    read), has more than ``max_pixels`` pixels (None: no limit of colorlab's own), its output format cannot hold
    its size, or, in a folder, its format is one colorlab does not read (``.gif``, ``.heic``, ...), as long as at
    least one image is colorized.

    Returns:
        ``{"written": [paths], "compared": [paths], "skipped": [(path, reason)]}``.

    Raises:
        FileNotFoundError, colorlab.data.NoImagesError: no input; UnreadableImageError: every input was
        skipped; ValueError, FileExistsError: bad ``size``, or outputs refused (see :func:`output_paths`);
        OSError: the output cannot be written.
    """
    from .data import UnreadableImageError

    _check_size(size)
    unsupported: list[Path] = []
    pairs = expand_inputs(inputs, unsupported)
    targets = output_paths(pairs, out, compare=compare, overwrite=overwrite)
    skipped = [_skip(path, f"unsupported format {path.suffix.lower()} (colorlab reads "
                           f"{', '.join(IMAGE_EXTENSIONS)})") for path in unsupported]
    written, compared = [], []
    for (path, _), target in _progress(zip(pairs, targets), len(pairs), progress):
        rgb = _read_for(path, target, compare, max_pixels, skipped)
        if rgb is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        colorized = colorize_rgb(model, rgb, T, size)
        written.append(save_image_atomic(colorized, target))
        if compare:
            panel = side_by_side(gray_rgb(rgb), colorized, rgb)
            compared.append(save_image_atomic(panel, comparison_path(target)))
    if not written:
        raise UnreadableImageError(f"input: none of the {len(pairs) + len(unsupported)} input file(s) could be "
                                   f"colorized (first: {skipped[0][1]})")
    return {"written": written, "compared": compared, "skipped": skipped}


def _check_size(size) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE):
        raise ValueError(f"size must be an integer from 1 to {MAX_SIZE} (or None: the photo's own size); "
                         f"got {size!r}")


def _progress(iterator, total: int, progress: bool | None):
    """``iterator`` with a tqdm bar (by default when there are several files, and only on a terminal)."""
    if not (progress if progress is not None else total > 1):
        return iterator
    from tqdm.auto import tqdm

    return tqdm(iterator, total=total, desc="colorize", unit="img", disable=None)


def _skip(path: Path, reason: str) -> tuple[Path, str]:
    import warnings

    from .data import SkippedImageWarning

    warnings.warn(f"skipping {path}: {reason}", SkippedImageWarning, stacklevel=3)
    return path, reason


def _read_for(path: Path, target: Path, compare: bool, max_pixels, skipped: list) -> np.ndarray | None:
    """The photo at ``path`` (:func:`colorlab.data.load_rgb`), or None, with its reason appended to ``skipped``,
    when it cannot be read, is over ``max_pixels``, or its output (or comparison) format cannot hold its size."""
    from .data import load_rgb

    try:
        rgb = load_rgb(path, max_pixels)
        height, width = rgb.shape[:2]
        _check_fits(target, height, width)
        if compare:
            _check_fits(comparison_path(target), height, 3 * width + 2 * COMPARE_GAP)
    except (ValueError, OSError) as error:  # UnreadableImageError, a size the format cannot hold; a missing file
        skipped.append(_skip(path, str(error)))
        return None
    return rgb
