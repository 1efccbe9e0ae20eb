"""Image-quality metrics for colorization, per image, and bootstrap intervals over a set.

The metrics of Zhang, Isola & Efros (ECCV 2016), section 3.1, plus the ones the colorization literature
reports beside them:

``auc``
    Area under the curve of *raw accuracy*: the share of pixels whose predicted ab lies within L2 distance
    ``t`` of the true ab, swept over ``t = 0, 1, ..., 150`` (paper, section 3.1). The paper does not state the
    threshold step or how the area is normalised; colorlab integrates the curve with the trapezoid rule over
    the thresholds and divides by their span (150), so a perfect prediction scores 1 and a prediction wrong by
    more than 150 everywhere scores 0. For a prediction that is off by the same integer distance
    ``d`` (1 ≤ d ≤ 150) at every pixel this gives exactly ``(150 - d + 1/2) / 150``; as the threshold step goes
    to 0 it tends to ``mean(clip(1 - e / 150, 0, 1))`` over the per-pixel errors ``e``.
``auc_rebalanced``
    The same curve with each pixel weighted by the inverse prior probability of its true bin (the nearest of
    the 313 ab bins), that is the class-rebalancing weights of :func:`colorlab.prior.rebalance_weights` with
    λ = 0 (paper, section 3.1, "rebalanced" column of Table 1). Rare, saturated colours then count as much
    as common, greyish ones.
``psnr``
    Peak signal-to-noise ratio of the sRGB image in dB with ``data_range=1.0`` (images as floats in [0, 1]),
    over all pixels and all three channels (:func:`skimage.metrics.peak_signal_noise_ratio`). A perfect
    match has infinite PSNR; colorlab reports :data:`PSNR_MAX` = 100 dB instead so that means and intervals
    stay finite. Only exact or nearly exact copies reach it: one 8-bit step in one channel of one pixel of a
    256² image is already 101 dB.
``ssim``
    Structural similarity of the sRGB image (:func:`skimage.metrics.structural_similarity`), with
    ``data_range=1.0`` and ``channel_axis=-1``: computed on R, G and B separately with scikit-image's
    defaults (7×7 uniform window, sample covariance) and averaged over the channels. A colorization copies L
    from the input, so most of the structure is right by construction and SSIM stays close to 1 even for
    a grey output: read it as a check that nothing is broken, not as a score of colour.
``colorfulness``
    Hasler & Süsstrunk (2003), "Measuring colourfulness in natural images", equation (3) on 0–255 values:
    ``rg = R - G``, ``yb = (R + G) / 2 - B``,
    ``M = sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²)``, with the *signed* opponent channels as in the
    paper (some later papers take ``|R - G|`` and ``|yb|``, which changes both terms) and population standard
    deviations (ddof = 0). A grey image scores 0.

Image arguments follow one rule: torch tensors are channel-first like the rest of colorlab, ``(B, C, H, W)``
or ``(C, H, W)``; numpy arrays of *RGB* images are channel-last like images on disk, ``(H, W, 3)`` or
``(B, H, W, 3)``; numpy ab arrays are channel-first ``(2, H, W)`` or ``(B, 2, H, W)``. uint8 RGB is divided
by 255; float RGB is taken as [0, 1]. A single image gives a Python ``float``; a batch gives a float64 numpy
array of shape ``(B,)``. Everything is computed in float64 on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

__all__ = [
    "AUC_THRESHOLDS",
    "AUC_MAX_DISTANCE",
    "PSNR_MAX",
    "COLORFULNESS_MEAN_WEIGHT",
    "accuracy_curve",
    "area_under_curve",
    "auc",
    "auc_rebalanced",
    "psnr",
    "ssim",
    "colorfulness",
    "bootstrap_ci",
    "rebalanced_pixel_weights",
    "summarize",
]

#: Largest ab distance of the accuracy curve (paper, section 3.1: thresholds from 0 to 150).
AUC_MAX_DISTANCE = 150
#: The thresholds colorlab sweeps: 0, 1, ..., 150 (the paper does not state its step; this is ours).
AUC_THRESHOLDS = np.arange(0, AUC_MAX_DISTANCE + 1, dtype=np.float64)
#: The value :func:`psnr` reports for identical images instead of infinity (dB).
PSNR_MAX = 100.0
#: Weight of the mean term in the colourfulness of Hasler & Süsstrunk (2003), equation (3).
COLORFULNESS_MEAN_WEIGHT = 0.3


# --------------------------------------------------------------------------------------------- input handling


def _to_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu").numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(x).__name__}")


def _ab_batch(ab, name: str) -> tuple[np.ndarray, bool]:
    """ab (2, H, W) or (B, 2, H, W), tensor or array → float64 (B, 2, H, W) and whether the input was single."""
    array = _to_numpy(ab, name)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 3:
        array, single = array[None], True
    elif array.ndim == 4:
        single = False
    else:
        raise ValueError(f"{name} must have shape (2, H, W) or (B, 2, H, W), got {tuple(array.shape)}")
    if array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (2, H, W) or (B, 2, H, W) with 2 channels (a, b), "
                         f"got {tuple(array.shape)}")
    return array.astype(np.float64, copy=False), single


def _rgb_batch(rgb, name: str) -> tuple[np.ndarray, bool]:
    """RGB as described in the module docstring → float64 (B, H, W, 3) in [0, 1] and whether it was single."""
    if isinstance(rgb, torch.Tensor):
        array = rgb.detach().to("cpu").numpy()
        if array.ndim not in (3, 4) or array.shape[-3] != 3:
            raise ValueError(f"{name} must have shape (3, H, W) or (B, 3, H, W) as a torch tensor, "
                             f"got {tuple(array.shape)}")
        array = np.moveaxis(array, -3, -1)
    elif isinstance(rgb, np.ndarray):
        array = rgb
        if array.ndim not in (3, 4) or array.shape[-1] != 3:
            raise ValueError(f"{name} must have shape (H, W, 3) or (B, H, W, 3) as a numpy array, "
                             f"got {tuple(array.shape)}")
    else:
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(rgb).__name__}")
    if array.dtype == np.uint8:
        array = array.astype(np.float64) / 255.0
    elif array.dtype.kind == "f":
        array = array.astype(np.float64, copy=False)
    else:
        raise TypeError(f"{name} must be uint8 (0-255) or float (0-1), got dtype {array.dtype}")
    single = array.ndim == 3
    return (array[None] if single else array), single


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")


def _result(values: np.ndarray, single: bool):
    return float(values[0]) if single else values


# ------------------------------------------------------------------------------------------------------- AuC


def _thresholds(thresholds) -> np.ndarray:
    t = np.asarray(AUC_THRESHOLDS if thresholds is None else thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"thresholds must be a 1-D sequence of at least 2 distances, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError("thresholds must be finite and strictly increasing")
    return t


def _weighted_curve(errors: np.ndarray, weights: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Share of weight with error ≤ t, for one image: errors, weights (N,) → (len(t),)."""
    order = np.argsort(errors, kind="stable")
    sorted_errors = errors[order]
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    total = cumulative[-1]
    if total <= 0:
        raise ValueError("the pixel weights of an image sum to zero; the accuracy curve is undefined")
    return cumulative[np.searchsorted(sorted_errors, t, side="right")] / total



