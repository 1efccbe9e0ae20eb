"""Tests of colorlab.claims: each claim's verdict on evaluations built to pass or to fail it."""

from __future__ import annotations

import numpy as np
import pytest

from colorlab import sample_photos
from colorlab.claims import (
    PAPER_TABLE1_AUC,
    RAW_AUC_TOLERANCE,
    annealed_between_mean_and_mode,
    beats_l2_on_rebalanced_auc,
    check_claims,
    format_claims,
    gap_change,
    l2_is_desaturated,
    raw_auc_about_gray,
    rebalancing_adds_colour,
)
from colorlab.evaluate import METHODS, evaluate_images
from colorlab.models import build_model

from test_evaluate import fixed_classifier

N = 2000  # bootstrap resamples: enough for stable verdicts on these clear-cut cases


def fake_result(scores: dict[str, dict[str, list[float]]], truth_colourfulness: list[float]) -> dict:
    """An evaluation-shaped dict: ``scores[method][metric]`` lists one value per image."""
    names = [f"photo{i}" for i in range(len(truth_colourfulness))]
    rows = [{"image": name, "method": method, **{metric: values[i] for metric, values in metrics.items()}}
            for method, metrics in scores.items() for i, name in enumerate(names)]
    summary = {method: {metric: {"mean": float(np.mean(v))} for metric, v in metrics.items()}
               for method, metrics in scores.items()}
    truth = [{"image": n, "colorfulness": c} for n, c in zip(names, truth_colourfulness)]
    return {"methods": summary, "images": rows, "ground_truth": {"images": truth}}


def ramp(centre: float, n: int = 12, spread: float = 0.01) -> list[float]:
    return list(centre + spread * np.linspace(-1, 1, n))


def good_result() -> dict:
    """The paper's picture: classification best on rebalanced AuC, level with gray on raw AuC, L2 greyish."""
    return fake_result({
        "gray": {"auc": ramp(0.88), "auc_rebal": ramp(0.70), "colorfulness": ramp(0.1)},
        "regression": {"auc": ramp(0.885), "auc_rebal": ramp(0.74), "colorfulness": ramp(25)},
        "class_mode": {"auc": ramp(0.85), "auc_rebal": ramp(0.75), "colorfulness": ramp(60)},
        "class_mean": {"auc": ramp(0.89), "auc_rebal": ramp(0.76), "colorfulness": ramp(35)},
        "class_annealed": {"auc": ramp(0.87), "auc_rebal": ramp(0.78), "colorfulness": ramp(45)},
    }, ramp(48, spread=5))


def test_every_claim_holds_on_the_papers_picture():
    claims = check_claims(good_result(), rebalancing=(good_result(), good_result()), n=N)
    assert [c.holds for c in claims[:4]] == [True, True, True, True]
    assert len(claims) == 5 and not claims[4].holds  # identical λ pair: no colour added


def test_beats_l2_fails_when_regression_is_better_or_level():
    result = good_result()
    for row in result["images"]:
        if row["method"] == "regression":
            row["auc_rebal"] += 0.10
    claim = beats_l2_on_rebalanced_auc(result, n=N)
    assert not claim.holds and claim.ours.startswith("-")
    assert f"{PAPER_TABLE1_AUC['full'][1]:.1f}%" in claim.paper


@pytest.mark.parametrize("gap, holds", [(RAW_AUC_TOLERANCE - 0.5, True), (RAW_AUC_TOLERANCE + 0.5, False)])
def test_raw_auc_tolerance(gap, holds):
    result = good_result()
    for row in result["images"]:
        if row["method"] == "class_annealed":
            row["auc"] = next(r["auc"] for r in result["images"]
                              if r["method"] == "gray" and r["image"] == row["image"]) - gap / 100
    assert raw_auc_about_gray(result, n=N).holds is holds


def test_desaturation_needs_colourfulness_below_the_photos():
    result = good_result()
    assert l2_is_desaturated(result, n=N).holds
    for row in result["images"]:
        if row["method"] == "regression":
            row["colorfulness"] = 60.0
    claim = l2_is_desaturated(result, n=N)
    assert not claim.holds and "125%" in claim.ours


def test_annealed_outside_the_range_fails():
    result = good_result()
    result["methods"]["class_annealed"]["colorfulness"]["mean"] = 70.0  # more vivid than the mode
    assert not annealed_between_mean_and_mode(result).holds


