"""Tests of the evaluation figures in colorlab.plot (chapter 7): each draws exactly the numbers it is given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import colorlab as cl
from colorlab import plot
from colorlab.evaluate import METHODS, evaluate_images, temperature_sweep
from colorlab.metrics import AUC_THRESHOLDS
from colorlab.models import build_model

SIZE = 32


@pytest.fixture(scope="module")
def photos():
    return {name: np.ascontiguousarray(cl.sample_photo(name)[::4, ::4]) for name in ("chelsea", "coffee", "rocket")}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return build_model("eccv16", 0.0625).eval(), build_model("regression", 0.0625).eval()


@pytest.fixture(scope="module")
def result(photos, models):
    return evaluate_images(photos, *models, size=SIZE, bootstrap=200)


def test_method_comparison_draws_every_mean_and_interval(result):
    fig = plot.method_comparison(result, metrics=("auc", "psnr", "colorfulness"))
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 3
    widths = sorted(bar.get_width() for bar in axes[0].patches)
    expected = sorted(100 * result["methods"][m]["auc"]["mean"] for m in METHODS)
    np.testing.assert_allclose(widths, expected)
    psnr = sorted(bar.get_width() for bar in axes[1].patches)
    np.testing.assert_allclose(psnr, sorted(result["methods"][m]["psnr"]["mean"] for m in METHODS))
    truth = [line for line in axes[2].lines if line.get_label() == "ground truth"]
    assert truth and truth[0].get_xdata()[0] == pytest.approx(result["ground_truth"]["colorfulness"]["mean"])
    assert "3 held-out photos" in fig._suptitle.get_text()


def test_method_comparison_of_one_photo_draws_means_without_intervals(photos, models):
    one = evaluate_images({"chelsea": photos["chelsea"]}, *models, size=SIZE, bootstrap=200)
    fig = plot.method_comparison(one, metrics=("auc", "psnr"))
    assert [len(ax.patches) for ax in fig.axes] == [len(METHODS)] * 2
    assert not any(ax.containers[1:] for ax in fig.axes)  # bars only: no error bars
    assert fig.get_suptitle() == f"one held-out photo at {SIZE}² (one photo gives no interval)"


def test_accuracy_curves_label_their_area():
    flat = np.clip(AUC_THRESHOLDS / 50.0, 0, 1)
    fig = plot.accuracy_curves({"gray": flat, "class_annealed": np.ones_like(flat)})
    labels = [line.get_label() for line in fig.axes[0].lines]
    area = np.trapezoid(flat, AUC_THRESHOLDS) / 150
    assert labels == [f"gray (ab = 0): AuC {100 * area:.1f}%", "class: annealed mean: AuC 100.0%"]
    with pytest.raises(ValueError, match="shape"):
        plot.accuracy_curves({"gray": flat[:10]})


def test_temperature_curves(photos, models):
    sweep = temperature_sweep(photos, models[0], [0.1, 0.38, 1.0], size=SIZE, bootstrap=100)
    fig = plot.temperature_curves(sweep)
    ax_auc, ax_col = fig.axes[:2]
    auc_line = next(line for line in ax_auc.lines if line.get_label() == "AuC (%)")
    np.testing.assert_allclose(auc_line.get_ydata(), 100 * np.asarray(sweep["auc"]["mean"]))
    assert ax_auc.get_xscale() == "log"
    truth = next(line for line in ax_col.lines if line.get_label() == "ground truth")
    assert truth.get_ydata()[0] == pytest.approx(sweep["ground_truth_colorfulness"]["mean"])


def test_ranked_colorizations_orders_by_the_metric(photos):
    colorized = {name: rgb[..., ::-1].copy() for name, rgb in photos.items()}
    scores = {"chelsea": 0.5, "coffee": 0.9, "rocket": 0.1}
    fig = plot.ranked_colorizations(photos, colorized, scores, n=1, label="AuC")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "best: coffee" and titles[3] == "worst: rocket"
    assert "AuC 0.9" in titles[1]
    fig = plot.ranked_colorizations(photos, colorized, scores, n=1, higher_is_better=False)
    assert fig.axes[0].get_title() == "best: rocket"
    with pytest.raises(ValueError, match="no photo"):
        plot.ranked_colorizations(photos, colorized, {})


def test_model_comparison_shows_each_model(models, photos):
    classifier, regressor = models
    rgb = photos["coffee"]
    fig = plot.model_comparison(rgb, {"classification": classifier, "regression": regressor}, T=0.5, size=32)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["input L", "classification, T = 0.5", "regression", "original"]
    assert fig.axes[1].get_images()[0].get_array().shape == rgb.shape
    with pytest.raises(ValueError, match="at least one"):
        plot.model_comparison(rgb, {})


def test_model_gallery_has_a_row_per_photo(models, photos):
    classifier, regressor = models
    crops = {name: rgb[:24, :32] for name, rgb in photos.items()}
    fig = plot.model_gallery(crops, {"regression": regressor, "classification": classifier}, T=0.38, size=32)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4 * len(crops)
    assert titles[:4] == [f"{next(iter(crops))}: input L", "regression", "classification, T = 0.38", "original"]
    with pytest.raises(ValueError, match="at least one photo"):
        plot.model_gallery({}, {"regression": regressor})
