"""Training data: robust image decoding, random crops, datasets and the Imagenette download.

The paper (Zhang, Isola & Efros, 2016) trains on 176 × 176 crops of ImageNet photos; this module makes such
crops from any folder of images. DataLoader workers only decode files and crop them to uint8 tensors of shape
(3, crop, crop); the conversion to Lab, normalisation and soft encoding happen later on the training device, in
batches.

Datasets
--------
:class:`ImageFolder` reads every image under a folder, recursively. It works unchanged on any folder of photos:
one extracted by :func:`download_imagenette`, or the Intel Image Classification set after its manual download
(point ``root`` at ``seg_train`` or at the whole extracted folder; the class sub-folders are simply walked).
:class:`SamplePhotos` serves the photos that ship inside colorlab's dependencies (:mod:`colorlab.samples`) and is
the default data set, usable with no download.

Unreadable files
----------------
Files that are not images are found when the data set is built: every file's header is read once (``verify=
"header"``, fast) or every file is fully decoded (``verify="full"``). Files whose header is fine but whose pixels
are broken (a truncated JPEG) can only be found when they are decoded, usually inside a DataLoader worker
process, where an ordinary counter would be lost. The data set therefore keeps a boolean flag per file in a
shared-memory tensor: a worker that fails to decode a file sets its flag, warns with :class:`SkippedImageWarning`,
and returns a crop of the next readable file instead, so batches keep their size. The main process sees the flags
set by every worker: :attr:`ImageFolder.skipped` lists every file skipped so far, at construction or later. When
no readable file is left, :class:`NoImagesError` is raised.

Randomness
----------
Crops and flips of item ``i`` are drawn from ``numpy.random.default_rng(SeedSequence([seed, epoch, i]))``. The
same seed, epoch and index give the same crop in any worker and with any number of workers, which makes runs
reproducible and a resumed run see exactly the crops it would have seen. Call :meth:`ImageFolder.set_epoch` at the
start of every epoch (as with ``DistributedSampler.set_epoch``) to get new crops; the epoch is kept in shared
memory, so DataLoader workers see it too, ``persistent_workers=True`` included. With ``repeat > 1`` every copy of
an image has its own index, hence its own crop, within an epoch.

Speed
-----
A GPU trains ECCV16 on thousands of crops per second, so decoding must be cheap. :func:`load_crop` cuts the crop
from the decoded Pillow image without full-size copies, and decodes a JPEG much larger than the crop at a reduced
size (Pillow's ``draft``); ``colorlab prepare`` (:mod:`colorlab.prepare`) resizes a folder once, as the paper's
authors did, so that every image is small to decode.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import stat
import tarfile
import tempfile
import warnings
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps

#: File extensions read by :func:`list_images` (compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

#: Extensions of image formats that :func:`list_images` does not read; files with them are reported, not used.
UNSUPPORTED_EXTENSIONS = (".gif", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".ico", ".psd", ".svg", ".dng",
                          ".cr2", ".nef", ".arw")

#: The most pixels a photo may have to be colorized or evaluated (``colorlab colorize --max-pixels``, the book's
#: panel). onnxruntime-web has at most 4 GB of WebAssembly memory, and the panel's graph holds about 120 bytes
#: per pixel at its peak (the Lab conversions at full resolution): in Chromium, 32 megapixels worked and 39 ran
#: out of memory. ``colorlab colorize`` needs a similar amount per pixel.
MAX_PIXELS = 30_000_000

#: Side of the square training crops, in pixels (the paper's training crops are 176 × 176).
CROP_SIZE = 176

#: Range of the crop's area as a fraction of the image's area in :func:`random_resized_crop`. The paper does not
#: state its crop augmentation; this is colorlab's choice. The lower bound is larger than the 0.08 common in
#: classification training so that a crop keeps enough of the scene to tell what its colours should be.
CROP_SCALE = (0.35, 1.0)

#: Range of the crop's aspect ratio (width / height) in :func:`random_resized_crop`.
CROP_RATIO = (3 / 4, 4 / 3)

#: Imagenette archives (github.com/fastai/imagenette): size → (url, hash as pooch expects it). The sha256 sums are
#: those the FastAI.jl data registry pins for these URLs; the md5 sum of the full-size archive is the one
#: torchvision's Imagenette dataset pins (torchvision also pins md5 e793b78cc4c9e9a4ccc0c1155377a412 for 160px
#: and 3df6f0d01a2c9592104656642f5e78a3 for 320px).
IMAGENETTE_ARCHIVES = {
    "160px": (
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
        "sha256:88daccb09b6fce93f45e6c09ddeb269cce705549e6bff322092a2a5a11489863",
    ),
    "320px": (
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
        "sha256:569b4497c98db6dd29f335d1f109cf315fe127053cedf69010d047f0188e158c",
    ),
    "full": (
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
        "md5:fe2fc210e6bb7c5664d602c3cd71e612",
    ),
}

_OFFICIAL_HASH = object()  # default of download_imagenette's known_hash: the hash pinned for ``size``


class UnreadableImageError(ValueError):
    """A file could not be decoded as an image (not an image, truncated, corrupt, or too large)."""


class ImageTooLargeError(UnreadableImageError):
    """An image has more pixels than the limit it is read with (its header says so; nothing is decoded)."""


class NoImagesError(ValueError):
    """A folder or a data set holds no readable image."""


class SkippedImageWarning(UserWarning):
    """A data set skipped a file it could not decode."""


class UnsafeArchiveError(ValueError):
    """An archive holds a member that would be written outside the target folder, or a link or device."""


# ----------------------------------------------------------------------------------------------------------
# Finding and decoding images
# ----------------------------------------------------------------------------------------------------------


def list_images(root, unsupported: list | None = None) -> list[Path]:
    """Return every image file under ``root``, recursively, sorted by path.

    Files are recognised by extension (:data:`IMAGE_EXTENSIONS`, case-insensitive: ``.JPEG`` counts); their
    content is not read here. Symbolic links to directories are not followed. Files with an extension of
    :data:`UNSUPPORTED_EXTENSIONS` (``.gif``, ``.heic``, ...) are not returned; they are appended, sorted, to
    ``unsupported`` when a list is given, so that callers can report them.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        NotADirectoryError: ``root`` is not a directory.
        NoImagesError: ``root`` holds no file with an image extension.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"root: image folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"root: {str(root)!r} is not a directory")
    paths, others = [], []
    for folder, _, files in os.walk(root):
        for f in files:
            suffix = os.path.splitext(f)[1].lower()
            if suffix in IMAGE_EXTENSIONS:
                paths.append(Path(folder) / f)
            elif suffix in UNSUPPORTED_EXTENSIONS:
                others.append(Path(folder) / f)
    if not paths:
        found = f"; found only {len(others)} file(s) of formats colorlab does not read" if others else ""
        raise NoImagesError(
            f"root: no image files under {str(root)!r} (looked for {', '.join(IMAGE_EXTENSIONS)}, recursively"
            f"{found})"
        )
    if unsupported is not None:
        unsupported.extend(sorted(others, key=lambda p: p.relative_to(root).as_posix()))
    return sorted(paths, key=lambda p: p.relative_to(root).as_posix())


