"""Tests of colorlab.data: decoding every common image format, crops, datasets, loaders and the download.

Every image file used here is written by the test itself with Pillow (or, for 16-bit colour PNG, by a small
PNG writer below), in pytest's temporary folder.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import struct
import tarfile
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, features

from colorlab import data
from colorlab.data import (
    ImageFolder,
    NoImagesError,
    SamplePhotos,
    SkippedImageWarning,
    UnreadableImageError,
    UnsafeArchiveError,
    center_crop,
    download_imagenette,
    extract_tar_safely,
    list_images,
    load_rgb,
    probe_image,
    random_crop_box,
    random_hflip,
    random_resized_crop,
)
from colorlab.samples import sample_photo


def gradient_rgb(height: int = 24, width: int = 32) -> np.ndarray:
    """A uint8 (H, W, 3) image whose pixels differ from each other, so crops and flips are visible."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], -1).astype(
        np.uint8
    )


def write_png16_rgb(path: Path, rgb16: np.ndarray) -> None:
    """Write a 16-bit-per-channel RGB PNG (Pillow cannot create one), following the PNG specification."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    height, width, _ = rgb16.shape
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + rgb16[row].astype(">u2").tobytes() for row in range(height))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def write_truncated_jpeg(path: Path) -> None:
    """A JPEG whose header is intact but which holds only the first half of its bytes."""
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    whole = buffer.getvalue()
    path.write_bytes(whole[: len(whole) // 2])


# ------------------------------------------------------------------------------------------------ list_images


def test_list_images_is_recursive_sorted_and_case_insensitive(tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    names = ["b/deep/z.JPEG", "a/y.png", "a/x.JpG", "c.webp", "d.bmp", "e.TIF", "f.tiff", "g.jpeg"]
    for name in names + ["notes.txt", "a/readme.md", "b/model.pt"]:
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == sorted(names)


def test_list_images_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        list_images(tmp_path / "file.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoImagesError, match="no image files"):
        list_images(empty)
    (empty / "notes.txt").write_text("not an image")
    with pytest.raises(NoImagesError):
        list_images(empty)


# ----------------------------------------------------------------------------------------------------- load_rgb


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("BMP", ".bmp"), ("TIFF", ".tif"), ("WEBP", ".webp")])
def test_lossless_formats_round_trip(tmp_path, fmt, suffix):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    rgb = gradient_rgb()
    path = tmp_path / f"image{suffix}"
    options = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(rgb).save(path, fmt, **options)
    out = load_rgb(path)
    assert out.dtype == np.uint8 and out.shape == rgb.shape and out.flags.c_contiguous
    np.testing.assert_array_equal(out, rgb)


def test_jpeg_decodes_close_to_the_original(tmp_path):
    rgb = gradient_rgb()
    Image.fromarray(rgb).save(tmp_path / "image.jpg", quality=95)
    out = load_rgb(tmp_path / "image.jpg")
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 4


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = (200, 40, 0)
    rgba[..., 3] = [[0, 255, 128], [255, 0, 51]]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    out = load_rgb(tmp_path / "rgba.png").astype(int)
    alpha = rgba[..., 3:].astype(int)
    expected = np.rint((rgba[..., :3].astype(int) * alpha + 255 * (255 - alpha)) / 255)
    np.testing.assert_allclose(out, expected, atol=1)
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])  # fully transparent → white
    np.testing.assert_array_equal(out[0, 1], [200, 40, 0])  # opaque → its colour


def test_palette_with_transparent_entry(tmp_path):
    index = np.array([[0, 1], [2, 1]], np.uint8)
    image = Image.fromarray(index, "P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * (253 * 3))
    image.save(tmp_path / "palette.png", transparency=0)
    assert Image.open(tmp_path / "palette.png").mode == "P"
    out = load_rgb(tmp_path / "palette.png")
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])  # the transparent entry (black) → white
    np.testing.assert_array_equal(out[0, 1], [255, 0, 0])
    np.testing.assert_array_equal(out[1, 0], [0, 0, 255])


def test_palette_without_transparency(tmp_path):
    quantized = Image.fromarray(gradient_rgb(8, 8)).quantize(16)
    quantized.save(tmp_path / "quantized.png")
    assert Image.open(tmp_path / "quantized.png").mode == "P"
    out = load_rgb(tmp_path / "quantized.png")
    palette = np.array(quantized.getpalette(), np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(out, palette[np.asarray(quantized)])


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path, suffix):
    values = np.array([[0, 257, 1000, 32768], [40000, 65280, 65534, 65535]], np.uint16)
    path = tmp_path / f"gray16{suffix}"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    out = load_rgb(path)
    expected = np.rint(values.astype(np.float64) * 255 / 65535).astype(np.uint8)
    np.testing.assert_array_equal(out[..., 0], expected)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    assert out[0, 3, 0] == 128  # mid-gray stays mid-gray (clipping would give 255)


def test_16_bit_colour_png(tmp_path):
    rgb16 = (gradient_rgb(6, 7).astype(np.uint16) * 257).astype(np.uint16)  # v · 257 is v in 16 bits
    rgb16[0, 0] = (65535, 0, 32896)
    write_png16_rgb(tmp_path / "rgb16.png", rgb16)
    out = load_rgb(tmp_path / "rgb16.png")
    np.testing.assert_allclose(out.astype(int), np.rint(rgb16 / 257), atol=1)


def test_cmyk(tmp_path):
    cmyk = np.array([[[0, 0, 0, 0], [255, 0, 0, 0]], [[0, 0, 255, 0], [0, 0, 0, 255]]], np.uint8)
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "cmyk.tif")
    out = load_rgb(tmp_path / "cmyk.tif")
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])  # no ink: white
    np.testing.assert_array_equal(out[0, 1], [0, 255, 255])  # cyan
    np.testing.assert_array_equal(out[1, 0], [255, 255, 0])  # yellow
    np.testing.assert_array_equal(out[1, 1], [0, 0, 0])  # black
    flat = np.zeros((16, 16, 4), np.uint8)
    flat[..., 1] = 255  # magenta
    Image.fromarray(flat, "CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    out = load_rgb(tmp_path / "cmyk.jpg").astype(int)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), [255, 0, 255], atol=6)


def test_grayscale_modes(tmp_path):
    gray = (np.arange(12, dtype=np.uint8).reshape(3, 4) * 20).astype(np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    out = load_rgb(tmp_path / "gray.png")
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)

    la = np.stack([gray, np.where(gray > 100, 255, 0).astype(np.uint8)], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    out = load_rgb(tmp_path / "la.png")
    np.testing.assert_array_equal(out[..., 0], np.where(gray > 100, gray, 255))

    bits = np.array([[True, False], [False, True]])
    Image.fromarray(bits).convert("1").save(tmp_path / "bits.png")
    assert Image.open(tmp_path / "bits.png").mode == "1"
    out = load_rgb(tmp_path / "bits.png")
    np.testing.assert_array_equal(out[..., 1], np.where(bits, 255, 0))


def test_exif_orientation_is_applied(tmp_path):
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :20] = (255, 0, 0)  # left half red
    rgb[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned, rotate 90° clockwise to display
    Image.fromarray(rgb).save(tmp_path / "turned.jpg", quality=95, exif=exif)
    out = load_rgb(tmp_path / "turned.jpg").astype(int)
    assert out.shape == (40, 20, 3)
    # rotating clockwise puts the left half (red) on top
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 60


def _smooth(height: int, width: int, seed: int = 0) -> np.ndarray:
    coarse = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))


@pytest.mark.parametrize("suffix, size", [(".png", 32), (".jpg", 64)])  # no JPEG region twice the crop: no draft
def test_load_crop_cuts_the_same_region_as_a_full_decode(tmp_path, suffix, size):
    Image.fromarray(_smooth(90, 120)).save(tmp_path / f"photo{suffix}")
    path = tmp_path / f"photo{suffix}"
    for seed in range(5):
        expected = random_resized_crop(load_rgb(path), size, np.random.default_rng(seed))
        np.testing.assert_array_equal(data.load_crop(path, size, np.random.default_rng(seed)), expected)
    np.testing.assert_array_equal(data.load_crop(path, size), center_crop(load_rgb(path), size))


def test_load_crop_decodes_large_jpegs_at_a_reduced_size(tmp_path, monkeypatch):
    """A JPEG 8 times larger than its crop's region needs is decoded at 1/8: the crop hardly changes."""
    Image.fromarray(_smooth(1200, 1600)).save(tmp_path / "big.jpg", quality=95)
    from PIL import JpegImagePlugin

    drafts = []
    real_draft = JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft",
                        lambda im, mode, size: drafts.append(size) or real_draft(im, mode, size))
    for seed in range(3):
        crop = data.load_crop(tmp_path / "big.jpg", 64, np.random.default_rng(seed))
        full = random_resized_crop(load_rgb(tmp_path / "big.jpg"), 64, np.random.default_rng(seed))
        assert crop.shape == (64, 64, 3) and np.abs(crop.astype(int) - full).mean() < 3
    assert drafts and all(size[0] <= 1600 // 4 for size in drafts), "decoded at 1/4 or 1/8 of its size"
    drafts.clear()
    data.load_crop(tmp_path / "big.jpg", 700, np.random.default_rng(0))  # a crop as large as the image: no draft
    assert not drafts


def test_load_crop_applies_the_exif_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(_smooth(600, 800)).save(tmp_path / "turned.jpg", quality=95, exif=exif)
    upright = load_rgb(tmp_path / "turned.jpg")
    assert upright.shape == (800, 600, 3)
    for rng in (None, np.random.default_rng(1)):
        expected = (center_crop(upright, 48) if rng is None else
                    random_resized_crop(upright, 48, np.random.default_rng(1)))
        assert np.abs(data.load_crop(tmp_path / "turned.jpg", 48, rng).astype(int) - expected).mean() < 3


def test_load_crop_errors(tmp_path):
    write_truncated_jpeg(tmp_path / "truncated.jpg")
    with pytest.raises(UnreadableImageError, match="truncated.jpg"):
        data.load_crop(tmp_path / "truncated.jpg", 16)
    with pytest.raises(FileNotFoundError):
        data.load_crop(tmp_path / "missing.jpg", 16)


def test_unreadable_files_raise_a_clear_error(tmp_path):
    write_truncated_jpeg(tmp_path / "truncated.jpg")
    (tmp_path / "text.jpg").write_text("this is not a JPEG\n" * 20)
    (tmp_path / "empty.png").write_bytes(b"")
    probe_image(tmp_path / "truncated.jpg")  # the header alone is fine
    with pytest.raises(UnreadableImageError, match="truncated.jpg"):
        load_rgb(tmp_path / "truncated.jpg")
    for name in ("text.jpg", "empty.png"):
        with pytest.raises(UnreadableImageError, match=name):
            load_rgb(tmp_path / name)
        with pytest.raises(UnreadableImageError):
            probe_image(tmp_path / name)
    assert issubclass(UnreadableImageError, ValueError)
    with pytest.raises(FileNotFoundError):
        load_rgb(tmp_path / "missing.png")


def test_decompression_bombs_are_refused(tmp_path, monkeypatch):
    Image.fromarray(gradient_rgb(12, 12)).save(tmp_path / "medium.png")  # 144 pixels: warning range
    Image.fromarray(gradient_rgb(30, 30)).save(tmp_path / "large.png")  # 900 pixels: error range
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    for name in ("medium.png", "large.png"):
        with pytest.raises(UnreadableImageError, match="(?i)decompression"):
            load_rgb(tmp_path / name)
        with pytest.raises(UnreadableImageError):
            probe_image(tmp_path / name)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    assert load_rgb(tmp_path / "large.png").shape == (30, 30, 3)


# -------------------------------------------------------------------------------------------------------- crops


def test_center_crop_keeps_the_middle():
    rgb = np.zeros((100, 300, 3), np.uint8)
    rgb[:, :100] = (255, 0, 0)
    rgb[:, 100:200] = (0, 255, 0)
    rgb[:, 200:] = (0, 0, 255)
    out = center_crop(rgb, 50)
    assert out.shape == (50, 50, 3) and out.dtype == np.uint8
    # Resampling the box is resampling the whole image then cropping: the outermost columns see a little of
    # their neighbours outside the box.
    np.testing.assert_array_equal(out[:, 2:-2], np.broadcast_to(np.array([0, 255, 0], np.uint8), (50, 46, 3)))
    assert out[:, :, 1].min() > 200
    tall = np.ascontiguousarray(rgb.transpose(1, 0, 2))
    np.testing.assert_array_equal(center_crop(tall, 50), out.transpose(1, 0, 2))


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 3, 3), (3, 200, 3), (40, 30, 3)])
def test_crops_of_small_images_are_upscaled(shape):
    rgb = np.full(shape, 77, np.uint8)
    rng = np.random.default_rng(1)
    for out in (center_crop(rgb, 64), random_resized_crop(rgb, 64, rng)):
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
        assert (out == 77).all()


