"""The colour prior and class rebalancing (paper §2.2, "Class rebalancing").

Natural images are dominated by low-saturation ab values, so the loss is reweighted per pixel by a factor of
its nearest ground-truth bin: w ∝ ((1 − λ) p̃ + λ / Q)^−1, normalised so that E_p̃[w] = Σ_q p̃_q w_q = 1, with
p̃ the empirical distribution of ab over the bins smoothed by a Gaussian (σ = 5) and λ = 0.5.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

import numpy as np
import torch
from tqdm.auto import tqdm

from ._validate import check_image
from .bins import NUM_BINS, ab_bins
from .color import rgb_to_lab
from .encode import SIGMA, nearest_bin

#: Weight of the uniform distribution in the rebalancing mixture (paper §2.2).
LAMBDA = 0.5


@functools.lru_cache(maxsize=None)
def _imagenet_prior() -> np.ndarray:
    with resources.files("colorlab").joinpath("resources", "imagenet_prior.npy").open("rb") as f:
        prior = np.load(f)
    prior.setflags(write=False)
    return prior


def imagenet_prior() -> torch.Tensor:
    """The authors' empirical ImageNet prior over the 313 bins: float64 (313,), sums to 1, no zeros.

    It is the file ``prior_probs.npy`` of the authors' released code (BSD-2-Clause, see
    ``colorlab/resources/NOTICE-imagenet_prior.txt``). It is already smoothed; colorlab never smooths it again
    (doing so would change the λ = 0.5 class weights by up to 39%).

    >>> p = imagenet_prior()
    >>> p.shape, round(p.sum().item(), 6)
    (torch.Size([313]), 1.0)
    """
    return torch.tensor(_imagenet_prior(), dtype=torch.float64)


def _as_rgb_batch(item) -> torch.Tensor:
    """(B, 3, H, W) float in [0, 1] from a tensor (B, 3, H, W)/(3, H, W) or a uint8 array (H, W, 3)."""
    if isinstance(item, np.ndarray):
        if item.ndim != 3 or item.shape[2] != 3:
            raise ValueError(f"image arrays must have shape (H, W, 3); got {item.shape}")
        item = torch.from_numpy(np.array(item)).permute(2, 0, 1)  # a copy: the input may be read-only
    if not isinstance(item, torch.Tensor):
        raise TypeError(f"images must be tensors (B, 3, H, W) or (3, H, W), or uint8 arrays (H, W, 3); got {type(item).__name__}")
    if item.dim() == 3:
        item = item[None]
    if item.dim() != 4 or item.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W) or (3, H, W); got {tuple(item.shape)}")
    if item.dtype == torch.uint8:
        return item.float() / 255.0
    if not item.is_floating_point():
        raise TypeError(f"images must be uint8 or floating point in [0, 1]; got {item.dtype}")
    return item


def bin_smoothing_kernel(sigma: float = SIGMA) -> torch.Tensor:
    """Gaussian kernel between bin centres: float64 (313, 313), K_qr = exp(−|c_q − c_r|² / 2σ²)."""
    centres = ab_bins(torch.float64)
    return torch.exp(-torch.cdist(centres, centres).square() / (2.0 * sigma**2))


def smooth_prior(counts: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """Smooth a histogram over the bins with a Gaussian of width σ in ab space and normalise it.

    p̃ = K h / Σ(K h) with K from :func:`bin_smoothing_kernel`: each bin's count is spread over the bins
    around it as a Gaussian blur of the ab plane sampled at the bin centres (restricted to the 313 in-gamut
    bins). ``sigma = 0`` returns the normalised histogram unchanged.
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.shape != (NUM_BINS,):
        raise ValueError(f"counts must have shape ({NUM_BINS},); got {tuple(counts.shape)}")
    if counts.sum() <= 0:
        raise ValueError("counts must contain at least one pixel")
    smoothed = counts if sigma == 0 else bin_smoothing_kernel(sigma) @ counts.cpu()
    return smoothed / smoothed.sum()


