"""Resize a folder of photos once before training: ``colorlab prepare SRC DST --short-side 256``.

Training decodes every photo again in every epoch, and decoding a large JPEG costs far more than the
176 × 176 crop needs: a GPU then waits for its loader. Resizing the folder once makes every later decode cheap.
What :func:`prepare_folder` does, exactly:

* **Which files**: every image file under ``src``, recursively (:func:`colorlab.data.list_images`: found by
  extension, sorted by path).
* **Decoding**: as training decodes (:func:`colorlab.data.load_rgb`): the EXIF orientation is applied,
  transparency is composited on white, 16-bit and CMYK images are converted to 8-bit sRGB, the first frame of
  a multi-frame file is used.
* **Size**: an image whose shorter side is longer than ``short_side`` is resized so that its shorter side is
  exactly ``short_side`` and its longer side keeps the aspect ratio (rounded to the nearest pixel), with
  Pillow's Lanczos filter (antialiased). Smaller images keep their size: nothing is upscaled.
* **Output**: a baseline JPEG of quality :data:`JPEG_QUALITY` (Pillow's scale) with 4:2:0 chroma subsampling (as
  most camera and ImageNet JPEGs have) and no metadata, at the same relative path under ``dst`` with the
  extension ``.jpg``. When two sources of one folder differ only in their extension (``a.png``, ``a.jpg``), the
  one that is not a JPEG keeps its extension in the name (``a.png.jpg``). Each file is written atomically, so
  an interrupted run leaves only complete files.
* **Bad files**: files that cannot be decoded are skipped, counted and listed in the report.
* **Re-runs**: an output that exists, is at least as new as its source, has the size this run would give and
  was written at this run's ``quality`` is left alone. The quality is read from the output itself: its JPEG
  quantisation tables, which Pillow makes different for each quality from 1 to 95 (:func:`jpeg_tables`), so no
  record beside the outputs can go stale. A re-run therefore finishes an interrupted one and otherwise changes
  nothing; a changed source, another ``short_side`` or another ``quality`` is prepared again. Outputs whose source
  has gone are not deleted.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import io
import multiprocessing
import os
from pathlib import Path

from PIL import Image
from tqdm.auto import tqdm

from ._atomic import atomic_write, writable_folder
from .data import UnreadableImageError, list_images, load_rgb, probe_image

#: The shorter side of prepared images, in pixels (``--short-side``).
SHORT_SIDE = 256
#: JPEG quality of prepared images (Pillow's 1–95 scale; its default is 75).
JPEG_QUALITY = 95
_JPEG_SUFFIXES = (".jpg", ".jpeg")


@dataclasses.dataclass
class PrepareReport:
    """What :func:`prepare_folder` did: files written, files already up to date, and files skipped (with why)."""

    written: int = 0
    up_to_date: int = 0
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (relative path, reason)


def target_size(width: int, height: int, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """The size an image of ``width`` × ``height`` is prepared to: shorter side ``short_side`` when it is longer.

    >>> target_size(500, 375), target_size(375, 500), target_size(200, 100)
    ((341, 256), (256, 341), (200, 100))
    """
    shorter = min(width, height)
    if shorter <= short_side:
        return width, height
    return (short_side, round(height * short_side / width)) if width == shorter else (
        round(width * short_side / height), short_side)


def output_names(relative: list[str]) -> dict[str, str]:
    """Map relative source paths to relative output paths with the extension ``.jpg`` (module docstring)."""
    stems = collections.Counter(os.path.splitext(name)[0] for name in relative)
    names = {}
    for name in relative:
        stem, suffix = os.path.splitext(name)
        unique = stems[stem] == 1 or suffix.lower() in _JPEG_SUFFIXES
        names[name] = f"{stem if unique else name}.jpg"
    clashes = [n for n, count in collections.Counter(names.values()).items() if count > 1]
    if clashes:  # a.jpg and a.jpeg in one folder
        raise ValueError(f"src: several images would be written to {sorted(clashes)[:3]}; rename them")
    return names


def _tables(image: Image.Image) -> tuple[tuple[int, ...], ...]:
    """The quantisation tables of an open JPEG, in table order (none for another format)."""
    return tuple(tuple(table) for _, table in sorted(getattr(image, "quantization", {}).items()))


@functools.lru_cache(maxsize=None)
def jpeg_tables(quality: int) -> tuple[tuple[int, ...], ...]:
    """The quantisation tables of the JPEGs that Pillow writes at ``quality`` (1–95): each quality has its own, so
    a prepared file's tables say which quality wrote it."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="JPEG", quality=quality, subsampling="4:2:0")
    with Image.open(buffer) as image:
        return _tables(image)