def _pixel_weights(weights, shape: tuple[int, ...]) -> np.ndarray:
    """weights (H, W) or (B, H, W) → float64 (B, H·W), checked; shape is the (B, 2, H, W) of the ab batch."""
    w = _to_numpy(weights, "weights").astype(np.float64)
    if w.ndim == 2:
        w = w[None]
    expected = (shape[0], *shape[2:])
    if w.shape != expected:
        raise ValueError(f"weights must have shape (H, W) or (B, H, W) = {expected}, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    return w.reshape(shape[0], -1)


def _curves(pred: np.ndarray, true: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Batches (B, 2, H, W) → accuracy curves (B, len(t))."""
    errors = np.sqrt(((pred - true) ** 2).sum(axis=1)).reshape(pred.shape[0], -1)
    if w is None:
        w = np.ones_like(errors)
    return np.stack([_weighted_curve(e, wi, t) for e, wi in zip(errors, w)])


def _prepare_pair(pred_ab, true_ab) -> tuple[np.ndarray, np.ndarray, bool]:
    pred, single = _ab_batch(pred_ab, "pred_ab")
    true, true_single = _ab_batch(true_ab, "true_ab")
    if single != true_single:
        raise ValueError("pred_ab and true_ab must both be single images (2, H, W) or both batches (B, 2, H, W), "
                         f"got shapes {tuple(np.shape(pred_ab))} and {tuple(np.shape(true_ab))}")
    _check_same_shape(pred, true, "pred_ab", "true_ab")
    return pred, true, single


def accuracy_curve(pred_ab, true_ab, thresholds=None, weights=None) -> np.ndarray:
    """Raw accuracy as a function of the ab distance threshold (paper, section 3.1).

    pred_ab, true_ab: ab in raw CIELAB units, (2, H, W) or (B, 2, H, W), torch tensors or numpy arrays.
    thresholds: increasing distances (default :data:`AUC_THRESHOLDS`, 0 to 150 in steps of 1).
    weights: optional per-pixel weights (H, W) or (B, H, W), finite and non-negative.

    Returns float64 ``(len(thresholds),)`` for one image or ``(B, len(thresholds))`` for a batch: the
    (weighted) share of pixels whose L2 error in ab is at most each threshold.

    >>> import numpy as np
    >>> true = np.zeros((2, 4, 4)); pred = true.copy(); pred[0] += 3.0
    >>> accuracy_curve(pred, true, thresholds=[0, 2, 3, 4]).tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    pred, true, single = _prepare_pair(pred_ab, true_ab)
    t = _thresholds(thresholds)
    w = None if weights is None else _pixel_weights(weights, pred.shape)
    curves = _curves(pred, true, t, w)
    return curves[0] if single else curves


def auc(pred_ab, true_ab, thresholds=None, weights=None):
    """Area under the raw-accuracy curve, normalised to [0, 1] (paper, section 3.1).

    The curve of :func:`accuracy_curve` is integrated with the trapezoid rule over ``thresholds`` (default
    0, 1, ..., 150) and divided by the span ``thresholds[-1] - thresholds[0]``. A prediction off by the same
    integer distance d ∈ [1, 150] at every pixel scores ``(150 - d + 0.5) / 150``; a perfect one scores 1.

    pred_ab, true_ab: (2, H, W) → float, or (B, 2, H, W) → float64 array (B,), one value per image.
    weights: optional per-pixel weights (H, W) or (B, H, W), finite and non-negative.

    >>> import numpy as np
    >>> true = np.zeros((2, 8, 8)); pred = true.copy(); pred[1] -= 10.0
    >>> auc(pred, true) == (150 - 10 + 0.5) / 150
    True
    """
    pred, true, single = _prepare_pair(pred_ab, true_ab)
    t = _thresholds(thresholds)
    w = None if weights is None else _pixel_weights(weights, pred.shape)
    return _result(area_under_curve(_curves(pred, true, t, w), t), single)


def area_under_curve(curve, thresholds=None):
    """Normalised area under accuracy curve(s): trapezoid rule over ``thresholds``, divided by their span.

    curve: (len(thresholds),) → float, or (B, len(thresholds)) → float64 (B,). This is how :func:`auc` turns the
    curve of :func:`accuracy_curve` into one number in [0, 1].

    >>> area_under_curve([0.0, 1.0, 1.0], thresholds=[0, 1, 2])
    0.75
    """
    t = _thresholds(thresholds)
    c = np.asarray(curve, dtype=np.float64)
    if c.shape[-1:] != t.shape or c.ndim not in (1, 2):
        raise ValueError(f"curve must have shape ({t.size},) or (B, {t.size}); got {c.shape}")
    values = np.trapezoid(c, t, axis=-1) / (t[-1] - t[0])
    return float(values) if c.ndim == 1 else values


def rebalanced_pixel_weights(true_ab, prior=None) -> np.ndarray:
    """Per-pixel weights of the rebalanced AuC: the inverse prior of each pixel's true bin, λ = 0.

    true_ab: (2, H, W) or (B, 2, H, W) raw ab → float64 (H, W) or (B, H, W), ``w[nearest_bin(true_ab)]`` with
    ``w = colorlab.prior.rebalance_weights(prior, lam=0)``; prior defaults to the ImageNet prior.
    """
    from colorlab.encode import nearest_bin
    from colorlab.prior import imagenet_prior, rebalance_weights

    true, single = _ab_batch(true_ab, "true_ab")
    p = imagenet_prior() if prior is None else prior
    w = rebalance_weights(p, lam=0.0).numpy()
    index = nearest_bin(torch.from_numpy(true)).numpy()
    pixel_w = w[index]
    return pixel_w[0] if single else pixel_w


def auc_rebalanced(pred_ab, true_ab, prior=None, thresholds=None):
    """AuC with each pixel weighted by the inverse prior probability of its true bin (λ = 0).

    Paper, section 3.1 ("class-rebalanced" raw accuracy): the weight of a pixel is ``w[nearest_bin(true_ab)]``
    with ``w = colorlab.prior.rebalance_weights(prior, lam=0)`` (so that Σ p·w = 1); bins of prior 0 get the
    finite weight that function gives them. prior: float (NUM_BINS,) probabilities over the ab bins, default
    :func:`colorlab.prior.imagenet_prior`. Shapes and return value as :func:`auc`.
    """
    pred, true, single = _prepare_pair(pred_ab, true_ab)
    values = auc(pred, true, thresholds, rebalanced_pixel_weights(true, prior))
    return _result(values, single)


# -------------------------------------------------------------------------------------------- PSNR and SSIM


def psnr(pred_rgb, true_rgb):
    """Peak signal-to-noise ratio of sRGB images in dB, ``data_range=1.0``, all three channels together.

    ``10 · log10(1 / MSE)`` with the MSE over every pixel and channel of the image in [0, 1]
    (:func:`skimage.metrics.peak_signal_noise_ratio`); identical images report :data:`PSNR_MAX` (100 dB)
    instead of infinity, and no value exceeds it.

    pred_rgb, true_rgb: torch (3, H, W) / (B, 3, H, W) or numpy (H, W, 3) / (B, H, W, 3), uint8 or float in
    [0, 1] (see the module docstring) → float, or float64 (B,) for a batch.

    >>> import numpy as np
    >>> true = np.full((4, 4, 3), 0.5); round(psnr(true + 0.1, true), 6)
    20.0
    """
    from skimage.metrics import peak_signal_noise_ratio

    pred, single = _rgb_batch(pred_rgb, "pred_rgb")
    true, _ = _rgb_batch(true_rgb, "true_rgb")
    _check_same_shape(pred, true, "pred_rgb", "true_rgb")
    values = np.empty(pred.shape[0])
    for i, (p, t) in enumerate(zip(pred, true)):
        if np.array_equal(p, t):
            values[i] = PSNR_MAX
        else:
            values[i] = min(PSNR_MAX, peak_signal_noise_ratio(t, p, data_range=1.0))
    return _result(values, single)


def ssim(pred_rgb, true_rgb):
    """Structural similarity of sRGB images (Wang et al. 2004) via scikit-image.

    :func:`skimage.metrics.structural_similarity` with ``data_range=1.0`` and ``channel_axis=-1``: SSIM of R, G
    and B separately with a 7×7 uniform window, averaged over the three channels. Both sides must be at least
    7 pixels high and wide. Because a colorization copies L, SSIM stays near 1 whatever the colours.

    pred_rgb, true_rgb: as :func:`psnr` → float, or float64 (B,) for a batch.
    """
    from skimage.metrics import structural_similarity

    pred, single = _rgb_batch(pred_rgb, "pred_rgb")
    true, _ = _rgb_batch(true_rgb, "true_rgb")
    _check_same_shape(pred, true, "pred_rgb", "true_rgb")
    if min(pred.shape[1:3]) < 7:
        raise ValueError(f"pred_rgb and true_rgb must be at least 7x7 pixels for SSIM, got {pred.shape[1:3]}")
    values = np.array([structural_similarity(t, p, data_range=1.0, channel_axis=-1)
                       for p, t in zip(pred, true)], dtype=np.float64)
    return _result(values, single)


# ------------------------------------------------------------------------------------------------ colourfulness


def colorfulness(rgb):
    """Colourfulness of Hasler & Süsstrunk (2003), equation (3), on the 0–255 scale.

    ``rg = R - G``, ``yb = (R + G)/2 - B`` (signed, as in the paper), then
    ``M = sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²)`` with population standard deviations over the
    pixels. A grey image scores 0; the paper's scale calls about 33 "moderately", 59 "quite" and 82 "highly"
    colourful.

    rgb: torch (3, H, W) / (B, 3, H, W) or numpy (H, W, 3) / (B, H, W, 3), uint8 or float in [0, 1]
    → float, or float64 (B,) for a batch.

    >>> import numpy as np
    >>> red = np.zeros((2, 2, 3), np.uint8); red[..., 0] = 255
    >>> round(colorfulness(red), 4) == round(0.3 * (255 ** 2 + 127.5 ** 2) ** 0.5, 4)
    True
    """
    image, single = _rgb_batch(rgb, "rgb")
    image = image * 255.0
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    rg = (r - g).reshape(image.shape[0], -1)
    yb = (0.5 * (r + g) - b).reshape(image.shape[0], -1)
    spread = np.sqrt(rg.var(axis=1) + yb.var(axis=1))
    centre = np.sqrt(rg.mean(axis=1) ** 2 + yb.mean(axis=1) ** 2)
    return _result(spread + COLORFULNESS_MEAN_WEIGHT * centre, single)


# ------------------------------------------------------------------------------------------------- bootstrap


def bootstrap_ci(values: Iterable[float], n: int = 10_000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-image values with a percentile bootstrap confidence interval.

    Resamples the values with replacement ``n`` times (numpy ``default_rng(seed)``, so the interval is
    reproducible), takes the mean of each resample, and returns ``(mean, lo, hi)`` where ``lo``/``hi`` are
    the ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of those means. One value gives ``(v, v, v)``.

    values: finite numbers, at least one. n: number of resamples ≥ 1. level: in (0, 1).

    >>> mean, lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
    >>> mean, lo <= mean <= hi
    (2.5, True)
    """
    x = np.asarray(list(values) if not isinstance(values, (np.ndarray, torch.Tensor)) else _to_numpy(values, "values"),
                   dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("values must hold at least one number")
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite (got NaN or infinity)")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = np.empty(n)
    chunk = max(1, 2_000_000 // x.size)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        means[start:stop] = x[rng.integers(0, x.size, size=(stop - start, x.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return mean, float(lo), float(hi)


def summarize(values: Iterable[float], n: int = 10_000, seed: int = 0) -> dict:
    """``{"mean": m, "ci95": [lo, hi]}``: :func:`bootstrap_ci` at level 0.95, the form the evaluation JSON uses."""
    mean, lo, hi = bootstrap_ci(values, n=n, level=0.95, seed=seed)
    return {"mean": mean, "ci95": [lo, hi]}
