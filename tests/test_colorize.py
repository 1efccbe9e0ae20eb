"""Tests of colorlab.colorize: full-resolution colorization and safe file output."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import lab_to_rgb, rgb_to_lab, sample_photo
from colorlab.colorize import (
    colorize_files,
    colorize_rgb,
    comparison_path,
    expand_inputs,
    gray_rgb,
    output_paths,
    save_image_atomic,
    side_by_side,
)
from colorlab.data import NoImagesError, SkippedImageWarning, UnreadableImageError
from colorlab.models import build_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("eccv16", 0.0625).eval()


def lab_of(rgb):
    return rgb_to_lab(torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].double() / 255)


def test_output_keeps_full_resolution_and_the_input_lightness(model):
    rgb = sample_photo("coffee")
    out = colorize_rgb(model, rgb, size=64)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    # L of the output is the input's L up to 8-bit rounding and gamut clipping
    l_in, l_out = lab_of(rgb)[0, 0], lab_of(out)[0, 0]
    assert (l_in - l_out).abs().median() < 0.5


def test_a_model_predicting_constant_ab_gives_that_colour(model):
    """With a regression model whose head outputs a fixed ab, every pixel gets that ab on the input's L."""
    regression = build_model("regression", 0.0625).eval()
    with torch.no_grad():
        regression.blocks.out.weight.zero_()
        regression.blocks.out.bias.copy_(torch.tensor([20.0, -30.0]) / 110.0)
    rgb = np.full((20, 30, 3), 128, np.uint8)
    out = colorize_rgb(regression, rgb, size=16)
    expected_lab = lab_of(rgb)
    expected_lab[:, 1] = 20.0
    expected_lab[:, 2] = -30.0
    expected = (lab_to_rgb(expected_lab)[0] * 255).round().permute(1, 2, 0).numpy().astype(np.uint8)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_grayscale_inputs_and_temperatures(model):
    gray = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (24, 1))
    assert colorize_rgb(model, gray, size=16).shape == (24, 40, 3)
    a = colorize_rgb(model, gray, T=1.0, size=16)
    b = colorize_rgb(model, gray, size=16, mode=True)
    assert a.shape == b.shape
    with pytest.raises(ValueError, match="T must be ≥ 0"):
        colorize_rgb(model, gray, T=-1.0, size=16)


