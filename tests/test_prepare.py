"""Tests of colorlab.prepare and ``colorlab prepare``: sizes, names, bad files, re-runs."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from colorlab.cli import main
from colorlab.data import load_rgb
from colorlab.prepare import JPEG_QUALITY, _tables, jpeg_tables, output_names, prepare_folder, target_size


def write(path, size, mode="RGB", **options):
    """A smooth random image (photos are smooth; JPEG's 4:2:0 chroma would blur noise beyond recognition)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    coarse = Image.fromarray(rng.integers(0, 256, (4, 5, len(mode)), dtype=np.uint8), mode)
    coarse.resize(size, Image.Resampling.BICUBIC).save(path, **options)
    return path


@pytest.fixture
def src(tmp_path):
    folder = tmp_path / "src"
    write(folder / "big.jpg", (600, 400))
    write(folder / "sub" / "portrait.png", (300, 500))
    write(folder / "sub" / "small.jpg", (120, 90))
    write(folder / "alpha.png", (400, 300), mode="RGBA")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_sizes_names_and_bad_files(src, tmp_path):
    dst = tmp_path / "dst"
    report = prepare_folder(src, dst, 256, workers=0, progress=False)
    assert (report.written, report.up_to_date) == (4, 0)
    assert [name for name, _ in report.skipped] == ["broken.jpg"] and "unreadable" in report.skipped[0][1]
    sizes = {p.relative_to(dst).as_posix(): Image.open(p).size for p in dst.rglob("*.jpg")}
    assert sizes == {"big.jpg": (384, 256), "sub/portrait.jpg": (256, 427), "sub/small.jpg": (120, 90),
                     "alpha.jpg": (341, 256)}
    with Image.open(dst / "big.jpg") as im:
        assert im.format == "JPEG" and im.mode == "RGB" and not im.getexif()
    # Lanczos shrinks of the source decode, composited on white like training decodes it
    expected = np.asarray(Image.fromarray(load_rgb(src / "alpha.png")).resize((341, 256), Image.Resampling.LANCZOS))
    assert np.abs(load_rgb(dst / "alpha.jpg").astype(int) - expected).mean() < 2  # JPEG, quality 95
    assert not list(dst.rglob("*.tmp"))


def test_a_rerun_changes_nothing_and_finishes_an_interrupted_one(src, tmp_path):
    dst = tmp_path / "dst"
    prepare_folder(src, dst, 256, workers=0, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in dst.rglob("*.jpg")}
    (dst / "big.jpg").unlink()  # an interrupted run
    report = prepare_folder(src, dst, 256, workers=0, progress=False)
    assert (report.written, report.up_to_date, len(report.skipped)) == (1, 3, 1)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.name != "big.jpg")
    report = prepare_folder(src, dst, 200, workers=0, progress=False)  # another size is prepared again
    assert report.written == 3 and Image.open(dst / "big.jpg").size == (300, 200)  # small.jpg stays 120 x 90
    time.sleep(0.01)
    os.utime(src / "sub" / "small.jpg")  # a changed source is prepared again
    assert prepare_folder(src, dst, 200, workers=0, progress=False).written == 1


def test_parallel_workers_give_the_same_files(src, tmp_path):
    prepare_folder(src, tmp_path / "one", 128, workers=0, progress=False)
    report = prepare_folder(src, tmp_path / "two", 128, workers=2, progress=False)
    assert report.written == 4
    for path in (tmp_path / "one").rglob("*.jpg"):
        assert path.read_bytes() == (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes()


def test_target_size_and_output_names():
    assert target_size(1000, 256) == (1000, 256) and target_size(257, 1000) == (256, 996)
    assert output_names(["a.png", "a.jpg", "b.PNG", "c/d.jpeg"]) == {
        "a.png": "a.png.jpg", "a.jpg": "a.jpg", "b.PNG": "b.jpg", "c/d.jpeg": "c/d.jpg"}
    with pytest.raises(ValueError, match="several images"):
        output_names(["a.jpg", "a.jpeg"])


def test_bad_arguments(src, tmp_path):
    with pytest.raises(ValueError, match="inside src"):
        prepare_folder(src, src / "out", progress=False)
    with pytest.raises(ValueError, match="short_side"):
        prepare_folder(src, tmp_path / "dst", 0, progress=False)
    with pytest.raises(ValueError, match="quality"):
        prepare_folder(src, tmp_path / "dst", quality=100, progress=False)
    with pytest.raises(FileNotFoundError):
        prepare_folder(tmp_path / "missing", tmp_path / "dst", progress=False)


def test_the_command(src, tmp_path, capsys):
    assert main(["prepare", str(src), str(tmp_path / "dst"), "--short-side", "100", "--workers", "0"]) == 0
    captured = capsys.readouterr()
    assert "wrote 4 image(s)" in captured.out and "skipped 1 unreadable" in captured.out
    assert "broken.jpg" in captured.err
    assert Image.open(tmp_path / "dst" / "big.jpg").size == (150, 100)
    assert main(["prepare", str(src), str(src / "inside")]) == 1
    assert "inside src" in capsys.readouterr().err
    assert JPEG_QUALITY == 95


def test_another_quality_is_prepared_again(src, tmp_path, capsys):
    """The quality an output was written at is read from its quantisation tables: no record beside it."""
    dst = tmp_path / "dst"
    prepare_folder(src, dst, 128, workers=0, progress=False)
    report = prepare_folder(src, dst, 128, quality=60, workers=0, progress=False)
    assert (report.written, report.up_to_date) == (4, 0)
    for path in dst.rglob("*.jpg"):
        with Image.open(path) as image:
            assert _tables(image) == jpeg_tables(60) != jpeg_tables(JPEG_QUALITY)
    assert prepare_folder(src, dst, 128, quality=60, workers=0, progress=False).up_to_date == 4
    assert main(["prepare", str(src), str(dst), "--short-side", "128", "--workers", "0"]) == 0
    assert "wrote 4 image(s)" in capsys.readouterr().out
    assert main(["prepare", str(src), str(dst), "--short-side", "128", "--workers", "0"]) == 0
    assert "wrote 0 image(s) to" in capsys.readouterr().out
    assert len(set(map(jpeg_tables, range(1, 96)))) == 95  # each quality its own tables


def test_an_output_that_is_not_a_jpeg_is_prepared_again(src, tmp_path):
    dst = tmp_path / "dst"
    prepare_folder(src, dst, 128, workers=0, progress=False)
    with Image.open(dst / "big.jpg") as image:
        image.save(dst / "big.jpg", format="PNG")  # right size and newer than its source, but no JPEG
    assert prepare_folder(src, dst, 128, workers=0, progress=False).written == 1
    with Image.open(dst / "big.jpg") as image:
        assert image.format == "JPEG"