def _open_checked(path: Path) -> Image.Image:
    """Open ``path`` lazily with Pillow, turning decompression-bomb warnings into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(path)
    return im


def probe_image(path, max_pixels: int | None = None) -> tuple[int, int]:
    """Read only the header of the image at ``path`` and return its size as (width, height).

    Fast (no pixel is decoded), so a truncated file passes; :func:`load_rgb` finds those.

    Raises:
        FileNotFoundError: ``path`` does not exist (or is a link to nothing, or a link loop).
        UnreadableImageError: ``path`` is not a regular file (a FIFO or a device is never opened), the header is
            not that of an image Pillow reads, the size is zero, or the image has more than
            ``PIL.Image.MAX_IMAGE_PIXELS`` pixels; :class:`ImageTooLargeError` when it has more than
            ``max_pixels``.
    """
    path = _existing_file(path)
    try:
        with _open_checked(path) as im:
            width, height = im.size
    except Exception as error:  # Pillow raises many types for bad headers
        raise UnreadableImageError(f"cannot read image {str(path)!r}: {type(error).__name__}: {error}") from error
    if width < 1 or height < 1:
        raise UnreadableImageError(f"cannot read image {str(path)!r}: empty size {width} × {height}")
    _check_pixels(path, width, height, max_pixels)
    return width, height


def _check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`ImageTooLargeError` when ``width × height`` exceeds ``max_pixels`` (None: no limit)."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(f"image {str(path)!r} has {width * height:,} pixels ({width} × {height}), more "
                                 f"than the limit of {max_pixels:,} (max_pixels, --max-pixels)")


def _scale_to_uint8(values: np.ndarray, maximum: float) -> np.ndarray:
    """Map integers or floats in [0, maximum] linearly onto uint8 [0, 255], rounding to nearest."""
    values = np.clip(values.astype(np.float64), 0.0, maximum)
    return np.rint(values * (255.0 / maximum)).astype(np.uint8)


def _to_rgb_array(im: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image of any common mode to uint8 (H, W, 3)."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        return _gray_to_rgb(_scale_to_uint8(np.asarray(im), _integer_maximum(np.asarray(im))))
    if mode == "F":
        return _gray_to_rgb(_scale_to_uint8(np.asarray(im), _float_maximum(np.asarray(im, dtype=np.float64))))
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in im.info:
        # Alpha (RGBA, LA, PA) or a transparent palette entry / colour key: composite on white.
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint32)
        alpha = rgba[..., 3:]
        rgb = (rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return rgb.astype(np.uint8)
    # RGB, L, 1, P, CMYK, YCbCr: Pillow's conversions (CMYK without colour management).
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _integer_maximum(values: np.ndarray) -> float:
    """The white of integer gray pixels (modes ``I;16*`` and ``I``): 65535 when every value fits in 16 bits (what
    Pillow gives for 16-bit files; its own conversion to "L" clips at 255 instead of scaling), else 2³¹ − 1, the
    white of a 32-bit file (held as signed 32-bit integers). Negative values count as black."""
    return 65535.0 if values.size == 0 or values.max() <= 65535 else float(2**31 - 1)


def _float_maximum(values: np.ndarray) -> float:
    """The white of floating-point gray pixels (mode ``F``): 1 when every value lies in [0, 1], 255 when every
    value lies in [0, 255]; other ranges, NaN and infinity are refused (ValueError), as they have no white."""
    if not np.isfinite(values).all():
        raise ValueError("floating-point pixels hold NaN or infinity; colorlab reads floats in [0, 1] or [0, 255]")
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo < 0 or hi > 255:
        raise ValueError(f"floating-point pixels span [{lo:g}, {hi:g}]; colorlab reads floats in [0, 1] or "
                         "[0, 255]")
    return 1.0 if hi <= 1.0 else 255.0


def load_rgb(path, max_pixels: int | None = None) -> np.ndarray:
    """Decode the image at ``path`` into a uint8 array of shape (H, W, 3), sRGB values in [0, 255].

    Every decoding step runs inside one guard, so any failure becomes :class:`UnreadableImageError`.

    - Orientation: the EXIF orientation tag is applied (a portrait photo from a phone comes out upright).
    - Transparency (RGBA, LA, palette with a transparent entry, colour keys): composited on white.
    - 16-bit grayscale (``I;16`` PNG and TIFF): scaled to 8 bits, value · 255 / 65535 rounded. 16-bit colour
      files are reduced to 8 bits by Pillow when it decodes them.
    - 32-bit integer grayscale (mode ``I``): read as 16-bit data when every value fits in 16 bits, else scaled
      from [0, 2³¹ − 1]; 32-bit float grayscale (mode ``F``): [0, 1] or [0, 255], other ranges are refused.
    - CMYK: Pillow's conversion (no ICC colour management; embedded ICC profiles are ignored everywhere and
      values are taken as sRGB).
    - Grayscale (L, LA, 1-bit): the gray value is copied to the three channels.
    - Multi-frame files: the first frame.

    Args:
        path: a file path (str or path-like).
        max_pixels: refuse images with more pixels than this, from the header, before decoding (None: only
            Pillow's ``MAX_IMAGE_PIXELS``); e.g. :data:`MAX_PIXELS`.

    Returns:
        uint8 numpy array (H, W, 3), C-contiguous.

    Raises:
        FileNotFoundError: ``path`` does not exist (or is a link to nothing, or a link loop).
        UnreadableImageError: ``path`` is not a regular file (a FIFO or a device is never opened), the file is
            not an image, is truncated or corrupt, uses a mode or range that has no RGB conversion, or has more
            than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels (a decompression bomb; raise that Pillow setting to read
            larger files); :class:`ImageTooLargeError` when it has more than ``max_pixels``.
    """
    path = _existing_file(path)
    try:
        with _open_checked(path) as im:
            _check_pixels(path, *im.size, max_pixels)
            im.load()
            rgb = _to_rgb_array(_upright(im))
    except ImageTooLargeError:
        raise
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ... on bad data
        raise UnreadableImageError(f"cannot decode image {str(path)!r}: {type(error).__name__}: {error}") from error
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise UnreadableImageError(f"cannot decode image {str(path)!r}: got an array of shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


def _existing_file(path) -> Path:
    """``path`` as a Path when it is a regular file (links followed); anything else is never opened.

    Raises FileNotFoundError when nothing is there (a missing file, a link to one, a link loop), and
    :class:`UnreadableImageError` for a folder, FIFO, device or socket, or a file whose status cannot be read.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            reason = ("is a symbolic link loop" if error.errno == errno.ELOOP
                      else "is a link to a missing file" if os.path.islink(path) else "does not exist")
            raise FileNotFoundError(f"path: image file {str(path)!r} {reason}") from None
        raise UnreadableImageError(f"cannot read {str(path)!r}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket")
        raise UnreadableImageError(f"{str(path)!r} is {kind}, not a regular file; it is not read")
    return path


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1: upright), read from the header; 1 when the EXIF block is missing or broken."""
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a broken EXIF block must not lose otherwise good pixels
        return 1


def _upright(im: Image.Image) -> Image.Image:
    """The loaded image with its EXIF orientation applied (the same image, not a copy, when already upright)."""
    if _orientation(im) == 1:
        return im
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        return im


def _rgb_image(im: Image.Image) -> Image.Image:
    """A decoded image as an 8-bit RGB Pillow image, converted as :func:`load_rgb` converts (no copy for RGB)."""
    if im.mode == "RGB" and "transparency" not in im.info:
        return im
    return Image.fromarray(_to_rgb_array(im))


def _draft_factor(region_side: float, size: int) -> int:
    """The largest JPEG reduction (8, 4, 2, else 1) that keeps at least ``size`` pixels across ``region_side``."""
    return next((f for f in (8, 4, 2) if region_side >= f * size), 1)


def load_crop(path, size: int = CROP_SIZE, rng: np.random.Generator | None = None, scale=CROP_SCALE,
              ratio=CROP_RATIO) -> np.ndarray:
    """Decode the image at ``path`` and cut one square crop of side ``size``, as fast as decoding allows.

    With ``rng`` this is :func:`random_resized_crop` of :func:`load_rgb`'s image (the same region, drawn from
    ``rng`` in the same way), else :func:`center_crop` of it. It is faster in two ways:

    - the region is cut and resized on the decoded Pillow image, with no full-size array made on the way;
    - a JPEG whose region is at least twice ``size`` across is decoded at 1/2, 1/4 or 1/8 of its size (Pillow's
      draft mode, libjpeg's DCT scaling): the largest reduction that still leaves ``size`` pixels or more across
      the region, so the crop is a downscale of what was decoded, never an upscale. The pixels then differ
      slightly from a full decode followed by the resize.

    Args:
        path: a file path (str or path-like).
        size: side of the output in pixels.
        rng: the ``numpy.random.Generator`` of a random crop; None for the central crop.
        scale, ratio: see :func:`random_crop_box`.

    Returns:
        uint8 numpy (size, size, 3).

    Raises:
        FileNotFoundError, UnreadableImageError: as :func:`load_rgb`.
    """
    path, size = _existing_file(path), _check_size(size)
    try:
        with _open_checked(path) as im:
            width, height = (im.height, im.width) if _orientation(im) in (5, 6, 7, 8) else im.size
            if rng is None:
                side = min(width, height)
                left, top = (width - side) // 2, (height - side) // 2
                box = (left, top, left + side, top + side)
            else:
                box = random_crop_box(height, width, rng, scale, ratio)
            factor = _draft_factor(min(box[2] - box[0], box[3] - box[1]), size)
            if factor > 1:
                im.draft(im.mode, (im.width // factor, im.height // factor))
            im.load()
            rgb = _rgb_image(_upright(im))
            sx, sy = rgb.width / width, rgb.height / height
            crop = rgb.resize((size, size), Image.Resampling.BILINEAR,
                              box=(box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy))
            return np.asarray(crop, dtype=np.uint8)
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ... on bad data
        raise UnreadableImageError(f"cannot decode image {str(path)!r}: {type(error).__name__}: {error}") from error


# ----------------------------------------------------------------------------------------------------------
# Crops
# ----------------------------------------------------------------------------------------------------------


def _check_rgb_uint8(rgb, name: str = "rgb") -> None:
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"{name} must be a numpy uint8 array of shape (H, W, 3); got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"{name} must be a numpy uint8 array of shape (H, W, 3); got dtype {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"{name} must have shape (H, W, 3) with H, W ≥ 1; got {rgb.shape}")


def _check_size(size, name: str = "size") -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int (the side of the square crop); got {size!r}")
    if size < 1:
        raise ValueError(f"{name} must be a positive int (the side of the square crop); got {size}")
    return int(size)


def _resize_box(rgb: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Resize the region ``box`` = (left, top, right, bottom) of ``rgb`` to (size, size, 3), bilinear.

    Pillow's bilinear filter widens with the reduction factor, so downscaling is antialiased.
    """
    out = Image.fromarray(rgb).resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.asarray(out, dtype=np.uint8)


def center_crop(rgb: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """Resize ``rgb`` so that its shorter side is ``size``, then cut the central ``size`` × ``size`` square.

    Implemented as one resampling of the central square of side min(H, W). Images smaller than ``size`` are
    upscaled.

    Args:
        rgb: uint8 numpy (H, W, 3).
        size: side of the output in pixels.

    Returns:
        uint8 numpy (size, size, 3).

    >>> center_crop(np.zeros((30, 50, 3), np.uint8), 16).shape
    (16, 16, 3)
    """
    _check_rgb_uint8(rgb)
    size = _check_size(size)
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return _resize_box(rgb, (left, top, left + side, top + side), size)


def random_crop_box(
    height: int, width: int, rng: np.random.Generator, scale=CROP_SCALE, ratio=CROP_RATIO
) -> tuple[int, int, int, int]:
    """Draw the region (left, top, right, bottom) of a random resized crop of an image ``height`` × ``width``.

    The region covers a fraction of the image's area drawn uniformly from ``scale`` and has an aspect ratio
    (width / height) drawn log-uniformly from ``ratio``; up to 10 draws are tried, then the largest central
    region whose ratio lies in ``ratio`` is used. Every region lies inside the image and is at least 1 × 1.
    """
    if not (0 < scale[0] <= scale[1] <= 1):
        raise ValueError(f"scale must satisfy 0 < min ≤ max ≤ 1; got {scale}")
    if not (0 < ratio[0] <= ratio[1]):
        raise ValueError(f"ratio must satisfy 0 < min ≤ max; got {ratio}")
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return left, top, left + w, top + h
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif aspect > ratio[1]:
        w, h = int(round(height * ratio[1])), height
    else:
        w, h = width, height
    w, h = min(max(w, 1), width), min(max(h, 1), height)
    top, left = (height - h) // 2, (width - w) // 2
    return left, top, left + w, top + h


def random_resized_crop(
    rgb: np.ndarray, size: int, rng: np.random.Generator, scale=CROP_SCALE, ratio=CROP_RATIO
) -> np.ndarray:
    """Cut a random region of ``rgb`` (see :func:`random_crop_box`) and resize it to ``size`` × ``size``.

    Regions smaller than ``size`` (always the case for images smaller than the crop) are upscaled.

    Args:
        rgb: uint8 numpy (H, W, 3).
        size: side of the output in pixels.
        rng: the ``numpy.random.Generator`` the region is drawn from.
        scale: range of the region's area as a fraction of the image's area, within (0, 1].
        ratio: range of the region's aspect ratio, width / height.

    Returns:
        uint8 numpy (size, size, 3).

    >>> rng = np.random.default_rng(0)
    >>> random_resized_crop(np.zeros((8, 12, 3), np.uint8), 32, rng).shape
    (32, 32, 3)
    """
    _check_rgb_uint8(rgb)
    size = _check_size(size)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    box = random_crop_box(rgb.shape[0], rgb.shape[1], rng, scale, ratio)
    return _resize_box(rgb, box, size)


def random_hflip(rgb: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror ``rgb`` (uint8 numpy (H, W, 3)) left-right with probability ``p``; returns (H, W, 3).

    The result may be a view of ``rgb``.
    """
    _check_rgb_uint8(rgb)
    return rgb[:, ::-1] if rng.random() < p else rgb


# ----------------------------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------------------------


class _CropDataset(torch.utils.data.Dataset):
    """Shared logic: index → source image → (random or central) crop → uint8 tensor (3, crop, crop)."""

    def __init__(self, crop: int, train: bool, seed: int, repeat: int, scale, ratio):
        self.crop = _check_size(crop, "crop")
        if isinstance(repeat, bool) or not isinstance(repeat, (int, np.integer)) or repeat < 1:
            raise ValueError(f"repeat must be a positive int; got {repeat!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int; got {seed!r}")
        self.train = bool(train)
        self.seed = int(seed)
        self.repeat = int(repeat)
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        # Shared memory: DataLoader workers, persistent ones included, see every set_epoch of the main process.
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    # subclasses provide these
    def _num_sources(self) -> int:
        raise NotImplementedError

    def _crop_source(self, i: int, rng: np.random.Generator | None) -> np.ndarray:
        """Source ``i`` cut to (crop, crop, 3) uint8: a random resized crop drawn from ``rng``, or the central one."""
        raise NotImplementedError

    @property
    def epoch(self) -> int:
        """The epoch in the seed of every crop (see :meth:`set_epoch`)."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` (a non-negative int) in the seed of every crop from now on.

        Call it before creating each epoch's DataLoader iterator. The epoch lives in shared memory, so workers,
        including ``persistent_workers``, use it from the next item they make.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative int; got {epoch!r}")
        self._epoch.fill_(int(epoch))

    def item_rng(self, index: int) -> np.random.Generator:
        """The generator that draws item ``index``'s crop and flip: seeded by (seed, epoch, index)."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, int(index)]))

    def __len__(self) -> int:
        return self._num_sources() * self.repeat

    def __getitem__(self, index: int) -> torch.Tensor:
        """Return item ``index`` as a uint8 tensor (3, crop, crop), RGB in [0, 255]."""
        n = len(self)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"index must be an int; got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a data set of {n} items")
        index = int(index) % n
        rng = self.item_rng(index) if self.train else None
        out = self._crop_source(index % self._num_sources(), rng)
        if rng is not None:
            out = random_hflip(out, rng)
        return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1)))


class ImageFolder(_CropDataset):
    """Every image under a folder (recursive), as uint8 crops for training or evaluation.

    Items are uint8 tensors of shape (3, crop, crop), RGB in [0, 255]. With ``train=True`` each is a random
    resized crop (:func:`random_resized_crop`, area fraction ``scale``, aspect ``ratio``) flipped left-right with
    probability 0.5; with ``train=False`` the central crop (:func:`center_crop`). Item ``i`` shows file
    ``i % len(files)``; ``len`` is ``len(files) · repeat``.

    Unreadable files are skipped with a :class:`SkippedImageWarning` and counted in :attr:`skipped`, including
    those found inside DataLoader workers (see the module docstring).

    Args:
        root: the folder; images are found by :func:`list_images`.
        crop: side of the square crops in pixels (the paper uses 176).
        train: random crops and flips (True) or central crops (False).
        seed: base seed of the crops (see :meth:`item_rng`).
        repeat: how many items each file gives per epoch (for tiny folders).
        verify: ``"header"`` reads every file's header at construction (fast; truncated pixel data is found
            later), ``"full"`` decodes every file at construction (finds everything, slower), ``"none"``
            checks nothing until items are read.
        scale, ratio: see :func:`random_resized_crop`.

    Raises:
        FileNotFoundError, NotADirectoryError: ``root`` is missing or not a folder.
        NoImagesError: no image file under ``root``, or none of them readable.
    """

    def __init__(
        self,
        root,
        crop: int = CROP_SIZE,
        train: bool = True,
        seed: int = 0,
        repeat: int = 1,
        verify: str = "header",
        scale=CROP_SCALE,
        ratio=CROP_RATIO,
    ):
        super().__init__(crop, train, seed, repeat, scale, ratio)
        if verify not in ("header", "full", "none"):
            raise ValueError(f"verify must be 'header', 'full' or 'none'; got {verify!r}")
        self.root = Path(root)
        candidates = list_images(self.root)
        check = {"header": probe_image, "full": load_rgb, "none": None}[verify]
        self.paths: list[Path] = []
        self._rejected: list[Path] = []
        for path in candidates:
            try:
                if check is not None:
                    check(path)
            except (UnreadableImageError, OSError):
                self._rejected.append(path)
            else:
                self.paths.append(path)
        if self._rejected:
            shown = ", ".join(p.relative_to(self.root).as_posix() for p in self._rejected[:5])
            more = f" and {len(self._rejected) - 5} more" if len(self._rejected) > 5 else ""
            warnings.warn(
                f"skipping {len(self._rejected)} of {len(candidates)} files under {str(self.root)!r} that are not"
                f" readable images: {shown}{more}",
                SkippedImageWarning,
                stacklevel=2,
            )
        if not self.paths:
            raise NoImagesError(
                f"root: none of the {len(candidates)} image files under {str(self.root)!r} is readable"
            )
        # One flag per readable file, set when decoding fails. Shared memory: workers' writes reach the parent.
        self._failed = torch.zeros(len(self.paths), dtype=torch.bool).share_memory_()

    def _num_sources(self) -> int:
        return len(self.paths)

    def _crop_source(self, i: int, rng: np.random.Generator | None) -> np.ndarray:
        n = len(self.paths)
        start = None if rng is None else rng.bit_generator.state
        for step in range(n):
            j = (i + step) % n
            if self._failed[j]:
                continue
            if rng is not None:  # a failed attempt's draws must not change the crop of the file used instead
                rng.bit_generator.state = start
            try:
                return load_crop(self.paths[j], self.crop, rng, self.scale, self.ratio)
            except (UnreadableImageError, OSError) as error:
                self._failed[j] = True
                warnings.warn(f"skipping unreadable image: {error}", SkippedImageWarning, stacklevel=3)
        raise NoImagesError(f"no readable image left under {str(self.root)!r}: all {n} files failed to decode")

    @property
    def skipped(self) -> list[Path]:
        """Files skipped so far, sorted: rejected at construction or failed when decoded (in any worker)."""
        failed = [p for p, bad in zip(self.paths, self._failed.tolist()) if bad]
        return sorted(self._rejected + failed, key=lambda p: p.relative_to(self.root).as_posix())

    @property
    def num_skipped(self) -> int:
        """``len(self.skipped)``."""
        return len(self._rejected) + int(self._failed.sum())

    def __repr__(self) -> str:
        return (
            f"ImageFolder(root={str(self.root)!r}, files={len(self.paths)}, skipped={self.num_skipped}, "
            f"crop={self.crop}, train={self.train}, repeat={self.repeat})"
        )


class SamplePhotos(_CropDataset):
    """The photos shipped inside colorlab's dependencies (:data:`colorlab.samples.SAMPLE_NAMES`) as crops.

    The default data set: no download, no folder. Items are uint8 tensors (3, crop, crop) exactly as in
    :class:`ImageFolder`.

    Args:
        crop: side of the square crops in pixels.
        train: random crops and flips (True) or central crops (False).
        names: the photos to use, in this order (default: all of ``SAMPLE_NAMES``).
        seed: base seed of the crops.
        repeat: how many items each photo gives per epoch.
        exclude: photos to hold out (removed from ``names``), e.g. for a validation photo.
        scale, ratio: see :func:`random_resized_crop`.

    >>> photos = SamplePhotos(crop=64, names=["chelsea", "coffee"], repeat=3)
    >>> len(photos), tuple(photos[0].shape), photos[0].dtype
    (6, (3, 64, 64), torch.uint8)
    """

    def __init__(
        self,
        crop: int = CROP_SIZE,
        train: bool = True,
        names=None,
        seed: int = 0,
        repeat: int = 1,
        exclude=(),
        scale=CROP_SCALE,
        ratio=CROP_RATIO,
    ):
        from .samples import SAMPLE_NAMES, sample_photo

        super().__init__(crop, train, seed, repeat, scale, ratio)
        if isinstance(names, str) or isinstance(exclude, str):
            raise TypeError("names and exclude must be sequences of photo names, not a single string")
        chosen = list(SAMPLE_NAMES if names is None else names)
        unknown = [n for n in chosen + list(exclude) if n not in SAMPLE_NAMES]
        if unknown:
            raise ValueError(f"names: unknown sample photos {unknown}; choose from {', '.join(SAMPLE_NAMES)}")
        self.names = tuple(n for n in chosen if n not in set(exclude))
        if not self.names:
            raise NoImagesError("names: no sample photo left to use")
        self._photos = [sample_photo(n) for n in self.names]

    def _num_sources(self) -> int:
        return len(self._photos)

    def _crop_source(self, i: int, rng: np.random.Generator | None) -> np.ndarray:
        if rng is None:
            return center_crop(self._photos[i], self.crop)
        return random_resized_crop(self._photos[i], self.crop, rng, self.scale, self.ratio)

    def __repr__(self) -> str:
        return f"SamplePhotos(names={self.names}, crop={self.crop}, train={self.train}, repeat={self.repeat})"


# ----------------------------------------------------------------------------------------------------------
# Imagenette
# ----------------------------------------------------------------------------------------------------------


def _check_member(member: tarfile.TarInfo, dest: Path) -> None:
    """Refuse members that would land outside ``dest``, links leaving it, and anything but files and folders."""
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and (":" in parts[0])) or ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path or '..'; refusing to extract")
    target = (dest / name).resolve()
    if not target.is_relative_to(dest):
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside {str(dest)!r}")
    if member.issym() or member.islnk():
        link = PurePosixPath(member.linkname.replace("\\", "/"))
        base = target.parent if member.issym() else dest
        if link.is_absolute() or not (base / link).resolve().is_relative_to(dest):
            raise UnsafeArchiveError(f"archive member {name!r} links outside the archive ({member.linkname!r})")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {name!r} is a device, FIFO or other special file; refusing")


def extract_tar_safely(archive, dest) -> Path:
    """Extract the tar archive ``archive`` (any compression) into the folder ``dest`` and return ``dest``.

    Every member is checked before anything is written: absolute paths, ``..`` components, paths that resolve
    outside ``dest``, links pointing outside ``dest`` and device or FIFO members raise
    :class:`UnsafeArchiveError`. Extraction then also uses tarfile's ``"data"`` filter where Python has it.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, dest)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(dest, members=members)
    return dest


def download_imagenette(root, size: str = "160px", url: str | None = None, known_hash=_OFFICIAL_HASH):
    """Download Imagenette (10 easy ImageNet classes) into ``root`` and return its (train, val) folders.

    The archive is fetched with pooch (hash-checked, kept in ``root`` as a cache, with a progress bar), then
    extracted with :func:`extract_tar_safely` into a temporary folder that is renamed into place when complete.
    A later call with the same archive name and hash finds the extracted folder and downloads and extracts
    nothing, even if the archive has been deleted since; an interrupted extraction leaves no folder behind.

    Args:
        root: folder for the archive and the extracted images (created if missing).
        size: ``"160px"``, ``"320px"`` (shorter side) or ``"full"``; see :data:`IMAGENETTE_ARCHIVES`.
        url: another location of an archive with the same layout (``<name>/train``, ``<name>/val``, where
            ``<name>`` is the archive's file name without ``.tgz``). Requires ``known_hash``.
        known_hash: the archive's hash as pooch expects it (``"sha256:…"``, ``"md5:…"``); defaults to the
            hash pinned for ``size``; ``None`` skips the check (only allowed explicitly).

    Returns:
        (train_dir, val_dir): ``pathlib.Path`` folders of JPEG files in one sub-folder per class, ready for
        :class:`ImageFolder`.
    """
    import pooch

    if url is None:
        if size not in IMAGENETTE_ARCHIVES:
            raise ValueError(f"size must be one of {', '.join(IMAGENETTE_ARCHIVES)}; got {size!r}")
        url, official_hash = IMAGENETTE_ARCHIVES[size]
        if known_hash is _OFFICIAL_HASH:
            known_hash = official_hash
    elif known_hash is _OFFICIAL_HASH:
        raise ValueError("known_hash: give the hash of the archive at url (or None to skip the check)")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive_name = url.rstrip("/").rsplit("/", 1)[-1]
    folder_name = archive_name
    for suffix in (".tgz", ".tar.gz", ".tar"):
        if folder_name.endswith(suffix):
            folder_name = folder_name[: -len(suffix)]
            break
    folder = root / folder_name
    marker = folder / ".extracted"
    stamp = f"{archive_name}\n{known_hash}\n"
    if not (marker.is_file() and marker.read_text() == stamp):
        archive = pooch.retrieve(url, known_hash=known_hash, fname=archive_name, path=root, progressbar=True)
        staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=root))
        try:
            extract_tar_safely(archive, staging)
            extracted = staging / folder_name
            if not extracted.is_dir():
                raise ValueError(f"archive {archive_name!r} has no top-level folder {folder_name!r}")
            (extracted / ".extracted").write_text(stamp)
            if folder.exists():
                shutil.rmtree(folder)
            extracted.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    train_dir, val_dir = folder / "train", folder / "val"
    for split in (train_dir, val_dir):
        if not split.is_dir():
            raise ValueError(f"archive {archive_name!r} has no folder {split.relative_to(root).as_posix()!r}")
    return train_dir, val_dir
