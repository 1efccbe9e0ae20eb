"""Comparing colorization methods on held-out colour photos, with bootstrap intervals.

The protocol (the paper's Table 1 compares methods the same way, section 3.1):

1. Every colour photo is the ground truth. It is resized so that its shorter side is ``size`` pixels and its
   central ``size`` × ``size`` square is cut (:func:`colorlab.data.center_crop`; 256 by default, the size the
   authors' demo predicts at). Photos whose ab never leaves ±:data:`GRAY_AB_LIMIT` are gray
   already and are skipped: the gray baseline would be perfect on them.
2. Its L is the input. Each method predicts ab at that size: ``gray`` (ab = 0), ``regression`` (the L2 model),
   and the classification model decoded three ways: ``class_mode`` (most probable bin), ``class_mean`` (mean of
   the distribution, T = 1) and ``class_annealed`` (annealed mean, T = 0.38, paper section 2.3). The network
   predicts at 1/4 resolution; ab is upsampled bilinearly to ``size``.
3. Scores per image (:mod:`colorlab.metrics`): ``auc`` and ``auc_rebal`` compare the predicted ab (before any
   gamut clipping) with the true ab; ``psnr``, ``ssim`` and ``colorfulness`` use the sRGB result rounded to 8
   bits, as a user would save it, against the 8-bit ground truth.
4. Over the set: the mean and a 95% percentile-bootstrap interval over images (:func:`colorlab.metrics.bootstrap_ci`).

:func:`temperature_sweep` decodes the same classifier outputs at many temperatures to show the trade-off the paper
describes (section 2.3): small T gives vivid but patchy colours, large T greyish ones.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import metrics
from ._atomic import atomic_write
from .authors import AUTHORS_T
from .color import lab_to_rgb, rgb_to_lab
from .data import MAX_PIXELS, SkippedImageWarning
from .decode import T_ANNEALED
from .models import ColorizationNet, normalize_l

__all__ = [
    "METHODS",
    "AUTHORS_METHODS",
    "METRICS",
    "EVAL_SIZE",
    "GRAY_AB_LIMIT",
    "SWEEP_TEMPERATURES",
    "ground_truth",
    "predict_methods",
    "evaluate_images",
    "evaluate_folder",
    "temperature_sweep",
    "paired_difference",
    "format_table",
    "read_folder",
    "write_json_atomic",
    "save_figure_atomic",
]

#: The methods compared, in table order.
METHODS = ("gray", "regression", "class_mode", "class_mean", "class_annealed")
#: With the authors' weights (``authors``, imported by :func:`colorlab.authors.import_authors_weights`): decoded as
#: their demo does (T = 1, :data:`colorlab.authors.AUTHORS_T`) and with the annealed mean at T, after METHODS.
AUTHORS_METHODS = ("authors_mean", "authors_annealed")
#: The per-image scores, in table order (keys of the JSON).
METRICS = ("auc", "auc_rebal", "psnr", "ssim", "colorfulness")
#: Side of the square the photos are evaluated at (the authors' demo predicts at 256²).
EVAL_SIZE = 256
#: A photo whose |a| and |b| never exceed this (CIELAB units) counts as gray and is not evaluated (the authors'
#: training code uses the same bound to find images without colour).
GRAY_AB_LIMIT = 5.0
#: Temperatures of :func:`temperature_sweep`: 0.01 to 1 on a log scale, plus the paper's 0.38.
SWEEP_TEMPERATURES = tuple(sorted({round(float(t), 4) for t in np.geomspace(0.01, 1.0, 9)} | {T_ANNEALED}))
#: Bootstrap resamples for the intervals.
BOOTSTRAP_RESAMPLES = 10_000

_LABELS = {"auc": "AuC %", "auc_rebal": "AuC rebal %", "psnr": "PSNR dB", "ssim": "SSIM",
           "colorfulness": "colourfulness"}
_PERCENT = {"auc", "auc_rebal"}


# --------------------------------------------------------------------------------------------- one photo


def ground_truth(rgb: np.ndarray, size: int = EVAL_SIZE) -> np.ndarray:
    """The evaluated square of a photo: uint8 (H, W, 3) → uint8 (size, size, 3), shorter side resized to ``size``
    and the centre cut (:func:`colorlab.data.center_crop`)."""
    from .data import center_crop

    return center_crop(rgb, size)


def _model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _forward(model: ColorizationNet, l: torch.Tensor) -> torch.Tensor:
    """Network output for L (1, 1, H, W) in [0, 100], in eval mode, without gradients, in float32."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            param = next(model.parameters())
            return model(normalize_l(l).to(param.device, param.dtype)).float()
    finally:
        model.train(was_training)


