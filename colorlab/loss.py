"""Training targets and losses: class-rebalanced cross-entropy on soft targets, and the L2 baseline.

Paper §2.1–2.2 (Zhang, Isola & Efros, ECCV 2016): the network's logits at 1/4 resolution are compared with the
soft-encoded ab of the photo by a multinomial cross-entropy, each pixel weighted by the rebalancing weight of its
nearest true bin, ``w[argmax Z]``. Details follow the authors' released training code where the paper is silent:

* **Target resolution.** The targets are the photo's ab subsampled at every 4th pixel (pixel (4i, 4j) for
  output cell (i, j)), as the authors' Caffe model does (a fixed stride-4 1×1 convolution on ab). Subsampling
  keeps true colours: at an edge between red and green the target is red or green, and over many crops the
  cross-entropy sees the patch's mix of colours — exactly the multimodality the method wants. Average pooling
  would instead train towards the mean colour of the patch, a desaturated colour that is in neither region.
* **Grey images.** An image whose every pixel has |a| ≤ 5 and |b| ≤ 5 (a greyscale photo stored as RGB) carries
  weight 0, as the authors' ``NonGrayMaskLayer`` does: it has no colour to learn from.
* **Weighting.** The authors apply the per-pixel weight to the gradient only (their forward loss is unweighted);
  here the loss itself is weighted, which gives the same gradients and a loss that reports what is optimised.
* **Normalisation.** The authors sum over pixels and bins and divide by the batch size; here the loss is the
  mean over pixels (a constant factor h·w smaller, so learning rates differ by that factor).

Everything runs on the batch's device, in batches, with no per-pixel Python and without waiting for the device
(no value is read back to the host), so a training step never synchronises with a GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._validate import check_image
from .bins import NUM_BINS
from .color import rgb_to_lab
from .encode import SIGMA, SOFT_K, soft_encode_sparse
from .models import AB_SCALE, OUTPUT_STRIDE, SIZE_MULTIPLE, normalize_l

#: An image whose |a| and |b| never exceed this (in ab units) counts as grey and gets weight 0 (the authors'
#: ``NonGrayMaskLayer``, threshold 5).
GREY_AB_THRESHOLD = 5.0


def prepare_batch(
    rgb_uint8: torch.Tensor,
    *,
    k: int = SOFT_K,
    sigma: float = SIGMA,
    class_weights: torch.Tensor | None = None,
    grey_threshold: float | None = GREY_AB_THRESHOLD,
) -> dict[str, torch.Tensor]:
    """Turn a batch of uint8 photos into the network's input and the training targets, on the batch's device.

    Args:
        rgb_uint8: (B, 3, H, W) uint8 sRGB, H and W multiples of 8 (the network's output is then exactly
            H/4 × W/4). Move it to the training device first; everything here runs where it lives.
        k, sigma: soft encoding (paper: 5 nearest bins, σ = 5).
        class_weights: (NUM_BINS,) rebalancing weights, e.g. ``rebalance_weights(prior, lam)``; None means no
            rebalancing (every class weight 1, the same as λ = 1).
        grey_threshold: images with every |a|, |b| ≤ this get weight 0; None keeps them.

    Returns:
        dict of float32 tensors (``index`` int64) on the batch's device:

        * ``l``: (B, 1, H, W) lightness in [0, 100];
        * ``l_norm``: (B, 1, H, W) the network's input, :func:`colorlab.models.normalize_l` of ``l``;
        * ``ab``: (B, 2, H, W) the photo's ab;
        * ``ab_quarter``: (B, 2, H/4, W/4) ab at the output's resolution (every 4th pixel);
        * ``index``, ``weight``: (B, k, H/4, W/4) the sparse soft target (nearest bin first, weights summing to 1);
        * ``pixel_w``: (B, H/4, W/4) the class weight of each pixel's nearest bin, 0 for grey images.
    """
    if not isinstance(rgb_uint8, torch.Tensor) or rgb_uint8.dtype != torch.uint8:
        got = rgb_uint8.dtype if isinstance(rgb_uint8, torch.Tensor) else type(rgb_uint8).__name__
        raise TypeError(f"rgb_uint8 must be a uint8 torch.Tensor of shape (B, 3, H, W); got {got}")
    check_image(rgb_uint8, 3, "rgb_uint8", floating=False)
    height, width = rgb_uint8.shape[-2:]
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(
            f"rgb_uint8 must have height and width divisible by {SIZE_MULTIPLE} (so that the network's output is "
            f"exactly 1/{OUTPUT_STRIDE} of the input); got {height} × {width}"
        )
    lab = rgb_to_lab(rgb_uint8.to(torch.float32) / 255.0)
    l, ab = lab[:, :1], lab[:, 1:]
    ab_quarter = ab[:, :, ::OUTPUT_STRIDE, ::OUTPUT_STRIDE].contiguous()
    index, weight = soft_encode_sparse(ab_quarter, k, sigma, check_nan=False)  # ab of uint8: never NaN
    if class_weights is None:
        pixel_w = torch.ones_like(index[:, 0], dtype=torch.float32)
    else:
        class_weights = torch.as_tensor(class_weights).to(device=index.device, dtype=torch.float32)
        if class_weights.shape != (NUM_BINS,):
            raise ValueError(f"class_weights must have shape ({NUM_BINS},); got {tuple(class_weights.shape)}")
        pixel_w = class_weights[index[:, 0]]
    if grey_threshold is not None:
        has_colour = ab.abs().amax(dim=(1, 2, 3)) > grey_threshold  # (B,)
        pixel_w = pixel_w * has_colour[:, None, None].to(pixel_w.dtype)
    return {
        "l": l,
        "l_norm": normalize_l(l),
        "ab": ab,
        "ab_quarter": ab_quarter,
        "index": index,
        "weight": weight,
        "pixel_w": pixel_w,
    }


def _check_targets(logits, index, weight, pixel_w) -> None:
    """Raise ``ValueError`` naming the argument whose shape does not fit the logits."""
    check_image(logits, None, "logits")
    if index.shape[0] != logits.shape[0] or index.shape[2:] != logits.shape[2:] or index.dim() != 4:
        raise ValueError(
            f"index must have shape (B, k, h, w) matching logits {tuple(logits.shape)}; got {tuple(index.shape)}"
        )
    if weight.shape != index.shape:
        raise ValueError(f"weight must have the shape of index {tuple(index.shape)}; got {tuple(weight.shape)}")
    if pixel_w is not None and (pixel_w.shape[0], *pixel_w.shape[1:]) != (index.shape[0], *index.shape[2:]):
        raise ValueError(
            f"pixel_w must have shape (B, h, w) = {(index.shape[0], *index.shape[2:])}; got {tuple(pixel_w.shape)}"
        )


def rebalanced_cross_entropy(
    logits: torch.Tensor,
    index: torch.Tensor,
    weight: torch.Tensor,
    pixel_w: torch.Tensor | None = None,
) -> torch.Tensor:
    """Class-rebalanced cross-entropy against sparse soft targets (paper Eq. 2 and 3).

    loss = mean over pixels of pixel_w · (−Σ_j weight_j · log softmax(logits)[index_j])

    The dense target Z (B, NUM_BINS, h, w) is never built: ``gather`` picks the k
    log-probabilities of each pixel's bins. Half-precision logits are promoted to
    float32 for the log-softmax.

    Args:
        logits: (B, NUM_BINS, h, w) the network's output.
        index: (B, k, h, w) int64 bin indices of the soft target.
        weight: (B, k, h, w) their weights (summing to 1 over dim 1).
        pixel_w: (B, h, w) per-pixel weights v (rebalancing, 0 for grey images); None
            weighs every pixel 1.

    Returns:
        scalar tensor (float32, or float64 for float64 logits), differentiable in
        logits.
    """
    _check_targets(logits, index, weight, pixel_w)
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    log_p = F.log_softmax(logits, dim=1).gather(1, index)  # (B, k, h, w)
    per_pixel = -(weight.to(log_p.dtype) * log_p).sum(dim=1)  # (B, h, w)
    if pixel_w is not None:
        per_pixel = per_pixel * pixel_w.to(per_pixel.dtype)
    return per_pixel.mean()


def regression_loss(pred_ab: torch.Tensor, ab: torch.Tensor, pixel_w: torch.Tensor | None = None) -> torch.Tensor:
    """L2 loss of the regression baseline (paper Eq. 1), on the scale ab / ``AB_SCALE`` (ab / 110).

    Scaling by 110 keeps the loss of order 1 (comparable to the cross-entropy's scale), so the same optimiser
    settings work for both models; the minimiser is the same as on raw ab.

    Args:
        pred_ab: (B, 2, h, w) predicted ab in raw units (``RegressionNet``'s output).
        ab: (B, 2, h, w) true ab in raw units at the same resolution (``prepare_batch(...)["ab_quarter"]``).
        pixel_w: optional (B, h, w) per-pixel weights (e.g. 0 for grey images); None weighs every pixel 1.

    Returns:
        scalar: mean over pixels of ½ · ||pred − ab||² / 110², in float32 (or float64 for float64 inputs).
    """
    check_image(pred_ab, 2, "pred_ab")
    check_image(ab, 2, "ab")
    if pred_ab.shape != ab.shape:
        raise ValueError(
            f"ab must have the shape of pred_ab {tuple(pred_ab.shape)} (use the quarter-resolution target); "
            f"got {tuple(ab.shape)}"
        )
    dtype = torch.float64 if pred_ab.dtype == torch.float64 else torch.float32
    diff = (pred_ab.to(dtype) - ab.to(dtype)) / AB_SCALE
    per_pixel = 0.5 * diff.square().sum(dim=1)
    if pixel_w is not None:
        per_pixel = per_pixel * pixel_w.to(dtype)
    return per_pixel.mean()
