"""Tests of ``colorlab colorize``, ``colorlab evaluate`` and ``colorlab bins``: outputs, and one clear error line
with a non-zero exit for every kind of bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import pretrained, sample_photo
from colorlab.bins import NUM_BINS
from colorlab.cli import main
from colorlab.evaluate import METHODS, METRICS
from colorlab.models import build_model
from colorlab.pretrained import PRETRAINED_FILES, save_pretrained

WIDTH = 0.0625


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """Committed-model stand-ins written by the test, found by the default search."""
    folder = tmp_path / "models"
    folder.mkdir()
    torch.manual_seed(0)
    save_pretrained(build_model("eccv16", WIDTH), folder / PRETRAINED_FILES["classification"])
    save_pretrained(build_model("regression", WIDTH), folder / PRETRAINED_FILES["regression"])
    monkeypatch.setattr(pretrained, "model_search_dirs", lambda: [folder])
    return folder


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    Image.fromarray(sample_photo("chelsea")[:60, :90].copy()).save(folder / "cat.png")
    Image.fromarray(sample_photo("coffee")[:50, :70].copy()).save(folder / "nested" / "coffee.jpg", quality=95)
    return folder


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, err, command, *fragments):
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"colorlab {command}: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ------------------------------------------------------------------------------------------------ colorize


def test_colorize_one_file_at_full_resolution(capsys, models_dir, photos, tmp_path):
    out = tmp_path / "result.png"
    code, stdout, _ = run(capsys, "colorize", photos / "cat.png", "-o", out, "--size", 32, "--device", "cpu")
    assert code == 0
    assert np.asarray(Image.open(out)).shape == (60, 90, 3)
    assert "wrote 1 image" in stdout
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_colorize_folder_glob_side_by_side_and_options(capsys, models_dir, photos, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "colorize", photos, str(photos / "*.png"), "-o", out, "--size", 32,
                          "--temperature", "1", "--side-by-side", "--device", "cpu")
    assert code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "cat.png", "cat_compare.png", "nested/coffee.jpg", "nested/coffee_compare.jpg"]
    assert "wrote 2 image(s), 2 comparison images" in stdout
    code, _, _ = run(capsys, "colorize", photos / "cat.png", "-o", tmp_path / "mode.png", "-T", "0", "--size", 32,
                     "--checkpoint", models_dir / "regression.pt", "--device", "cpu")
    assert code == 0 and (tmp_path / "mode.png").exists()


def test_colorize_skips_a_corrupt_image_with_a_warning(capsys, models_dir, photos, tmp_path):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    code, stdout, err = run(capsys, "colorize", photos, "-o", tmp_path / "out", "--size", 32, "--device", "cpu")
    assert code == 3  # finished, but skipped a file
    assert "warning: skipping" in err and "broken.jpg" in err
    assert "skipped 1 file(s)" in stdout
    assert not (tmp_path / "out" / "broken.jpg").exists()


def test_colorize_errors_are_one_line(capsys, models_dir, photos, tmp_path):
    code, _, err = run(capsys, "colorize", tmp_path / "missing.png", "-o", tmp_path / "o.png")
    assert_one_error_line(code, err, "colorize", "does not exist")

    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "colorize", tmp_path / "empty", "-o", tmp_path / "o")
    assert_one_error_line(code, err, "colorize", "no image files")

    code, _, err = run(capsys, "colorize", str(tmp_path / "*.webp"), "-o", tmp_path / "o")
    assert_one_error_line(code, err, "colorize", "no file matches")

    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    code, _, err = run(capsys, "colorize", bad, "-o", tmp_path / "o.png", "--device", "cpu")
    assert code == 1 and "error: input: none of the 1 input file(s) could be colorized" in err
    assert "Traceback" not in err


def test_colorize_refuses_unwritable_outputs(capsys, models_dir, photos, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, _, err = run(capsys, "colorize", photos, "-o", blocker / "out")
    assert_one_error_line(code, err, "colorize", "a_file")
    code, _, err = run(capsys, "colorize", photos, "-o", blocker)
    assert_one_error_line(code, err, "colorize", "not a folder")


def test_colorize_bad_checkpoints(capsys, models_dir, photos, tmp_path):
    target = tmp_path / "o.png"
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes((models_dir / "classification.pt").read_bytes()[:500])
    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", target, "--checkpoint", corrupt)
    assert_one_error_line(code, err, "colorize", "not a readable PyTorch checkpoint")

    foreign = tmp_path / "foreign.pt"
    torch.save({"state": torch.nn.Linear(3, 3).state_dict()}, foreign)
    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", target, "--checkpoint", foreign)
    assert_one_error_line(code, err, "colorize", "not a colorlab checkpoint")

    other = tmp_path / "other_architecture.pt"
    obj = torch.load(models_dir / "classification.pt", weights_only=True)
    obj["model_config"]["name"] = "seed"  # conv8 of the seed network has other shapes
    torch.save(obj, other)
    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", target, "--checkpoint", other)
    assert_one_error_line(code, err, "colorize", "do not fit the architecture")

    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", target, "--checkpoint", tmp_path / "no.pt")
    assert_one_error_line(code, err, "colorize", "does not exist")
    assert not target.exists()


def test_colorize_without_any_model_says_how_to_get_one(capsys, photos, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "model_search_dirs", lambda: [tmp_path / "nothing"])
    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", tmp_path / "o.png")
    assert_one_error_line(code, err, "colorize", "classification.pt", "colorlab train", "--checkpoint")


def test_colorize_rejects_a_negative_temperature(capsys, photos, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["colorize", str(photos / "cat.png"), "-o", str(tmp_path / "o.png"), "--temperature", "-1"])
    assert info.value.code == 2
    assert "temperature must be ≥ 0" in capsys.readouterr().err


def test_colorize_refuses_to_replace_its_inputs(capsys, models_dir, photos, tmp_path):
    before = (photos / "cat.png").read_bytes()
    for argv in ([photos / "cat.png", "-o", photos / "cat.png"], [photos, "-o", photos],
                 [photos, "-o", photos, "--overwrite"]):
        code, _, err = run(capsys, "colorize", *argv, "--size", 32, "--device", "cpu")
        assert_one_error_line(code, err, "colorize", "would replace the input", "cat.png")
    assert (photos / "cat.png").read_bytes() == before


def test_colorize_replaces_earlier_outputs_only_with_overwrite(capsys, models_dir, photos, tmp_path):
    out = tmp_path / "out"
    assert run(capsys, "colorize", photos, "-o", out, "--size", 32, "--device", "cpu")[0] == 0
    code, _, err = run(capsys, "colorize", photos, "-o", out, "--size", 32, "--device", "cpu")
    assert_one_error_line(code, err, "colorize", "exist already", "--overwrite")
    code, stdout, _ = run(capsys, "colorize", photos, "-o", out, "--size", 32, "--device", "cpu", "--overwrite")
    assert code == 0 and "wrote 2 image(s)" in stdout


def test_colorize_side_by_side_names_never_clash(capsys, models_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(sample_photo("chelsea")[:30, :40].copy()).save(src / "a.jpg")
    Image.fromarray(sample_photo("coffee")[:30, :40].copy()).save(src / "a_compare.jpg")
    code, stdout, _ = run(capsys, "colorize", src, "-o", tmp_path / "out", "--side-by-side", "--size", 32,
                          "--device", "cpu")
    assert code == 0 and "wrote 2 image(s), 2 comparison images" in stdout
    assert len(list((tmp_path / "out").iterdir())) == 4


def test_colorize_pixel_limit_and_size_bound(capsys, models_dir, photos, tmp_path):
    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", tmp_path / "o.png", "--max-pixels", 5000,
                       "--device", "cpu")
    warning, error = err.strip().splitlines()  # the photo is skipped, and so nothing is written
    assert code == 1 and warning.startswith("colorlab colorize: warning: skipping")
    assert error.startswith("colorlab colorize: error: input: none of the 1 input file(s) could be colorized")
    assert "cat.png" in error and "5,400 pixels" in error and "limit of 5,000" in error
    assert not (tmp_path / "o.png").exists()
    code, stdout, err = run(capsys, "colorize", photos, "-o", tmp_path / "out", "--max-pixels", 5000,
                            "--size", 32, "--device", "cpu")
    assert code == 3 and "wrote 1 image(s)" in stdout and "skipped 1 file(s)" in stdout
    assert "warning: skipping" in err and "cat.png" in err
    with pytest.raises(SystemExit) as info:
        main(["colorize", str(photos), "-o", str(tmp_path / "big"), "--size", "5000"])
    assert info.value.code == 2 and "expected at most 1024" in capsys.readouterr().err


def test_colorize_refuses_an_output_format_before_loading_a_model(capsys, photos, tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "model_search_dirs", lambda: [tmp_path / "nothing"])
    code, _, err = run(capsys, "colorize", photos / "cat.png", "-o", tmp_path / "cat.ico")
    assert_one_error_line(code, err, "colorize", "error: output: cannot write the format", "cat.ico")


def test_colorize_skips_links_and_fifos_and_says_so_in_the_exit_status(capsys, models_dir, photos, tmp_path):
    import os

    os.symlink(tmp_path / "nonexistent.jpg", photos / "x.jpg")
    os.mkfifo(photos / "pipe.png")
    os.symlink(photos / "loop.jpg", photos / "loop.jpg")
    (photos / "clip.gif").write_bytes(b"GIF89a")
    code, stdout, err = run(capsys, "colorize", photos, "-o", tmp_path / "out", "--size", 32, "--device", "cpu")
    assert code == 3 and "wrote 2 image(s)" in stdout and "skipped 4 file(s)" in stdout
    assert "Traceback" not in err and "RuntimeError" not in err
    assert err.count("warning: skipping") == 4


def test_evaluate_skips_links_and_large_photos_and_says_so_in_the_exit_status(capsys, models_dir, photos, tmp_path):
    import os

    os.symlink("/dev/zero", photos / "zero.jpg")
    code, stdout, err = run(capsys, "evaluate", photos, "--size", 32, "--device", "cpu")
    assert code == 3 and "2 images at 32x32" in stdout and "skipped 1 file(s)" in stdout
    assert "a device" in err
    os.unlink(photos / "zero.jpg")
    code, stdout, _ = run(capsys, "evaluate", photos, "--size", 32, "--device", "cpu", "--max-pixels", 5000)
    assert code == 3 and "1 image at 32x32" in stdout and "too large" in stdout
    assert run(capsys, "evaluate", photos, "--size", 32, "--device", "cpu")[0] == 0


# ------------------------------------------------------------------------------------------------ evaluate


def test_evaluate_prints_the_table_and_writes_the_json(capsys, models_dir, photos, tmp_path):
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "result.json"
    code, stdout, err = run(capsys, "evaluate", photos, "--json", out, "--size", 32, "--device", "cpu")
    assert code == 3  # finished, but skipped an unreadable file
    for method in METHODS:
        assert method in stdout
    assert "2 images at 32x32" in stdout and "skipped 1 file" in stdout
    assert "warning: skipping" in err
    result = json.loads(out.read_text())
    assert result["n_images"] == 2
    assert set(result["methods"]) == set(METHODS)
    for method in METHODS:
        for metric in METRICS:
            summary = result["methods"][method][metric]
            assert set(summary) == {"mean", "ci95"} and len(summary["ci95"]) == 2
    assert len(result["images"]) == 2 * len(METHODS)
    assert result["checkpoints"] == {"classification": "committed", "regression": "committed"}


def test_evaluate_with_explicit_checkpoints_and_limit(capsys, models_dir, photos, tmp_path):
    code, stdout, _ = run(capsys, "evaluate", photos, "--checkpoint", models_dir / "classification.pt",
                          "--regression-checkpoint", models_dir / "regression.pt", "--limit", 1, "--size", 32,
                          "--device", "cpu")
    assert code == 0 and "1 image at 32x32; one photo gives no interval" in stdout


def test_evaluate_errors_are_one_line(capsys, models_dir, photos, tmp_path):
    code, _, err = run(capsys, "evaluate", tmp_path / "nowhere")
    assert_one_error_line(code, err, "evaluate", "does not exist")

    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "evaluate", tmp_path / "empty")
    assert_one_error_line(code, err, "evaluate", "no image files")

    code, _, err = run(capsys, "evaluate", photos, "--json", tmp_path / "no" / "such" / "dir" / "r.json")
    assert_one_error_line(code, err, "evaluate", "--json", "does not exist")
    code, _, err = run(capsys, "evaluate", photos, "--json", tmp_path)
    assert_one_error_line(code, err, "evaluate", "--json", "is a folder")
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, "evaluate", photos, "--json", tmp_path / "file" / "r.json")
    assert_one_error_line(code, err, "evaluate", "--json", "not a folder")

    code, _, err = run(capsys, "evaluate", photos, "--regression-checkpoint", models_dir / "classification.pt",
                       "--device", "cpu")
    assert_one_error_line(code, err, "evaluate", "holds a classification model", "regression model is needed")

    code, _, err = run(capsys, "evaluate", photos, "--temperature", "0")
    assert_one_error_line(code, err, "evaluate", "positive")

    grey = tmp_path / "grey"
    grey.mkdir()
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(grey / "flat.png")
    code, _, err = run(capsys, "evaluate", grey, "--size", 32, "--device", "cpu")
    assert_one_error_line(code, err, "evaluate", "no colour photo")


# ---------------------------------------------------------------------------------------------------- bins


def test_bins_prints_every_bin(capsys):
    code, stdout, _ = run(capsys, "bins")
    assert code == 0
    lines = stdout.strip().splitlines()
    assert lines[-1] == f"{NUM_BINS} bins"
    rows = [tuple(map(int, line.split())) for line in lines[1:-1]]
    assert len(rows) == NUM_BINS and rows[0][0] == 0 and rows[-1][0] == NUM_BINS - 1
    assert all(a % 10 == 0 and b % 10 == 0 for _, a, b in rows)


def test_bins_plot(capsys, tmp_path):
    code, stdout, _ = run(capsys, "bins", "--plot", tmp_path / "bins.png")
    assert code == 0 and Image.open(tmp_path / "bins.png").size[0] > 100
    code, _, err = run(capsys, "bins", "--plot", tmp_path / "bins.nope")
    assert_one_error_line(code, err, "bins", "cannot save a figure")
    code, _, err = run(capsys, "bins", "--plot", tmp_path / "missing_dir" / "bins.png")
    assert_one_error_line(code, err, "bins")


# ------------------------------------------------------------------------------------- the installed script


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).with_name("colorlab")
    command = [str(script)] if script.exists() else [shutil.which("colorlab") or "colorlab"]
    done = subprocess.run([*command, "bins"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith(f"{NUM_BINS} bins")
    done = subprocess.run([*command, "colorize", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "x.png")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"colorlab colorize: error: input: {str(tmp_path / 'missing.jpg')!r} does not exist"]
