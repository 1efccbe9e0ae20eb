"""The paper's claims about its results, set against what colorlab's models measure (chapter 7).

Zhang, Isola & Efros (2016) support their method with a few comparative claims: Table 1 (AuC on 10,000 ImageNet
validation images) and the discussion of §2.1–2.3. :func:`check_claims` restates five of them as tests on an
evaluation result of :func:`colorlab.evaluate.evaluate_images` (every method on the same photos) and returns, for
each, what the paper reports, what we measure (a per-photo paired difference with its 95% bootstrap interval),
and whether the claim holds here. :func:`format_claims` writes them as a Markdown table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from .evaluate import BOOTSTRAP_RESAMPLES, paired_difference
from .metrics import bootstrap_ci

__all__ = ["PAPER_TABLE1_AUC", "RAW_AUC_TOLERANCE", "Claim", "check_claims", "format_claims", "gap_change",
           "book_model_summary"]

#: Table 1 of the paper: (raw, rebalanced) AuC in % on 10,000 ImageNet validation images. "l2" is their
#: regression network, "class" the classification network trained without rebalancing (λ = 1), "full" the
#: method of the paper (classification, λ = 0.5, annealed mean).
PAPER_TABLE1_AUC = {"gray": (89.1, 58.0), "l2": (91.2, 64.4), "class": (91.6, 65.1), "full": (89.5, 67.3)}

#: How many points below gray's raw AuC still count as "about gray's" (the paper's full model is 0.4 above).
RAW_AUC_TOLERANCE = 2.0


@dataclass(frozen=True)
class Claim:
    """One row of the claims table: the claim, the paper's evidence, our measurement, and the verdict."""

    claim: str
    paper: str
    ours: str
    holds: bool


def _interval(mean: float, lo: float, hi: float, unit: str = "") -> str:
    return f"{mean:+z.1f}{unit} [{lo:+z.1f}, {hi:+z.1f}]"


def _points(result: Mapping, a: str, b: str, metric: str, n: int) -> tuple[float, float, float]:
    """Paired difference a − b of an AuC metric, in percentage points."""
    return tuple(100 * v for v in paired_difference(result, a, b, metric, n=n))


def _per_image(result: Mapping, method: str, metric: str) -> dict[str, float]:
    return {row["image"]: row[metric] for row in result["images"] if row["method"] == method}


def _paired_across(first: dict[str, float], second: dict[str, float], names: str, n: int):
    """Mean of ``first[photo] − second[photo]`` over the photos of two evaluations that both have, its 95%
    bootstrap interval, and how many photos that is: ``(mean, lo, hi, count)``. ``names`` names the two
    evaluations in the error raised when they share no photo."""
    common = sorted(first.keys() & second.keys())
    if not common:
        raise ValueError(f"{names}: the two evaluations share no photo")
    return (*bootstrap_ci([first[name] - second[name] for name in common], n=n), len(common))


def beats_l2_on_rebalanced_auc(result: Mapping, n: int = BOOTSTRAP_RESAMPLES) -> Claim:
    """Table 1: the full model has the best rebalanced AuC, above L2 regression.

    Holds if the paired interval of class_annealed − regression lies above 0.
    """
    full, l2 = PAPER_TABLE1_AUC["full"][1], PAPER_TABLE1_AUC["l2"][1]
    mean, lo, hi = _points(result, "class_annealed", "regression", "auc_rebal", n)
    return Claim(
        "classification beats L2 regression on rebalanced AuC",
        f"{full:.1f}% vs {l2:.1f}% ({full - l2:+z.1f})",
        _interval(mean, lo, hi, " points"),
        lo > 0,
    )


def raw_auc_about_gray(result: Mapping, n: int = BOOTSTRAP_RESAMPLES) -> Claim:
    """Table 1: gray "does quite well" on raw AuC and the full model is about level with it. Holds if the mean
    paired difference class_annealed − gray is at least −:data:`RAW_AUC_TOLERANCE` points."""
    full, gray = PAPER_TABLE1_AUC["full"][0], PAPER_TABLE1_AUC["gray"][0]
    mean, lo, hi = _points(result, "class_annealed", "gray", "auc", n)
    return Claim(f"its raw AuC is about gray's (within {RAW_AUC_TOLERANCE:g} points)",
                 f"{full:.1f}% vs {gray:.1f}% ({full - gray:+z.1f})", _interval(mean, lo, hi, " points"),
                 mean >= -RAW_AUC_TOLERANCE)


def l2_is_desaturated(result: Mapping, n: int = BOOTSTRAP_RESAMPLES) -> Claim:
    """§2.1: an L2 loss averages the plausible colours into greyish, desaturated ones. Holds if the paired
    interval of the regression's colourfulness minus the photo's own lies below 0."""
    truth = {row["image"]: row["colorfulness"] for row in result["ground_truth"]["images"]}
    predicted = _per_image(result, "regression", "colorfulness")
    mean, lo, hi = bootstrap_ci([predicted[name] - truth[name] for name in predicted], n=n)
    share = np.mean(list(predicted.values())) / np.mean([truth[name] for name in predicted])
    return Claim("L2 regression is desaturated", "qualitative (§2.1)",
                 f"colourfulness {share:.0%} of the photos'; {_interval(mean, lo, hi)}", hi < 0)


def annealed_between_mean_and_mode(result: Mapping) -> Claim:
    """§2.3: the annealed mean keeps the mode's vibrancy and the mean's coherence. Holds if its mean AuC and mean
    colourfulness both lie between those of the mean (T = 1) and the mode."""
    parts, holds = [], True
    for metric, label, scale in (("auc", "AuC", 100), ("colorfulness", "colourfulness", 1)):
        mode, annealed, mean = (scale * result["methods"][m][metric]["mean"]
                                for m in ("class_mode", "class_annealed", "class_mean"))
        holds &= min(mode, mean) <= annealed <= max(mode, mean)
        parts.append(f"{label} {mode:.1f} / {annealed:.1f} / {mean:.1f}")
    return Claim("the annealed mean lies between mean and mode", "qualitative (§2.3)",
                 "mode / annealed / mean: " + "; ".join(parts), holds)


