"""Tests of colorlab.evaluate: the method comparison, its JSON, the temperature sweep."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import metrics, sample_photos
from colorlab.bins import ab_bins
from colorlab.colorize import gray_rgb
from colorlab.data import NoImagesError, SkippedImageWarning
from colorlab.evaluate import (
    METHODS,
    METRICS,
    evaluate_folder,
    evaluate_images,
    format_table,
    ground_truth,
    temperature_sweep,
    write_json_atomic,
)
from colorlab.models import build_model

SIZE = 32
FIXED_AB = (40.0, -30.0)


def fixed_classifier(ab=FIXED_AB, strength=30.0):
    """A classifier whose logits favour the bin nearest ``ab`` everywhere, whatever the input."""
    model = build_model("eccv16", 0.0625).eval()
    index = int(torch.linalg.vector_norm(ab_bins() - torch.tensor(ab), dim=1).argmin())
    with torch.no_grad():
        model.blocks.out.weight.zero_()
        model.blocks.out.bias.zero_()
        model.blocks.out.bias[index] = strength
    return model, ab_bins()[index].tolist()


def fixed_regressor(ab=FIXED_AB):
    model = build_model("regression", 0.0625).eval()
    with torch.no_grad():
        model.blocks.out.weight.zero_()
        model.blocks.out.bias.copy_(torch.tensor(ab) / 110.0)
    return model


@pytest.fixture(scope="module")
def photos():
    chosen = sample_photos(["chelsea", "coffee", "astronaut"])
    chosen["grey"] = np.repeat(np.asarray(sample_photos(["coffee"])["coffee"]).mean(axis=2, keepdims=True)
                               .astype(np.uint8), 3, axis=2)
    return chosen


@pytest.fixture(scope="module")
def result(photos):
    classifier, _ = fixed_classifier()
    return evaluate_images(photos, classifier, fixed_regressor(), size=SIZE, bootstrap=500)


def true_ab_of(rgb):
    from colorlab import rgb_to_lab

    gt = ground_truth(rgb, SIZE)
    return gt, rgb_to_lab(torch.tensor(gt).permute(2, 0, 1)[None].double() / 255)[0, 1:].numpy()


def test_result_has_the_documented_json_form(result):
    assert result["n_images"] == 3
    assert list(result["methods"]) == list(METHODS)
    for method in METHODS:
        for metric in METRICS:
            summary = result["methods"][method][metric]
            lo, hi = summary["ci95"]
            assert lo <= summary["mean"] <= hi
    assert len(result["images"]) == 3 * len(METHODS)
    assert set(result["images"][0]) == {"image", "method", *METRICS}
    assert result["skipped"] == [{"image": "grey", "reason": result["skipped"][0]["reason"]}]
    assert "gray" in result["skipped"][0]["reason"]
    json.dumps(result, allow_nan=False)  # strict JSON
    curves = result["accuracy_curves"]
    assert len(curves["thresholds"]) == 151 and set(curves) == {"thresholds", *METHODS}
    for method in METHODS:  # the mean curve's area is the mean AuC (the area is linear in the curve)
        area = metrics.area_under_curve(curves[method])
        assert area == pytest.approx(result["methods"][method]["auc"]["mean"], abs=1e-12)


def rows(result, method):
    return {r["image"]: r for r in result["images"] if r["method"] == method}


def test_gray_method_scores_match_independent_computations(result, photos):
    for name, row in rows(result, "gray").items():
        gt, true_ab = true_ab_of(photos[name])
        assert row["auc"] == pytest.approx(metrics.auc(np.zeros_like(true_ab), true_ab), abs=1e-12)
        grey = gray_rgb(gt)
        assert row["psnr"] == pytest.approx(metrics.psnr(grey, gt), abs=1e-9)
        assert row["ssim"] == pytest.approx(metrics.ssim(grey, gt), abs=1e-9)
        assert row["colorfulness"] < 1.0


def test_constant_predictions_give_closed_form_auc(result, photos):
    _, bin_ab = fixed_classifier()
    for method, ab in (("regression", FIXED_AB), ("class_mode", bin_ab), ("class_annealed", bin_ab)):
        for name, row in rows(result, method).items():
            _, true_ab = true_ab_of(photos[name])
            pred = np.broadcast_to(np.array(ab, float)[:, None, None], true_ab.shape)
            errors = np.linalg.norm(true_ab - pred, axis=0)
            # the trapezoid AuC is within half a threshold step of the continuous area
            assert row["auc"] == pytest.approx(np.clip(1 - errors / 150, 0, 1).mean(), abs=1 / 300 + 1e-3), method


def test_summary_means_are_means_of_the_rows(result):
    for method in METHODS:
        for metric in METRICS:
            values = [r[metric] for r in result["images"] if r["method"] == method]
            assert result["methods"][method][metric]["mean"] == pytest.approx(np.mean(values))


def test_ground_truth_colourfulness_is_reported(result, photos):
    expected = np.mean([metrics.colorfulness(ground_truth(photos[n], SIZE)) for n in ("chelsea", "coffee", "astronaut")])
    assert result["ground_truth"]["colorfulness"]["mean"] == pytest.approx(expected)


def test_methods_can_be_chosen_and_models_are_checked(photos):
    classifier, _ = fixed_classifier()
    only_gray = evaluate_images(photos, None, None, size=SIZE, methods=["gray"], bootstrap=100)
    assert list(only_gray["methods"]) == ["gray"]
    no_regression = evaluate_images(photos, classifier, None, size=SIZE, bootstrap=100)
    assert "regression" not in no_regression["methods"]
    with pytest.raises(ValueError, match="regressor must output 'ab'"):
        evaluate_images(photos, classifier, classifier, size=SIZE)
    with pytest.raises(ValueError, match="methods must be among"):
        evaluate_images(photos, classifier, None, methods=["sepia"])
    with pytest.raises(NoImagesError):
        evaluate_images({"grey": photos["grey"]}, classifier, None, size=SIZE)


def test_evaluate_folder_reads_recursively_and_skips_unreadable_files(tmp_path, photos):
    (tmp_path / "sub").mkdir()
    Image.fromarray(np.asarray(photos["chelsea"])).save(tmp_path / "sub" / "cat.png")
    Image.fromarray(np.asarray(photos["coffee"])).save(tmp_path / "coffee.jpg", quality=95)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    classifier, _ = fixed_classifier()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_folder(tmp_path, classifier, fixed_regressor(), size=SIZE, bootstrap=100)
    assert result["n_images"] == 2
    assert {r["image"] for r in result["images"]} == {"sub/cat.png", "coffee.jpg"}
    assert [s["image"] for s in result["skipped"]] == ["broken.png"]
    assert caught
    with pytest.warns(SkippedImageWarning):
        limited = evaluate_folder(tmp_path, classifier, fixed_regressor(), size=SIZE, bootstrap=100, limit=1)
    assert limited["n_images"] == 1


def test_temperature_sweep_agrees_with_the_evaluation(photos):
    # two opposite bins with logits 2 and 1: the mean lies between them, colder decoding moves to the first
    classifier, _ = fixed_classifier((60.0, 60.0), strength=2.0)
    opposite = int(torch.linalg.vector_norm(ab_bins() - torch.tensor([-60.0, -60.0]), dim=1).argmin())
    with torch.no_grad():
        classifier.blocks.out.bias[opposite] = 1.0
    sweep = temperature_sweep(photos, classifier, [0.05, 0.38, 1.0], size=SIZE, bootstrap=200)
    assert sweep["temperature"] == [0.05, 0.38, 1.0] and sweep["n_images"] == 3
    for key in ("auc", "auc_rebal", "colorfulness"):
        assert len(sweep[key]["mean"]) == 3
        assert all(lo <= m <= hi for m, lo, hi in zip(sweep[key]["mean"], sweep[key]["lo"], sweep[key]["hi"]))
    full = evaluate_images(photos, classifier, None, size=SIZE, bootstrap=100)
    assert sweep["auc"]["mean"][1] == pytest.approx(full["methods"]["class_annealed"]["auc"]["mean"])
    assert sweep["auc"]["mean"][2] == pytest.approx(full["methods"]["class_mean"]["auc"]["mean"])
    assert sweep["colorfulness"]["mean"][2] == pytest.approx(full["methods"]["class_mean"]["colorfulness"]["mean"])
    # colder decoding moves the prediction towards the mode, far from grey: more colourful than the mean
    assert sweep["colorfulness"]["mean"][0] > sweep["colorfulness"]["mean"][2]
    with pytest.raises(ValueError, match="temperatures"):
        temperature_sweep(photos, classifier, [0.0])


def test_paired_difference(result):
    from colorlab.evaluate import paired_difference

    mean, lo, hi = paired_difference(result, "class_mode", "gray", "auc", n=500)
    a = {r["image"]: r["auc"] for r in result["images"] if r["method"] == "class_mode"}
    b = {r["image"]: r["auc"] for r in result["images"] if r["method"] == "gray"}
    assert mean == pytest.approx(np.mean([a[k] - b[k] for k in a]))
    assert lo <= mean <= hi
    assert paired_difference(result, "gray", "gray", "psnr", n=100) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="not in this result"):
        paired_difference(result, "sepia", "gray", "auc")
    with pytest.raises(ValueError, match="metric"):
        paired_difference(result, "gray", "regression", "lpips")


def test_format_table_and_json_file(result, tmp_path):
    table = format_table(result)
    for method in METHODS:
        assert method in table
    assert "3 images" in table
    path = write_json_atomic(result, tmp_path / "out.json")
    assert json.loads(path.read_text())["n_images"] == 3
    with pytest.raises(ValueError):
        write_json_atomic({"x": math.nan}, tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_format_table_as_markdown_has_one_row_per_method_and_the_truth(result):
    lines = format_table(result, markdown=True).splitlines()
    rows = [line for line in lines if line.startswith("|")]
    assert rows[1] == "|" + "---|" * 6
    assert [row.split(" | ")[0].lstrip("| ") for row in rows[2:]] == [*METHODS, "ground truth"]
    assert all(row.count("|") == 7 for row in rows)
    assert lines[-1].startswith("3 images") and lines[-2] == ""


def test_evaluation_on_every_device(photos, device):
    classifier, _ = fixed_classifier()
    regressor = fixed_regressor()
    on_cpu = evaluate_images(photos, classifier, regressor, size=SIZE, bootstrap=100)
    on_device = evaluate_images(photos, classifier.to(device), regressor.to(device), size=SIZE, bootstrap=100)
    for method in METHODS:
        for metric in ("auc", "auc_rebal"):
            assert on_device["methods"][method][metric]["mean"] == pytest.approx(
                on_cpu["methods"][method][metric]["mean"], abs=1e-3)


def test_one_photo_gives_no_interval(photos, tmp_path):
    classifier, _ = fixed_classifier()
    one = evaluate_images({"chelsea": photos["chelsea"]}, classifier, fixed_regressor(), size=SIZE, bootstrap=100)
    assert one["n_images"] == 1
    for method in METHODS:
        assert all(one["methods"][method][m]["ci95"] is None for m in METRICS)
    assert one["ground_truth"]["colorfulness"]["ci95"] is None
    assert "null for a single image" in one["metrics"]["ci95"]
    table = format_table(one)
    assert "[no interval]" in table and "1 image at 32x32; one photo gives no interval" in table
    assert "[no interval]" in format_table(one, markdown=True)
    written = json.loads(write_json_atomic(one, tmp_path / "one.json").read_text())
    assert written["methods"]["gray"]["auc"]["ci95"] is None


def test_evaluate_folder_skips_links_fifos_large_and_unsupported_files(tmp_path, photos):
    import os

    for name in ("chelsea", "coffee"):
        Image.fromarray(photos[name]).save(tmp_path / f"{name}.png")
    os.symlink(tmp_path / "nonexistent.jpg", tmp_path / "dangling.jpg")
    os.symlink(tmp_path / "loop.jpg", tmp_path / "loop.jpg")
    os.mkfifo(tmp_path / "fifo.png")
    Image.fromarray(photos["astronaut"]).save(tmp_path / "big.png")
    (tmp_path / "clip.gif").write_bytes(b"GIF89a")
    limit = photos["chelsea"].shape[0] * photos["chelsea"].shape[1]
    assert photos["astronaut"].shape[0] * photos["astronaut"].shape[1] > limit
    classifier, _ = fixed_classifier()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_folder(tmp_path, classifier, fixed_regressor(), size=SIZE, bootstrap=100,
                                 max_pixels=max(limit, photos["coffee"].shape[0] * photos["coffee"].shape[1]))
    assert result["n_images"] == 2 and result["n_unreadable"] == 5
    reasons = {s["image"]: s["reason"].split(":")[0] for s in result["skipped"]}
    assert reasons == {"clip.gif": "unsupported", "big.png": "too large", "dangling.jpg": "unreadable",
                       "fifo.png": "unreadable", "loop.jpg": "unreadable"}
    assert sum(issubclass(w.category, SkippedImageWarning) for w in caught) == 5