def test_random_crop_box_stays_inside_and_follows_scale_and_ratio():
    rng = np.random.default_rng(0)
    height, width = 120, 160
    areas = []
    for _ in range(500):
        left, top, right, bottom = random_crop_box(height, width, rng, scale=(0.35, 1.0), ratio=(3 / 4, 4 / 3))
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        w, h = right - left, bottom - top
        assert 3 / 4 - 0.03 <= w / h <= 4 / 3 + 0.03
        areas.append(w * h / (height * width))
    assert min(areas) >= 0.35 - 0.02
    assert max(areas) > 0.9 and min(areas) < 0.45  # the whole range is used
    # An extreme panorama falls back to the largest central box of an allowed ratio.
    left, top, right, bottom = random_crop_box(10, 1000, rng, scale=(0.9, 1.0))
    assert (bottom - top, right - left) == (10, 13) and left == (1000 - 13) // 2


def test_random_resized_crop_is_reproducible_and_varies():
    rgb = gradient_rgb(60, 80)
    first = random_resized_crop(rgb, 32, np.random.default_rng(7))
    again = random_resized_crop(rgb, 32, np.random.default_rng(7))
    other = random_resized_crop(rgb, 32, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_random_hflip():
    rgb = gradient_rgb(4, 6)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(random_hflip(rgb, rng, p=1.0), rgb[:, ::-1])
    np.testing.assert_array_equal(random_hflip(rgb, rng, p=0.0), rgb)
    flips = sum(not np.array_equal(random_hflip(rgb, rng), rgb) for _ in range(400))
    assert 150 < flips < 250


def test_crop_arguments_are_validated():
    rgb = gradient_rgb(8, 8)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="rgb"):
        center_crop(rgb.astype(np.float32), 4)
    with pytest.raises(TypeError, match="rgb"):
        center_crop(torch.zeros(8, 8, 3, dtype=torch.uint8), 4)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        center_crop(rgb[..., 0], 4)
    with pytest.raises(ValueError, match="size"):
        random_resized_crop(rgb, 0, rng)
    with pytest.raises(TypeError, match="rng"):
        random_resized_crop(rgb, 4, 0)
    with pytest.raises(ValueError, match="scale"):
        random_resized_crop(rgb, 4, rng, scale=(0.0, 1.0))