def rebalancing_adds_colour(rebalanced: Mapping, plain: Mapping, n: int = BOOTSTRAP_RESAMPLES) -> Claim:
    """§2.2 and Table 1 ("class" vs "full"): class rebalancing makes the colours more vivid. ``rebalanced`` and
    ``plain`` are evaluations of two classifiers trained alike except λ (0.5 and 1) on the same photos. Holds if
    the paired interval of their class_annealed colourfulness difference lies above 0."""
    with_w, without = (_per_image(r, "class_annealed", "colorfulness") for r in (rebalanced, plain))
    mean, lo, hi, count = _paired_across(with_w, without, "rebalanced, plain", n)
    cls, full = PAPER_TABLE1_AUC["class"][1], PAPER_TABLE1_AUC["full"][1]
    return Claim("class rebalancing raises colourfulness",
                 f"rebalanced AuC {cls:.1f}% → {full:.1f}%; colourfulness not measured",
                 f"colourfulness {_interval(mean, lo, hi)} ({count} photos)", lo > 0)


def gap_change(more: Mapping, fewer: Mapping, n: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float, float]:
    """How far the rebalanced-AuC gap class_annealed − regression moved between two pairs of models, trained
    alike on fewer and on more photos and evaluated on the same photos: the mean over those photos of (gap with
    ``more``) − (gap with ``fewer``), in points, with its 95% bootstrap interval. Above 0: the classifier gained
    on regression with the extra photos."""

    def gaps(result: Mapping) -> dict[str, float]:
        full, l2 = (_per_image(result, method, "auc_rebal") for method in ("class_annealed", "regression"))
        return {name: full[name] - l2[name] for name in full.keys() & l2.keys()}

    mean, lo, hi, _ = _paired_across(gaps(more), gaps(fewer), "more, fewer", n)
    return 100 * mean, 100 * lo, 100 * hi


def check_claims(result: Mapping, rebalancing: tuple[Mapping, Mapping] | None = None,
                 n: int = BOOTSTRAP_RESAMPLES) -> list[Claim]:
    """The five claims tested on ``result`` (:func:`colorlab.evaluate.evaluate_images` with every method).

    Args:
        result: an evaluation with the methods gray, regression, class_mode, class_mean and class_annealed.
        rebalancing: ``(rebalanced, plain)`` evaluations of two classifiers that differ only in λ (0.5 and 1),
            for the last claim; None leaves that claim out.
        n: bootstrap resamples of the intervals.
    """
    claims = [beats_l2_on_rebalanced_auc(result, n), raw_auc_about_gray(result, n), l2_is_desaturated(result, n),
              annealed_between_mean_and_mode(result)]
    if rebalancing is not None:
        claims.append(rebalancing_adds_colour(*rebalancing, n=n))
    return claims


def format_claims(claims: list[Claim]) -> str:
    """A Markdown table: claim | paper | ours (mean [95% interval]) | holds here?"""
    lines = ["| claim in the paper | paper's number | ours | holds here? |", "|---|---|---|---|"]
    lines += [f"| {c.claim} | {c.paper} | {c.ours} | {'yes' if c.holds else '**no**'} |" for c in claims]
    return "\n".join(lines)


def _side(lo: float, hi: float) -> str:
    return "above" if lo > 0 else "below" if hi < 0 else "level with"


def book_model_summary(model, evaluation: Mapping, card: str, n: int = BOOTSTRAP_RESAMPLES) -> str:
    """What the book's classifier is and how it stands against gray and L2, in two sentences of Markdown.

    Args:
        model: the committed classifier (:func:`colorlab.load_pretrained`): its size and training come from its
            configuration and the notes of its checkpoint.
        evaluation: its committed evaluation (``load_evaluation("validation")``): the paired differences of
            raw AuC against gray and of rebalanced AuC against L2, with 95% intervals, next to Table 1's.
        card: the URL of its model card, linked from the text.
    """
    from .models import build_model, count_parameters

    meta, config = model.checkpoint_meta, model.checkpoint_meta["train_config"]
    with torch.device("meta"):
        paper_size = count_parameters(build_model(model.config["name"], width=1.0))
    gray = _points(evaluation, "class_annealed", "gray", "auc", n)
    l2 = _points(evaluation, "class_annealed", "regression", "auc_rebal", n)
    (full, full_rebal), (gray_paper, _), (_, l2_paper) = (PAPER_TABLE1_AUC[k] for k in ("full", "gray", "l2"))
    return (
        f"The book's classifier is small: {model.config['name'].upper()} at width {model.config['width']:g}, "
        f"{count_parameters(model) / 1e6:.1f} M parameters against the paper's {paper_size / 1e6:.1f} M, "
        f"trained for {meta['train_seconds'] / 60:.0f} minutes on a {config['device'].upper()} "
        f"({meta['steps']:,} steps of {config['batch_size']} crops of {config['image_size']}²; its "
        f"[model card]({card}) has the data and the recipe). On its {evaluation['n_images']} validation photos it "
        f"is {_side(*gray[1:])} gray on raw AuC ({_interval(*gray, ' points')}) and {_side(*l2[1:])} L2 "
        f"regression on rebalanced AuC ({_interval(*l2, ' points')}, paired 95% intervals), where the paper's "
        f"full model is {full - gray_paper:+z.1f} and {full_rebal - l2_paper:+z.1f} points (Table 1)."
    )