def _up_to_date(src: Path, dst: Path, short_side: int, quality: int) -> bool:
    """``dst`` is as new as ``src``, of the size it is prepared to, and a JPEG written at ``quality``."""
    try:
        if dst.stat().st_mtime < src.stat().st_mtime:
            return False
        with Image.open(dst) as image:
            size, tables = image.size, _tables(image)
        return tables == jpeg_tables(quality) and sorted(size) == sorted(target_size(*probe_image(src), short_side))
    except (OSError, UnreadableImageError, Image.DecompressionBombError):
        return False


def _prepare_one(task: tuple[Path, Path, int, int]) -> str | None:
    """Prepare one file; returns None when done (or already up to date), else why it was skipped."""
    src, dst, short_side, quality = task
    if _up_to_date(src, dst, short_side, quality):
        return "up to date"
    try:
        image = Image.fromarray(load_rgb(src))
    except (UnreadableImageError, OSError) as error:
        return f"unreadable: {error}"
    size = target_size(*image.size, short_side)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dst, lambda f: image.save(f, format="JPEG", quality=quality, subsampling="4:2:0"))
    return None


def prepare_folder(src, dst, short_side: int = SHORT_SIDE, *, quality: int = JPEG_QUALITY,
                   workers: int | None = None, progress: bool = True) -> PrepareReport:
    """Resize every image under ``src`` into ``dst`` as the module docstring says; return a :class:`PrepareReport`.

    Args:
        src: the folder of photos (searched recursively).
        dst: the output folder (created when missing); it must not be ``src`` or lie inside it.
        short_side: the shorter side of the outputs in pixels (images already smaller keep their size).
        quality: JPEG quality, 1–95.
        workers: processes that decode, resize and encode in parallel; None: the CPU cores available; 0 or 1:
            this process.
        progress: show a progress bar.

    Raises:
        FileNotFoundError, NotADirectoryError: ``src`` is missing or not a folder.
        colorlab.data.NoImagesError: ``src`` holds no image file.
        ValueError: a bad argument, or ``dst`` inside ``src``.
    """
    if isinstance(short_side, bool) or not isinstance(short_side, int) or short_side < 1:
        raise ValueError(f"short_side must be a positive int; got {short_side!r}")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 95:
        raise ValueError(f"quality must be an int in [1, 95]; got {quality!r}")
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    paths = list_images(src)
    if dst.resolve() == src.resolve() or dst.resolve().is_relative_to(src.resolve()):
        raise ValueError(f"dst {str(dst)!r} lies inside src {str(src)!r}: choose a folder outside it")
    writable_folder(dst)
    relative = [p.relative_to(src).as_posix() for p in paths]
    names = output_names(relative)
    tasks = [(src / r, dst / names[r], short_side, quality) for r in relative]
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    report = PrepareReport()
    with multiprocessing.Pool(workers) if workers > 1 else _InProcess() as pool:
        results = pool.imap(_prepare_one, tasks, chunksize=8)
        for name, outcome in zip(relative, tqdm(results, total=len(tasks), desc="preparing", unit="image",
                                                disable=not progress)):
            if outcome is None:
                report.written += 1
            elif outcome == "up to date":
                report.up_to_date += 1
            else:
                report.skipped.append((name, outcome))
    return report


class _InProcess:
    """The part of ``multiprocessing.Pool`` that :func:`prepare_folder` uses, run in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    @staticmethod
    def imap(fn, tasks, chunksize=1):
        return map(fn, tasks)