def test_bad_inputs(model):
    with pytest.raises(TypeError, match="rgb"):
        colorize_rgb(model, np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="rgb"):
        colorize_rgb(model, np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(TypeError, match="model"):
        colorize_rgb(torch.nn.Linear(1, 1), np.zeros((8, 8, 3), np.uint8))


def test_gray_rgb_has_no_colour():
    grey = gray_rgb(sample_photo("chelsea"))
    lab = lab_of(grey)
    assert lab[0, 1:].abs().max() < 1.5  # 8-bit rounding only


def test_side_by_side():
    a, b = np.zeros((5, 4, 3), np.uint8), np.ones((5, 6, 3), np.uint8)
    out = side_by_side(a, b, gap=2)
    assert out.shape == (5, 12, 3) and (out[:, 4:6] == 255).all()
    with pytest.raises(ValueError, match="height"):
        side_by_side(a, np.zeros((6, 4, 3), np.uint8))


def write_png(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def test_save_image_atomic_round_trip_and_no_leftovers(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    path = save_image_atomic(rgb, tmp_path / "x.png")
    assert np.array_equal(np.asarray(Image.open(path)), rgb)
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]
    with pytest.raises(ValueError, match="format"):
        save_image_atomic(rgb, tmp_path / "x.unknown")
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_expand_inputs_files_folders_globs(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    write_png(tmp_path / "a.png", img)
    write_png(tmp_path / "sub" / "b.png", img)
    write_png(tmp_path / "sub" / "deeper" / "c.png", img)
    (tmp_path / "notes.txt").write_text("not an image")
    names = [name for _, name in expand_inputs([tmp_path / "sub"])]
    assert names == ["b.png", "deeper/c.png"]
    pairs = expand_inputs([str(tmp_path / "*.png"), tmp_path / "a.png", str(tmp_path / "sub" / "**" / "*.png")])
    assert [name for _, name in pairs] == ["a.png", "b.png", "c.png"]  # a.png listed once
    with pytest.raises(FileNotFoundError, match="does not exist"):
        expand_inputs([tmp_path / "missing.png"])
    with pytest.raises(FileNotFoundError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.jpeg")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoImagesError):
        expand_inputs([tmp_path / "empty"])


def test_output_paths(tmp_path):
    pairs = [(tmp_path / "x" / "a.jpg", "a.jpg"), (tmp_path / "y" / "a.jpg", "a.jpg"), (tmp_path / "c.xyz", "c.xyz")]
    out = output_paths(pairs, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in out] == ["a.jpg", "a_2.jpg", "c.png"]
    assert output_paths(pairs[:1], tmp_path / "single.png") == [tmp_path / "single.png"]
    with pytest.raises(NotADirectoryError, match="names an image file, but there are 3 inputs"):
        output_paths(pairs, tmp_path / "several.png")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(OSError):
        output_paths(pairs, blocker)
    with pytest.raises(OSError):
        output_paths(pairs, blocker / "sub")


def test_colorize_files_writes_every_output_and_skips_broken_ones(model, tmp_path):
    src = tmp_path / "in"
    write_png(src / "one.png", sample_photo("chelsea")[:40, :60].copy())
    write_png(src / "nested" / "two.png", sample_photo("coffee")[:30, :50].copy())
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = colorize_files(model, [src], tmp_path / "out", size=16, compare=True, progress=False)
    assert any(issubclass(w.category, SkippedImageWarning) for w in caught)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in result["written"]] == ["nested/two.png", "one.png"]
    assert len(result["skipped"]) == 1 and result["skipped"][0][0].name == "broken.jpg"
    one = np.asarray(Image.open(tmp_path / "out" / "one.png"))
    assert one.shape == (40, 60, 3)
    compare = np.asarray(Image.open(comparison_path(tmp_path / "out" / "one.png")))
    assert compare.shape[0] == 40 and compare.shape[1] > 3 * 60
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_colorize_files_fails_when_nothing_is_readable(model, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UnreadableImageError, match="none of the 1 input"):
            colorize_files(model, [bad], tmp_path / "out.png", size=16)
    assert not (tmp_path / "out.png").exists()


def test_a_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = save_image_atomic(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png")
    before = path.read_bytes()

    def broken_save(self, f, *args, **kwargs):
        f.write(b"half an image")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image_atomic(np.ones((4, 4, 3), np.uint8), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = save_image_atomic(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_colorize_on_every_device(model, device):
    rgb = np.ascontiguousarray(sample_photo("astronaut")[::8, ::8])
    on_cpu = colorize_rgb(model, rgb, size=32)
    moved = build_model("eccv16", 0.0625)
    moved.load_state_dict(model.state_dict())
    on_device = colorize_rgb(moved.to(device).eval(), rgb, size=32)
    assert on_device.shape == rgb.shape
    assert np.abs(on_device.astype(int) - on_cpu.astype(int)).max() <= 2


# ------------------------------------------------------------------------------------- what a batch refuses


def test_colorize_rgb_accepts_a_flipped_array(model):
    rgb = np.ascontiguousarray(sample_photo("coffee")[:40, :60])
    flipped = rgb[::-1, ::-1]  # negative strides
    out = colorize_rgb(model, flipped, size=16)
    np.testing.assert_array_equal(out, colorize_rgb(model, flipped.copy(), size=16))


def test_an_output_never_replaces_an_input(model, tmp_path):
    import os

    src = tmp_path / "in"
    write_png(src / "p.png", sample_photo("chelsea")[:30, :40].copy())
    write_png(src / "q.png", sample_photo("coffee")[:30, :40].copy())
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    os.symlink(src, tmp_path / "link")
    os.link(src / "q.png", tmp_path / "hard.png")
    cases = [([src / "p.png"], src / "p.png"), ([src], src), ([src], tmp_path / "link"),
             ([tmp_path / "link" / "p.png"], src / "p.png"), ([src / "q.png"], tmp_path / "hard.png")]
    for inputs, out in cases:
        for overwrite in (False, True):
            with pytest.raises(ValueError, match="would replace the input"):
                colorize_files(model, inputs, out, size=16, overwrite=overwrite)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before


def test_existing_outputs_are_replaced_only_with_overwrite(model, tmp_path):
    write_png(tmp_path / "in" / "a.png", sample_photo("chelsea")[:30, :40].copy())
    colorize_files(model, [tmp_path / "in"], tmp_path / "out", size=16, compare=True)
    with pytest.raises(FileExistsError, match="2 output file.* exist already.*overwrite"):
        colorize_files(model, [tmp_path / "in"], tmp_path / "out", size=16, compare=True)
    (tmp_path / "single.png").write_bytes(b"someone else's file")
    with pytest.raises(FileExistsError, match="single.png"):
        colorize_files(model, [tmp_path / "in" / "a.png"], tmp_path / "single.png", size=16)
    assert (tmp_path / "single.png").read_bytes() == b"someone else's file"
    result = colorize_files(model, [tmp_path / "in"], tmp_path / "out", size=16, compare=True, overwrite=True)
    assert len(result["written"]) == 1 and len(result["compared"]) == 1


def test_comparison_names_are_unique_across_a_batch(model, tmp_path):
    src = tmp_path / "in"
    write_png(src / "a.png", sample_photo("chelsea")[:30, :40].copy())
    write_png(src / "a_compare.png", sample_photo("coffee")[:30, :40].copy())
    result = colorize_files(model, [src], tmp_path / "out", size=16, compare=True)
    written = result["written"] + result["compared"]
    assert len(written) == len(set(written)) == 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)
    # without comparisons the names stay the inputs' own
    pairs = [(src / "a.png", "a.png"), (src / "a_compare.png", "a_compare.png")]
    assert [p.name for p in output_paths(pairs, tmp_path / "o2")] == ["a.png", "a_compare.png"]


def test_photos_over_the_pixel_limit_are_skipped_and_size_is_bounded(model, tmp_path):
    import inspect

    from colorlab.colorize import MAX_SIZE
    from colorlab.data import MAX_PIXELS
    from colorlab.web import MAX_PIXELS as PANEL_MAX_PIXELS

    assert inspect.signature(colorize_files).parameters["max_pixels"].default == MAX_PIXELS == PANEL_MAX_PIXELS
    write_png(tmp_path / "in" / "small.png", sample_photo("chelsea")[:20, :30].copy())
    write_png(tmp_path / "in" / "big.png", sample_photo("coffee")[:40, :60].copy())
    with pytest.warns(SkippedImageWarning, match="big.png"):
        result = colorize_files(model, [tmp_path / "in"], tmp_path / "out", size=16, max_pixels=1000)
    assert [p.name for p in result["written"]] == ["small.png"]
    assert [p.name for p in result["skipped"][0][:1]] == ["big.png"]
    assert "2,400 pixels" in result["skipped"][0][1] and "limit of 1,000" in result["skipped"][0][1]
    for size in (0, MAX_SIZE + 1, 2.5):
        with pytest.raises(ValueError, match="size must be an integer from 1 to"):
            colorize_files(model, [tmp_path / "in"], tmp_path / "out2", size=size)


def test_output_formats_that_cannot_hold_the_image_are_refused(model, tmp_path):
    write_png(tmp_path / "in" / "a.png", sample_photo("chelsea")[:30, :40].copy())
    for name in ("a.ico", "a.gif", "a.icns"):
        with pytest.raises(ValueError, match="cannot write the format"):
            colorize_files(model, [tmp_path / "in" / "a.png"], tmp_path / name, size=16)
        assert not (tmp_path / name).exists()
    with pytest.raises(ValueError, match="WEBP holds at most 16383 pixels per side"):
        save_image_atomic(np.zeros((1, 16384, 3), np.uint8), tmp_path / "wide.webp")
    assert not list(tmp_path.glob("*.webp")) and not list(tmp_path.glob(".*.tmp"))
    # a GIF input in a folder of outputs becomes a PNG
    pairs = [(tmp_path / "x.gif", "x.gif"), (tmp_path / "y.ico", "y.ico")]
    assert [p.name for p in output_paths(pairs, tmp_path / "out")] == ["x.png", "y.png"]


def test_links_fifos_devices_and_unsupported_files_are_skipped(model, tmp_path):
    import os

    src = tmp_path / "in"
    write_png(src / "good.png", sample_photo("chelsea")[:30, :40].copy())
    os.symlink(tmp_path / "nonexistent.jpg", src / "dangling.jpg")
    os.symlink(src / "loop.jpg", src / "loop.jpg")
    os.mkfifo(src / "fifo.png")
    os.symlink("/dev/zero", src / "zero.png")
    Image.fromarray(sample_photo("coffee")[:30, :40].copy()).save(src / "anim.gif")
    (src / "photo.heic").write_bytes(b"not read")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = colorize_files(model, [src], tmp_path / "out", size=16)
    assert [p.name for p in result["written"]] == ["good.png"]
    reasons = {path.name: reason for path, reason in result["skipped"]}
    assert set(reasons) == {"dangling.jpg", "loop.jpg", "fifo.png", "zero.png", "anim.gif", "photo.heic"}
    assert "link to a missing file" in reasons["dangling.jpg"] and "link loop" in reasons["loop.jpg"]
    assert "a FIFO" in reasons["fifo.png"] and "a device" in reasons["zero.png"]
    assert "unsupported format .gif" in reasons["anim.gif"]
    assert sum(issubclass(w.category, SkippedImageWarning) for w in caught) == 6