# --------------------------------------------------------------------------------------------------- datasets


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    """A nested folder: 5 readable images in 5 formats, a truncated JPEG, a text file named .jpg, a .txt."""
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(gradient_rgb(40, 50)).save(root / "a.png")
    Image.fromarray(gradient_rgb(30, 30)).save(root / "sub" / "b.jpg")
    Image.fromarray(gradient_rgb(9, 7)).save(root / "sub" / "deeper" / "small.bmp")  # smaller than any crop
    rgba = np.dstack([gradient_rgb(20, 20), np.full((20, 20), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "sub" / "c.png")
    Image.fromarray((np.arange(400, dtype=np.uint16).reshape(20, 20) * 150)).save(root / "d.tif")
    write_truncated_jpeg(root / "sub" / "e_truncated.jpg")
    (root / "f_text.jpg").write_text("not an image at all\n")
    (root / "notes.txt").write_text("ignored")
    return root


def test_image_folder_skips_and_counts_unreadable_files(mixed_folder):
    with pytest.warns(SkippedImageWarning, match="f_text.jpg"):
        dataset = ImageFolder(mixed_folder, crop=32)
    assert len(dataset) == 6  # the truncated JPEG passes the header check
    assert dataset.num_skipped == 1
    with pytest.warns(SkippedImageWarning, match="e_truncated.jpg"):
        items = [dataset[i] for i in range(len(dataset))]
    for item in items:
        assert item.dtype == torch.uint8 and item.shape == (3, 32, 32)
    assert [p.relative_to(mixed_folder).as_posix() for p in dataset.skipped] == ["f_text.jpg", "sub/e_truncated.jpg"]
    assert dataset.num_skipped == 2
    # The truncated file's item was replaced by the next readable file's image, not dropped.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known failures are not retried
        assert dataset[5].shape == (3, 32, 32)


def test_full_verification_finds_truncated_files_at_construction(mixed_folder):
    with pytest.warns(SkippedImageWarning):
        dataset = ImageFolder(mixed_folder, crop=16, verify="full")
    assert len(dataset) == 5
    assert sorted(p.name for p in dataset.skipped) == ["e_truncated.jpg", "f_text.jpg"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(len(dataset)):
            dataset[i]
    unchecked = ImageFolder(mixed_folder, crop=16, verify="none")
    assert len(unchecked) == 7 and unchecked.num_skipped == 0
    with pytest.warns(SkippedImageWarning):
        for i in range(len(unchecked)):
            assert unchecked[i].shape == (3, 16, 16)
    assert sorted(p.name for p in unchecked.skipped) == ["e_truncated.jpg", "f_text.jpg"]


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        ImageFolder(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoImagesError):
        ImageFolder(empty)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in ("a.jpg", "b.png", "c.webp"):
        (corrupt / name).write_bytes(b"\x00garbage" * 10)
    with pytest.warns(SkippedImageWarning), pytest.raises(NoImagesError, match="none of the 3"):
        ImageFolder(corrupt)
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    for name in ("a.jpg", "b.jpg"):
        write_truncated_jpeg(truncated / name)
    dataset = ImageFolder(truncated, crop=8)  # headers are fine
    with pytest.warns(SkippedImageWarning), pytest.raises(NoImagesError, match="no readable image left"):
        dataset[0]
    assert dataset.num_skipped == 2
    with pytest.raises(ValueError, match="verify"):
        ImageFolder(truncated, verify="maybe")
    with pytest.raises(ValueError, match="crop"):
        ImageFolder(truncated, crop=0)


@pytest.mark.filterwarnings("ignore::colorlab.data.SkippedImageWarning")
def test_image_folder_is_deterministic_and_varies_by_seed_epoch_and_copy(mixed_folder):
    with pytest.warns(SkippedImageWarning):
        first = ImageFolder(mixed_folder, crop=24, seed=3, repeat=2)
        second = ImageFolder(mixed_folder, crop=24, seed=3, repeat=2)
        other_seed = ImageFolder(mixed_folder, crop=24, seed=4, repeat=2)
    assert len(first) == 12
    torch.testing.assert_close(first[0], second[0], rtol=0, atol=0)
    assert not torch.equal(first[0], other_seed[0])
    assert not torch.equal(first[0], first[6])  # the second copy of the same file gets its own crop
    epoch0 = first[0]
    first.set_epoch(1)
    assert not torch.equal(first[0], epoch0)
    first.set_epoch(0)
    torch.testing.assert_close(first[0], epoch0, rtol=0, atol=0)
    assert torch.equal(first[-12], first[0])
    with pytest.raises(IndexError):
        first[12]
    assert len([item for item in first]) == 12  # plain iteration stops at IndexError


def test_evaluation_items_are_central_crops(mixed_folder):
    with pytest.warns(SkippedImageWarning):
        dataset = ImageFolder(mixed_folder, crop=20, train=False)
    expected = center_crop(load_rgb(dataset.paths[0]), 20)
    np.testing.assert_array_equal(dataset[0].permute(1, 2, 0).numpy(), expected)
    dataset.set_epoch(5)
    np.testing.assert_array_equal(dataset[0].permute(1, 2, 0).numpy(), expected)


def test_sample_photos():
    photos = SamplePhotos(crop=48, names=["chelsea", "coffee", "astronaut"], exclude=["coffee"], seed=1)
    assert photos.names == ("chelsea", "astronaut") and len(photos) == 2
    item = photos[1]
    assert item.dtype == torch.uint8 and item.shape == (3, 48, 48)
    assert not torch.equal(photos[0], SamplePhotos(crop=48, names=["chelsea"], seed=2)[0])
    evaluation = SamplePhotos(crop=48, train=False, names=["chelsea"])
    np.testing.assert_array_equal(evaluation[0].permute(1, 2, 0).numpy(), center_crop(sample_photo("chelsea"), 48))
    assert len(SamplePhotos(crop=8, repeat=4, names=["rocket"])) == 4
    with pytest.raises(ValueError, match="unknown sample photos"):
        SamplePhotos(names=["lena"])
    with pytest.raises(NoImagesError):
        SamplePhotos(names=["rocket"], exclude=["rocket"])
    with pytest.raises(TypeError):
        SamplePhotos(names="rocket")


def _batches(dataset, num_workers, context=None):
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=4, shuffle=False, num_workers=num_workers, multiprocessing_context=context
    )
    return list(loader)


def test_data_loader_with_workers_gives_uint8_batches_and_counts_skips(mixed_folder):
    with pytest.warns(SkippedImageWarning):
        dataset = ImageFolder(mixed_folder, crop=32, seed=5, repeat=2)
    assert dataset.num_skipped == 1
    batches = _batches(dataset, num_workers=2)
    assert [tuple(b.shape) for b in batches] == [(4, 3, 32, 32)] * 3
    assert all(b.dtype == torch.uint8 for b in batches)
    # The truncated JPEG was found inside a worker; the parent process sees it.
    assert sorted(p.name for p in dataset.skipped) == ["e_truncated.jpg", "f_text.jpg"]
    # The same crops as without workers: they depend on (seed, epoch, index) only.
    torch.testing.assert_close(torch.cat(batches), torch.cat(_batches(dataset, 0)), rtol=0, atol=0)


@pytest.mark.slow
def test_data_loader_with_spawned_workers_counts_skips(mixed_folder):
    with pytest.warns(SkippedImageWarning):
        dataset = ImageFolder(mixed_folder, crop=16)
    batches = _batches(dataset, num_workers=2, context="spawn")
    assert sum(len(b) for b in batches) == 6
    assert dataset.num_skipped == 2


@pytest.mark.slow
def test_persistent_workers_see_every_new_epoch():
    """The epoch lives in shared memory: workers that persist across epochs crop with the current one."""
    photos = SamplePhotos(crop=16, names=["chelsea", "coffee"], repeat=2)
    loader = torch.utils.data.DataLoader(photos, batch_size=4, num_workers=1, persistent_workers=True)
    for epoch in (0, 1, 2):
        photos.set_epoch(epoch)
        batch = next(iter(loader))
        torch.testing.assert_close(batch, torch.stack([photos[i] for i in range(4)]), rtol=0, atol=0)
        assert photos.epoch == epoch
    photos.set_epoch(0)
    assert not torch.equal(batch, torch.stack([photos[i] for i in range(4)]))


def test_sample_photos_through_a_data_loader():
    loader = torch.utils.data.DataLoader(SamplePhotos(crop=40, repeat=2), batch_size=8, num_workers=2)
    batch = next(iter(loader))
    assert batch.dtype == torch.uint8 and batch.shape == (8, 3, 40, 40)


# ------------------------------------------------------------------------------------------------- Imagenette


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """Serve a folder over HTTP on 127.0.0.1; yields (folder, base url, list of requested paths)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    folder = tmp_path / "served"
    folder.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _add_bytes(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


def _image_bytes(fmt: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def make_imagenette_like(path: Path) -> str:
    """Write a tiny archive laid out like imagenette2-160.tgz; return its sha256."""
    with tarfile.open(path, "w:gz") as tar:
        for split, count in (("train", 3), ("val", 2)):
            for k in range(count):
                cls = f"n0{k % 2}"
                _add_bytes(tar, f"imagenette2-160/{split}/{cls}/{split}_{k}.JPEG", _image_bytes("JPEG", k))
        _add_bytes(tar, "imagenette2-160/val/n00/extra.png", _image_bytes("PNG", 9))
        _add_bytes(tar, "imagenette2-160/noisy_imagenette.csv", b"path,noisy_labels_0\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_imagenette_from_a_local_server(tmp_path, http_folder):
    folder, base, requests = http_folder
    sha256 = make_imagenette_like(folder / "imagenette2-160.tgz")
    root = tmp_path / "datasets"
    url = f"{base}/imagenette2-160.tgz"
    train_dir, val_dir = download_imagenette(root, url=url, known_hash=f"sha256:{sha256}")
    assert train_dir == root / "imagenette2-160" / "train" and val_dir == root / "imagenette2-160" / "val"
    assert [p.name for p in list_images(train_dir)] == ["train_0.JPEG", "train_2.JPEG", "train_1.JPEG"]
    assert len(list_images(val_dir)) == 3
    assert len(ImageFolder(val_dir, crop=8)) == 3
    assert requests == ["/imagenette2-160.tgz"]
    assert not [p for p in root.iterdir() if p.name.startswith(".extracting")]
    marker = root / "imagenette2-160" / ".extracted"
    stamp = marker.stat().st_mtime_ns
    # Cached: no second request, no second extraction.
    assert download_imagenette(root, url=url, known_hash=f"sha256:{sha256}") == (train_dir, val_dir)
    assert requests == ["/imagenette2-160.tgz"]
    assert marker.stat().st_mtime_ns == stamp
    (root / "imagenette2-160.tgz").unlink()  # the extracted folder is enough
    assert download_imagenette(root, url=url, known_hash=f"sha256:{sha256}") == (train_dir, val_dir)
    assert requests == ["/imagenette2-160.tgz"]
    # Another hash means another archive: it is fetched and checked again.
    with pytest.raises(ValueError, match="(?i)hash"):
        download_imagenette(root, url=url, known_hash="sha256:" + "1" * 64)
    assert requests == ["/imagenette2-160.tgz"] * 2


def test_download_imagenette_rejects_a_wrong_hash(tmp_path, http_folder):
    folder, base, _ = http_folder
    make_imagenette_like(folder / "imagenette2-160.tgz")
    root = tmp_path / "datasets"
    with pytest.raises(ValueError, match="(?i)hash"):
        download_imagenette(root, url=f"{base}/imagenette2-160.tgz", known_hash="sha256:" + "0" * 64)
    assert not (root / "imagenette2-160").exists()


def test_download_imagenette_refuses_an_archive_escaping_its_folder(tmp_path, http_folder):
    folder, base, _ = http_folder
    archive = folder / "imagenette2-160.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        _add_bytes(tar, "imagenette2-160/train/n00/ok.png", _image_bytes("PNG", 0))
        _add_bytes(tar, "../evil", b"written outside\n")
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = tmp_path / "deep" / "datasets"
    with pytest.raises(UnsafeArchiveError, match=r"\.\./evil"):
        download_imagenette(root, url=f"{base}/imagenette2-160.tgz", known_hash=sha256)
    assert not (tmp_path / "deep" / "evil").exists() and not (root / "evil").exists()
    assert not (root / "imagenette2-160").exists()


def test_download_imagenette_arguments(tmp_path):
    with pytest.raises(ValueError, match="size"):
        download_imagenette(tmp_path, size="80px")
    with pytest.raises(ValueError, match="known_hash"):
        download_imagenette(tmp_path, url="http://127.0.0.1:9/x.tgz")
    assert data.IMAGENETTE_ARCHIVES["160px"][0] == "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"


def _tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, payload in members:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def _info(name: str, kind=tarfile.REGTYPE, linkname: str = "", size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, size
    return info


@pytest.mark.parametrize(
    "member",
    [
        _info("/tmp/absolute.txt"),
        _info("top/../../escape.txt"),
        _info("top/link", tarfile.SYMTYPE, "/etc/passwd"),
        _info("top/link", tarfile.SYMTYPE, "../../outside"),
        _info("top/hard", tarfile.LNKTYPE, "../outside"),
        _info("top/device", tarfile.CHRTYPE),
        _info("top/fifo", tarfile.FIFOTYPE),
    ],
    ids=["absolute", "dotdot", "symlink-absolute", "symlink-up", "hardlink-up", "device", "fifo"],
)
def test_extract_tar_safely_refuses_dangerous_members(tmp_path, member):
    archive = _tar_with(tmp_path / "bad.tar", (_info("top/ok.txt", size=2), b"ok"), (member, None))
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError):
        extract_tar_safely(archive, dest)
    assert not (dest / "top" / "ok.txt").exists()  # nothing is written before every member is checked


def test_extract_tar_safely_allows_links_inside(tmp_path):
    archive = _tar_with(
        tmp_path / "good.tar",
        (_info("top/ok.txt", size=2), b"ok"),
        (_info("top/again.txt", tarfile.SYMTYPE, "ok.txt"), None),
    )
    dest = extract_tar_safely(archive, tmp_path / "out")
    assert (dest / "top" / "again.txt").read_text() == "ok"


# ------------------------------------------------------------------------------- odd files, limits, ranges


def test_float_and_32_bit_tiffs_are_scaled_not_whitened(tmp_path):
    ramp = np.linspace(0.0, 1.0, 64)[None].repeat(4, axis=0)
    expected = np.rint(ramp * 255).astype(np.uint8)
    cases = {"f1.tif": Image.fromarray(ramp.astype(np.float32), "F"),
             "f255.tif": Image.fromarray((ramp * 255).astype(np.float32), "F"),
             "i32.tif": Image.fromarray(np.rint(ramp * (2**31 - 1)).astype(np.int32), "I"),
             "i16.tif": Image.fromarray(np.rint(ramp * 65535).astype(np.int32), "I")}
    for name, image in cases.items():
        image.save(tmp_path / name)
        out = load_rgb(tmp_path / name)
        assert np.abs(out[..., 0].astype(int) - expected).max() <= 1, name
        assert (out == 255).mean() < 0.05, name
    Image.fromarray((ramp * 1000).astype(np.float32), "F").save(tmp_path / "f1000.tif")
    with pytest.raises(UnreadableImageError, match=r"span \[0, 1000\].*\[0, 1\] or \[0, 255\]"):
        load_rgb(tmp_path / "f1000.tif")
    Image.fromarray(np.full((4, 4), np.nan, np.float32), "F").save(tmp_path / "nan.tif")
    with pytest.raises(UnreadableImageError, match="NaN"):
        load_rgb(tmp_path / "nan.tif")


def test_links_fifos_and_devices_are_never_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "fifo.png")
    os.symlink("/dev/zero", tmp_path / "zero.png")
    os.symlink(tmp_path / "nonexistent.jpg", tmp_path / "dangling.jpg")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop.jpg")
    for read in (load_rgb, probe_image):
        with pytest.raises(UnreadableImageError, match="is a FIFO, not a regular file"):
            read(tmp_path / "fifo.png")
        with pytest.raises(UnreadableImageError, match="is a device, not a regular file"):
            read(tmp_path / "zero.png")
        with pytest.raises(FileNotFoundError, match="link to a missing file"):
            read(tmp_path / "dangling.jpg")
        with pytest.raises(FileNotFoundError, match="symbolic link loop"):
            read(tmp_path / "loop.jpg")


def test_the_pixel_limit_is_checked_from_the_header(tmp_path, monkeypatch):
    Image.fromarray(gradient_rgb(30, 40)).save(tmp_path / "a.png")
    assert load_rgb(tmp_path / "a.png", max_pixels=1200).shape == (30, 40, 3)
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded a photo over the limit"))
    for read in (load_rgb, probe_image):
        with pytest.raises(data.ImageTooLargeError, match=r"a.png.*1,200 pixels \(40 × 30\).*limit of 1,199"):
            read(tmp_path / "a.png", max_pixels=1199)
    assert issubclass(data.ImageTooLargeError, UnreadableImageError)


def test_list_images_reports_formats_it_does_not_read(tmp_path):
    for name in ("a.png", "b.gif", "sub/c.HEIC", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    unsupported = []
    assert list_images(tmp_path, unsupported) == [tmp_path / "a.png"]
    assert unsupported == [tmp_path / "b.gif", tmp_path / "sub" / "c.HEIC"]
    (tmp_path / "a.png").unlink()
    with pytest.raises(NoImagesError, match="found only 2 file"):
        list_images(tmp_path)