def _full_size(ab: torch.Tensor, shape) -> torch.Tensor:
    return F.interpolate(ab, size=tuple(shape), mode="bilinear", align_corners=False)


def _check_model(model, name: str, kind: str) -> None:
    if not isinstance(model, ColorizationNet):
        raise TypeError(f"{name} must be a colorlab model (ColorizationNet); got {type(model).__name__}")
    if model.output_kind != kind:
        raise ValueError(f"{name} must output {kind!r}, but this {model.config['name']!r} model outputs "
                         f"{model.output_kind!r}")


def predict_methods(l: torch.Tensor, classifier: ColorizationNet | None, regressor: ColorizationNet | None,
                    T: float = T_ANNEALED, methods: Iterable[str] = METHODS,
                    authors: ColorizationNet | None = None) -> dict[str, torch.Tensor]:
    """ab of every method for lightness ``l``: (1, 1, H, W) in [0, 100] → {method: (1, 2, H, W) float32 on CPU}.

    The classifier runs once; its logits are decoded three ways (mode; mean, T = 1; annealed mean at ``T``). The
    ``authors`` model (needed by :data:`AUTHORS_METHODS`) runs once too, decoded at T = 1 and at ``T``.
    """
    methods = tuple(methods)
    out: dict[str, torch.Tensor] = {}
    shape = l.shape[-2:]
    if "gray" in methods:
        out["gray"] = torch.zeros(1, 2, *shape)
    if "regression" in methods:
        out["regression"] = _full_size(_forward(regressor, l), shape).cpu()
    decodings = {"class_mode": dict(mode=True), "class_mean": dict(T=1.0), "class_annealed": dict(T=T)}
    wanted = [m for m in decodings if m in methods]
    if wanted:
        logits = _forward(classifier, l)
        for m in wanted:
            out[m] = _full_size(classifier.output_to_ab(logits, **decodings[m]), shape).cpu()
    authored = {"authors_mean": AUTHORS_T, "authors_annealed": T}
    if any(m in methods for m in authored):
        logits = _forward(authors, l)
        out.update({m: _full_size(authors.output_to_ab(logits, t), shape).cpu() for m, t in authored.items()
                    if m in methods})
    return {m: out[m] for m in methods}