def bin_counts(images: Iterable, *, progress: bool = False) -> torch.Tensor:
    """Count how many pixels fall nearest to each bin, streaming over ``images``.

    Args:
        images: iterable of tensors (B, 3, H, W) or (3, H, W) — uint8, or float sRGB in [0, 1] — or uint8
            arrays (H, W, 3). Only one item is in memory at a time.
        progress: show a progress bar.

    Returns:
        float64 (313,) pixel counts.
    """
    counts = torch.zeros(NUM_BINS, dtype=torch.float64)
    for item in tqdm(images, desc="counting colours", unit="batch", disable=not progress):
        rgb = _as_rgb_batch(item)
        nearest = nearest_bin(rgb_to_lab(rgb)[:, 1:])
        counts += torch.bincount(nearest.reshape(-1), minlength=NUM_BINS).to("cpu", torch.float64)
    return counts


def empirical_prior(images: Iterable, sigma: float = SIGMA, *, progress: bool = False) -> torch.Tensor:
    """The empirical distribution p̃ of ab over the 313 bins (paper §2.2), smoothed.

    Every pixel counts once for its nearest bin (:func:`bin_counts`); the histogram is then smoothed with a
    Gaussian of width ``sigma`` in ab space (:func:`smooth_prior`). The paper smooths with σ = 5 without
    saying how; the authors' maintainer says the shipped ImageNet prior was "smoothed with the same Gaussian
    used to compute soft targets", which is this kernel.

    Returns:
        float64 (313,) summing to 1.

    >>> from colorlab.samples import sample_photo
    >>> p = empirical_prior([sample_photo("coffee")])
    >>> p.shape, round(p.sum().item(), 6)
    (torch.Size([313]), 1.0)
    """
    return smooth_prior(bin_counts(images, progress=progress), sigma)


def _checked_prior(prior, lam: float) -> torch.Tensor:
    """The prior as float64 (313,) on the CPU, normalised to sum 1; ``ValueError`` naming the bad argument."""
    p = torch.as_tensor(prior, dtype=torch.float64).cpu()
    if p.shape != (NUM_BINS,):
        raise ValueError(f"prior must have shape ({NUM_BINS},); got {tuple(p.shape)}")
    if not torch.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        raise ValueError("prior must be finite, non-negative and not all zero")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1]; got {lam!r}")
    return p / p.sum()


def rebalance_weights(prior, lam: float = LAMBDA) -> torch.Tensor:
    """Class-rebalancing weights w ∝ ((1 − λ) p + λ u)^−1 with Σ_q p_q w_q = 1
    (paper §2.2, Eq. 3–4).

    The prior is used as given (normalised to sum 1, never smoothed here). As in the
    authors' code, the uniform part u is spread over the bins with p > 0, which is 1/Q
    for a prior without zeros. Bins with p = 0 never occur as a true colour of the data
    the prior came from; they get the largest weight of the bins that do (they would be
    infinite otherwise), so no weight is inf or NaN for any λ in [0, 1].

    Args:
        prior: (313,) non-negative tensor or array.
        lam: λ in [0, 1]; 1 gives every bin weight 1 (no rebalancing), 0 the inverse
            prior.

    Returns:
        float64 (313,).

    >>> p = imagenet_prior()
    >>> w = rebalance_weights(p)
    >>> [round(v, 4) for v in (w.min().item(), w.max().item(), (p * w).sum().item())]
    [0.0965, 6.1749, 1.0]
    """
    p = _checked_prior(prior, lam)
    seen = p > 0
    uniform = seen / seen.sum()
    w = torch.zeros_like(p)
    w[seen] = 1.0 / ((1.0 - lam) * p[seen] + lam * uniform[seen])
    w = w / (p * w).sum()
    w[~seen] = w[seen].max()
    return w


def pixel_weights(target: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Per-pixel rebalancing weight: the weight of each pixel's nearest true bin.

    Args:
        target: ab (B, 2, H, W) in raw units, or a distribution over the bins z
            (B, 313, H, W) (its argmax is the nearest bin of a soft-encoded target).
        w: (313,) class weights, e.g. from :func:`rebalance_weights`.

    Returns:
        (B, H, W) of target's dtype and device.
    """
    check_image(target, None, "target")
    if target.shape[1] == 2:
        index = nearest_bin(target)
    elif target.shape[1] == NUM_BINS:
        index = target.argmax(dim=1)
    else:
        raise ValueError(
            f"target must have shape (B, 2, H, W) or (B, {NUM_BINS}, H, W); "
            f"got {tuple(target.shape)}"
        )
    return torch.as_tensor(w).to(device=target.device, dtype=target.dtype)[index]