def test_rebalancing_claim_pairs_photos_and_needs_a_common_photo():
    vivid, plain = good_result(), good_result()
    for row in vivid["images"]:
        row["colorfulness"] += 10.0
    claim = rebalancing_adds_colour(vivid, plain, n=N)
    assert claim.holds and "+10.0" in claim.ours and "(12 photos)" in claim.ours
    for row in plain["images"]:
        row["image"] += "-other"
    with pytest.raises(ValueError, match="share no photo"):
        rebalancing_adds_colour(vivid, plain, n=N)


def test_format_claims_is_a_markdown_table_with_verdicts():
    text = format_claims(check_claims(good_result(), n=N))
    lines = text.splitlines()
    assert lines[0].startswith("| claim in the paper |") and len(lines) == 2 + 4
    assert all(line.count("|") == 5 for line in lines)
    assert lines[2].endswith("| yes |")


def test_claims_on_a_real_evaluation():
    """End to end on real photos: the evaluation records per-image truth, and every claim can be checked."""
    photos = dict(list(sample_photos().items())[:3])
    regressor = build_model("regression", 0.0625).eval()
    result = evaluate_images(photos, fixed_classifier()[0], regressor, size=32, bootstrap=200)
    assert [row["image"] for row in result["ground_truth"]["images"]] == list(photos)
    assert set(result["methods"]) == set(METHODS)
    claims = check_claims(result, rebalancing=(result, result), n=200)
    assert len(claims) == 5 and all(isinstance(c.holds, bool) for c in claims)


def test_a_difference_that_rounds_to_zero_has_no_minus_sign():
    result = good_result()
    for row in result["images"]:
        if row["method"] == "regression":
            row["auc_rebal"] = next(r["auc_rebal"] for r in result["images"]
                                    if r["method"] == "class_annealed" and r["image"] == row["image"]) + 1e-5
    claim = beats_l2_on_rebalanced_auc(result, n=N)
    assert claim.ours.startswith("+0.0 points") and "-0.0" not in claim.ours + claim.paper


def test_gap_change_pairs_the_photos_of_two_evaluations():
    fewer, more = good_result(), good_result()
    assert gap_change(more, fewer, n=N) == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)
    for row in more["images"]:
        if row["method"] == "class_annealed":
            row["auc_rebal"] += 0.02  # the classifier gains 2 points on every photo, regression nothing
    mean, lo, hi = gap_change(more, fewer, n=N)
    assert mean == pytest.approx(2.0) and lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    assert gap_change(fewer, more, n=N)[0] == pytest.approx(-2.0)
    for row in fewer["images"]:
        row["image"] += "-other"
    with pytest.raises(ValueError, match="share no photo"):
        gap_change(more, fewer, n=N)


def test_the_book_model_summary_states_its_size_training_and_standing():
    from colorlab import count_parameters, load_pretrained
    from colorlab.claims import book_model_summary
    from colorlab.pretrained import load_evaluation

    model, evaluation = load_pretrained("classification"), load_evaluation("validation")
    text = book_model_summary(model, evaluation, "https://example.org/card", n=N)
    meta = model.checkpoint_meta
    assert f"{count_parameters(model) / 1e6:.1f} M parameters against the paper's 32.2 M" in text
    assert f"{meta['train_seconds'] / 60:.0f} minutes" in text and f"{meta['steps']:,} steps" in text
    assert "[model card](https://example.org/card)" in text
    assert f"On its {evaluation['n_images']} validation photos" in text
    assert raw_auc_about_gray(evaluation, n=N).ours in text
    assert beats_l2_on_rebalanced_auc(evaluation, n=N).ours in text
    assert "full model is +0.4 and +2.9 points" in text


def test_the_book_model_summary_says_where_the_model_stands():
    from colorlab import load_pretrained
    from colorlab.claims import book_model_summary

    model, result = load_pretrained("classification"), good_result()
    result["n_images"] = 12
    text = book_model_summary(model, result, "card", n=N)
    assert "below gray on raw AuC" in text and "above L2 regression on rebalanced AuC" in text
    gray = {r["image"]: r["auc"] for r in result["images"] if r["method"] == "gray"}
    for i, row in enumerate(r for r in result["images"] if r["method"] == "class_annealed"):
        row["auc"] = gray[row["image"]] + (0.01 if i % 2 else -0.01)  # no difference on average
    assert "level with gray on raw AuC" in book_model_summary(model, result, "card", n=N)