def _truth(rgb: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """uint8 (H, W, 3) → Lab (1, 3, H, W) float64, and the ab as numpy (2, H, W)."""
    lab = rgb_to_lab(torch.tensor(rgb).permute(2, 0, 1)[None].double() / 255.0)  # a copy: rgb may be read-only
    return lab, lab[0, 1:].numpy()


def _rgb_uint8(l: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    """L (1, 1, H, W) and ab (1, 2, H, W) → the 8-bit sRGB image (H, W, 3) a user would save (float32 suffices)."""
    lab = torch.cat([l, ab.to(l.dtype)], dim=1).float()
    return (lab_to_rgb(lab)[0] * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _is_gray(true_ab: np.ndarray) -> bool:
    return bool(np.abs(true_ab).max() <= GRAY_AB_LIMIT)


# -------------------------------------------------------------------------------------------------- a set


def _summary(values: list[float], n: int) -> dict:
    """``{"mean", "ci95": [lo, hi]}`` (:func:`colorlab.metrics.summarize`), but ``ci95`` is None for a single
    photo: resampling one value gives a zero-width interval, which would claim a certainty one photo cannot give."""
    if len(values) < 2:
        return {"mean": float(np.mean(values)), "ci95": None}
    return metrics.summarize(values, n=n)


def _summaries(rows: list[dict], keys: Iterable[str], n: int) -> dict:
    return {k: _summary([row[k] for row in rows], n) for k in keys}


def evaluate_images(
    images: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
    classifier: ColorizationNet | None,
    regressor: ColorizationNet | None = None,
    *,
    size: int = EVAL_SIZE,
    T: float = T_ANNEALED,
    prior=None,
    methods: Iterable[str] | None = None,
    bootstrap: int = BOOTSTRAP_RESAMPLES,
    progress: bool = False,
    total: int | None = None,
    authors: ColorizationNet | None = None,
) -> dict:
    """Score every method on every photo and summarise over the set.

    Args:
        images: ``{name: uint8 (H, W, 3)}`` or an iterable of ``(name, rgb)`` pairs (read lazily, one at a time).
        classifier: a classification model (``output_kind == "logits"``), needed by the ``class_*`` methods.
        regressor: a regression model (``output_kind == "ab"``), needed by ``regression``.
        size: side of the evaluated square (:func:`ground_truth`).
        T: temperature of ``class_annealed``.
        prior: the prior of the rebalanced AuC (default: the ImageNet prior, so that scores of different models
            are comparable).
        methods: a subset of :data:`METHODS` (default: all whose model is given).
        bootstrap: number of bootstrap resamples of the intervals.
        progress: show a tqdm progress bar on stderr when it is a terminal.
        total: the number of images, for the progress bar, when ``images`` has no length.
        authors: the authors' weights as a colorlab model (``colorlab import-weights``), needed by
            :data:`AUTHORS_METHODS` (which the default includes when it is given).

    Returns:
        A JSON-ready dict: ``n_images``; ``methods`` → method → metric → ``{"mean", "ci95": [lo, hi]}`` (``ci95``
        None when one image was evaluated: one photo gives no interval);
        ``ground_truth`` → ``{"colorfulness": {...}, "images": [{"image", "colorfulness"}]}`` (of the photos
        themselves, summarised and per image); ``images``: one row per
        image and method ``{"image", "method", "auc", "auc_rebal", "psnr", "ssim", "colorfulness"}``;
        ``accuracy_curves``: ``thresholds`` and, per method, the raw-accuracy curve averaged over the images;
        ``skipped``: ``[{"image", "reason"}]``; and the settings (``size``, ``temperature``, ``metrics``).

    Raises:
        ValueError: a method's model is missing or of the wrong kind, or no colour photo was left to evaluate
            (:class:`colorlab.data.NoImagesError`).
    """
    from .data import NoImagesError

    methods = _chosen_methods(methods, classifier, regressor, T, authors)
    pairs = images.items() if isinstance(images, Mapping) else images
    if progress:
        from tqdm.auto import tqdm

        total = len(images) if hasattr(images, "__len__") else total
        pairs = tqdm(pairs, total=total, desc="evaluate", unit="img", disable=None)  # off when not a terminal
    rows: list[dict] = []
    truth_colorfulness: list[float] = []  # one per evaluated image, in the order of ``names``
    skipped: list[dict] = []
    names: list[str] = []
    curves: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    for name, rgb in pairs:
        gt = ground_truth(rgb, size)
        lab, true_ab = _truth(gt)
        if _is_gray(true_ab):
            skipped.append({"image": str(name), "reason": f"gray (|a|, |b| ≤ {GRAY_AB_LIMIT:g} everywhere)"})
            continue
        names.append(str(name))
        truth_colorfulness.append(metrics.colorfulness(gt))
        scored = _score_image(str(name), gt, lab, true_ab, classifier, regressor, T, methods, prior, authors)
        for row, curve in scored:
            rows.append(row)
            curves[row["method"]].append(curve)
    if not names:
        raise NoImagesError("images: no colour photo to evaluate"
                            + (f" ({len(skipped)} skipped: {skipped[0]['reason']}, ...)" if skipped else ""))
    truth = [{"image": n, "colorfulness": c} for n, c in zip(names, truth_colorfulness)]
    return _result(rows, truth, curves, skipped, methods, size=size, T=T, prior=prior, bootstrap=bootstrap)


def _result(rows: list[dict], truth: list[dict], curves: dict, skipped: list[dict], methods, *, size: int, T: float,
            prior, bootstrap: int) -> dict:
    """The dict :func:`evaluate_images` returns, from its per-image rows, the photos' own colourfulness
    (``[{"image", "colorfulness"}]``), the accuracy curves per method and the skipped photos."""
    return {
        "n_images": len(truth),
        "size": size,
        "temperature": T,
        "metrics": _metric_notes(prior, bootstrap),
        "methods": {m: _summaries([r for r in rows if r["method"] == m], METRICS, bootstrap) for m in methods},
        "ground_truth": {"colorfulness": _summary([t["colorfulness"] for t in truth], bootstrap), "images": truth},
        "accuracy_curves": {"thresholds": metrics.AUC_THRESHOLDS.tolist(),
                            **{m: np.mean(curves[m], axis=0).tolist() for m in methods}},
        "images": rows,
        "skipped": skipped,
    }


def _chosen_methods(methods, classifier, regressor, T, authors=None) -> tuple[str, ...]:
    """The methods to evaluate (default: all whose model is given), checked with their models and T."""
    if methods is None:
        methods = [m for m in METHODS
                   if (m != "regression" or regressor is not None) and (not m.startswith("class") or classifier is not None)]
        methods += list(AUTHORS_METHODS) if authors is not None else []
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS + AUTHORS_METHODS]
    if unknown:
        raise ValueError(f"methods must be among {', '.join(METHODS + AUTHORS_METHODS)}; got {', '.join(unknown)}")
    if not methods:
        raise ValueError("methods: nothing to evaluate")
    if "regression" in methods:
        _check_model(regressor, "regressor", "ab")
    if any(m.startswith("class") for m in methods):
        _check_model(classifier, "classifier", "logits")
    if any(m in AUTHORS_METHODS for m in methods):
        _check_model(authors, "authors", "logits")
    if not (isinstance(T, (int, float)) and math.isfinite(T) and T > 0):
        raise ValueError(f"T must be a positive temperature (0.38 in the paper); got {T!r}")
    return methods


def _score_image(name: str, gt: np.ndarray, lab: torch.Tensor, true_ab: np.ndarray, classifier, regressor,
                 T: float, methods: tuple[str, ...], prior, authors=None) -> list[tuple[dict, np.ndarray]]:
    """One photo's row of metrics and raw-accuracy curve per method (``gt`` its uint8 crop, ``lab`` and
    ``true_ab`` from :func:`_truth`)."""
    l = lab[:, :1]
    weights = metrics.rebalanced_pixel_weights(true_ab, prior)
    scored = []
    for method, ab in predict_methods(l.float(), classifier, regressor, T, methods, authors).items():
        pred_ab = ab[0].double().numpy()
        pred_rgb = _rgb_uint8(l, ab)
        curve = metrics.accuracy_curve(pred_ab, true_ab)
        scored.append(({
            "image": name,
            "method": method,
            "auc": metrics.area_under_curve(curve),
            "auc_rebal": metrics.auc(pred_ab, true_ab, weights=weights),
            "psnr": metrics.psnr(pred_rgb, gt),
            "ssim": metrics.ssim(pred_rgb, gt),
            "colorfulness": metrics.colorfulness(pred_rgb),
        }, curve))
    return scored


def _metric_notes(prior, bootstrap: int) -> dict[str, str]:
    """How each metric of a result was computed, for its ``metrics`` entry."""
    return {
        "auc": "area under the share of pixels with ab error <= t, t = 0..150 step 1, trapezoid / 150",
        "auc_rebal": "auc with pixels weighted by the inverse ImageNet prior of their true bin (lambda = 0)"
        if prior is None else "auc with pixels weighted by the inverse given prior of their true bin (lambda = 0)",
        "psnr": f"sRGB, data_range 1, all channels; identical images {metrics.PSNR_MAX:g} dB",
        "ssim": "sRGB, scikit-image defaults (7x7 uniform window), per channel then averaged",
        "colorfulness": "Hasler & Suesstrunk 2003, signed opponents, 0-255 scale",
        "ci95": f"95% percentile bootstrap over images, {bootstrap} resamples, seed 0; null for a single image, "
                "which gives no interval",
    }


def read_folder(folder, limit: int | None = None, skipped: list | None = None, max_pixels: int | None = MAX_PIXELS):
    """Yield ``(relative name, uint8 (H, W, 3))`` for the images under ``folder`` (recursive, sorted), at most
    ``limit`` readable ones. Files that cannot be opened or decoded (a FIFO or a device is never read), photos
    with more than ``max_pixels`` pixels (None: no limit of colorlab's own) and files of formats colorlab does
    not read (``.gif``, ``.heic``, ...) are skipped with a :class:`colorlab.data.SkippedImageWarning` and
    appended to ``skipped`` as ``{"image", "reason"}``, the reason starting with ``unreadable:``,
    ``too large:`` or ``unsupported:``.

    Raises FileNotFoundError / NotADirectoryError / :class:`colorlab.data.NoImagesError` as
    :func:`colorlab.data.list_images` does.
    """
    from .data import IMAGE_EXTENSIONS, ImageTooLargeError, UnreadableImageError, list_images, load_rgb

    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer; got {limit!r}")
    root = Path(folder)
    skipped = [] if skipped is None else skipped
    unsupported: list[Path] = []
    paths = list_images(root, unsupported)
    for path in unsupported:
        _skip_file(root, path, f"unsupported: format {path.suffix.lower()} (colorlab reads "
                               f"{', '.join(IMAGE_EXTENSIONS)})", skipped)
    count = 0
    for path in paths:
        if limit is not None and count >= limit:
            return
        try:
            rgb = load_rgb(path, max_pixels)
        except ImageTooLargeError as error:
            _skip_file(root, path, f"too large: {error}", skipped)
            continue
        except (UnreadableImageError, OSError) as error:  # OSError: a link to nothing, a link loop
            _skip_file(root, path, f"unreadable: {error}", skipped)
            continue
        count += 1
        yield path.relative_to(root).as_posix(), rgb


def _skip_file(root: Path, path: Path, reason: str, skipped: list) -> None:
    warnings.warn(f"skipping {path}: {reason}", SkippedImageWarning, stacklevel=3)
    skipped.append({"image": path.relative_to(root).as_posix(), "reason": reason})


def evaluate_folder(
    folder,
    classifier: ColorizationNet | None = None,
    regressor: ColorizationNet | None = None,
    *,
    size: int = EVAL_SIZE,
    T: float = T_ANNEALED,
    limit: int | None = None,
    device: str | torch.device = "cpu",
    bootstrap: int = BOOTSTRAP_RESAMPLES,
    progress: bool = False,
    max_pixels: int | None = MAX_PIXELS,
    authors: ColorizationNet | None = None,
) -> dict:
    """:func:`evaluate_images` over the photos of a folder (recursive, sorted by path; the first ``limit``).

    ``classifier`` and ``regressor`` default to the committed models (:func:`colorlab.load_pretrained`) on
    ``device``; ``authors`` (the authors' weights, imported) adds :data:`AUTHORS_METHODS`. Files that cannot be
    read, photos over ``max_pixels`` and unsupported formats are skipped with a warning (:func:`read_folder`)
    and listed in the result's ``skipped`` before the gray photos; the result's ``n_unreadable`` counts them
    (gray photos are left out by the protocol, not counted there).
    """
    from .pretrained import load_pretrained

    if classifier is None:
        classifier = load_pretrained("classification", device=device)
    if regressor is None:
        regressor = load_pretrained("regression", device=device)
    from .data import list_images

    unreadable: list[dict] = []
    total = len(list_images(folder)) if limit is None else min(limit, len(list_images(folder)))
    result = evaluate_images(read_folder(folder, limit, unreadable, max_pixels), classifier, regressor, size=size,
                             T=T, bootstrap=bootstrap, progress=progress, total=total, authors=authors)
    result["skipped"] = unreadable + result["skipped"]
    result["n_unreadable"] = len(unreadable)
    result["folder"] = str(folder)
    return result


def paired_difference(result: dict, method_a: str, method_b: str, metric: str, n: int = BOOTSTRAP_RESAMPLES,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``metric(method_a) − metric(method_b)`` over the same images, with a 95% bootstrap interval.

    Pairing by image removes the variation between photos (some are simply harder), so this interval is the
    right one to decide whether one method beats another; two overlapping per-method intervals do not show
    that they are equal. ``result`` is the dict of :func:`evaluate_images`. Returns ``(mean, lo, hi)``.
    """
    for method in (method_a, method_b):
        if method not in result["methods"]:
            raise ValueError(f"method {method!r} is not in this result (it has {', '.join(result['methods'])})")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    by_image = {}
    for row in result["images"]:
        by_image.setdefault(row["image"], {})[row["method"]] = row[metric]
    differences = [v[method_a] - v[method_b] for v in by_image.values()]
    return metrics.bootstrap_ci(differences, n=n, level=0.95, seed=seed)


# ------------------------------------------------------------------------------------------------ the sweep


def temperature_sweep(
    images: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
    classifier: ColorizationNet,
    temperatures: Iterable[float] = SWEEP_TEMPERATURES,
    *,
    size: int = EVAL_SIZE,
    prior=None,
    bootstrap: int = 2_000,
) -> dict:
    """AuC, rebalanced AuC and colourfulness of the annealed mean as the temperature goes from 0.01 to 1.

    The classifier runs once per photo; its logits are decoded at every temperature (paper section 2.3, Figure 3).

    Returns:
        ``{"temperature": [T...], "auc" | "auc_rebal" | "colorfulness": {"mean": [...], "lo": [...],
        "hi": [...]}, "ground_truth_colorfulness": {"mean", "ci95"}, "n_images": N}`` with 95% bootstrap
        intervals over the photos.
    """
    _check_model(classifier, "classifier", "logits")
    temperatures = [float(t) for t in temperatures]
    if not temperatures or any(not (math.isfinite(t) and t > 0) for t in temperatures):
        raise ValueError(f"temperatures must be positive numbers; got {temperatures!r}")
    pairs = images.items() if isinstance(images, Mapping) else images
    scores = {k: [[] for _ in temperatures] for k in ("auc", "auc_rebal", "colorfulness")}
    truth: list[float] = []
    for _, rgb in pairs:
        gt = ground_truth(rgb, size)
        lab, true_ab = _truth(gt)
        if _is_gray(true_ab):
            continue
        l = lab[:, :1]
        weights = metrics.rebalanced_pixel_weights(true_ab, prior)
        truth.append(metrics.colorfulness(gt))
        logits = _forward(classifier, l.float())
        for i, t in enumerate(temperatures):
            ab = _full_size(classifier.output_to_ab(logits, T=t), l.shape[-2:]).cpu()
            pred_ab = ab[0].numpy()
            scores["auc"][i].append(metrics.auc(pred_ab, true_ab))
            scores["auc_rebal"][i].append(metrics.auc(pred_ab, true_ab, weights=weights))
            scores["colorfulness"][i].append(metrics.colorfulness(_rgb_uint8(l, ab)))
    if not truth:
        from .data import NoImagesError

        raise NoImagesError("images: no colour photo to evaluate")
    result: dict = {"temperature": temperatures, "n_images": len(truth)}
    for key, per_t in scores.items():
        cis = [metrics.bootstrap_ci(v, n=bootstrap) for v in per_t]
        result[key] = {"mean": [c[0] for c in cis], "lo": [c[1] for c in cis], "hi": [c[2] for c in cis]}
    result["ground_truth_colorfulness"] = metrics.summarize(truth, n=bootstrap)
    return result


# ------------------------------------------------------------------------------------------- printing, files


def _cell(summary: dict, percent: bool) -> str:
    scale = 100.0 if percent else 1.0
    digits = 3 if not percent and abs(summary["mean"]) < 2 else 1
    if summary["ci95"] is None:
        return f"{summary['mean'] * scale:.{digits}f} [no interval]"
    lo, hi = summary["ci95"]
    return f"{summary['mean'] * scale:.{digits}f} [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]"


def format_table(result: dict, markdown: bool = False) -> str:
    """A table of :func:`evaluate_images`' result: one row per method, mean [95% interval].

    Plain text with aligned columns, or with ``markdown=True`` a Markdown table (for a notebook's
    ``IPython.display.Markdown``, which a page renders as an HTML table), each followed by a line saying how
    many images were evaluated, at which size and temperature.
    """
    header = ["method"] + [_LABELS[k] for k in METRICS]
    body = [[m] + [_cell(result["methods"][m][k], k in _PERCENT) for k in METRICS] for m in result["methods"]]
    if "ground_truth" in result:
        body.append(["ground truth"] + ["—"] * (len(METRICS) - 1)
                    + [_cell(result["ground_truth"]["colorfulness"], False)])
    n = result["n_images"]
    interval = "one photo gives no interval" if n == 1 else "mean [95% bootstrap interval]"
    footer = (f"{n} image{'s' if n != 1 else ''} at {result['size']}x{result['size']}; {interval}; "
              f"class_annealed at T = {result['temperature']:g}")
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in [header] + body]
        lines.insert(1, "|" + "---|" * len(header))
        return "\n".join(lines + ["", footer])
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [footer])


def write_json_atomic(result: dict, path) -> Path:
    """Write ``result`` as indented JSON (strict: no NaN or infinity) via a temporary file and a rename."""
    text = json.dumps(result, indent=1, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_figure_atomic(fig, path, dpi: int = 150) -> Path:
    """Save a matplotlib figure (format from the extension) via a temporary file and a rename, then close it."""
    import matplotlib.pyplot as plt

    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ValueError(f"path: cannot save a figure as {str(path)!r} (use .png, .pdf, .svg, ...)")
    try:
        return atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight"))
    finally:
        plt.close(fig)
