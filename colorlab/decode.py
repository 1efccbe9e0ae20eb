"""From a predicted distribution over the 313 bins back to one ab value per pixel (paper §2.3).

The mean of the distribution gives desaturated, sepia-like colours; the mode gives vivid but spatially
inconsistent ones. The paper interpolates with the annealed mean: re-adjust the distribution with a temperature,
f_T(z) = exp(log z / T) / Σ_q exp(log z_q / T), then take the mean. T = 1 is the mean, T → 0 the mode; the paper
uses T = 0.38. The authors' deploy network scales the logits by 2.606 before the softmax, i.e. T = 1/2.606 ≈ 0.3837.
"""

from __future__ import annotations

import torch

from ._validate import check_image
from .bins import NUM_BINS, cached_ab_bins

#: Temperature of the annealed mean (paper §2.3).
T_ANNEALED = 0.38
#: Temperature implied by the authors' deploy network (logits × 2.606).
T_DEPLOY = 1.0 / 2.606


def _check_t(T: float) -> None:
    if not T > 0:
        raise ValueError(f"T must be positive (use decode_mode for T → 0); got {T!r}")


def _expected_ab(f: torch.Tensor) -> torch.Tensor:
    """Σ_q f_q c_q: (B, 313, H, W) weights → (B, 2, H, W)."""
    return torch.einsum("bqhw,qc->bchw", f, cached_ab_bins(f.dtype, f.device))


def annealed_mean(z: torch.Tensor, T: float = T_ANNEALED) -> torch.Tensor:
    """Annealed mean of a distribution over the bins (paper §2.3, Eq. 5).

    Args:
        z: (B, 313, H, W) probabilities (each pixel's entries ≥ 0 with a positive sum;
            exact zeros are fine: the temperature is applied in log space).
        T: temperature > 0; 1 gives the plain mean, small values approach the mode.

    Returns:
        ab: (B, 2, H, W) in raw ab units, same dtype and device as z.

    >>> z = torch.zeros(1, NUM_BINS, 1, 1)
    >>> z[0, [0, 1], 0, 0] = torch.tensor([0.75, 0.25])  # bins (-90, 50) and (-90, 60)
    >>> [round(v, 3) for v in annealed_mean(z, T=1.0).flatten().tolist()]
    [-90.0, 52.5]
    """
    check_image(z, NUM_BINS, "z")
    _check_t(T)
    tiny = torch.finfo(z.dtype).tiny
    log_z = torch.where(z > 0, z.clamp_min(tiny).log(), torch.full_like(z, -torch.inf))
    return _expected_ab(torch.softmax(log_z / T, dim=1))


def annealed_mean_from_logits(
    logits: torch.Tensor, T: float = T_ANNEALED
) -> torch.Tensor:
    """Annealed mean straight from the network's logits x, using the identity
    f_T(softmax(x)) = softmax(x / T): the same result as :func:`annealed_mean` of
    ``softmax(x)``, with one softmax instead of two.

    Args:
        logits: (B, 313, H, W) unnormalised log-probabilities.
        T: temperature > 0.

    Returns:
        ab: (B, 2, H, W), same dtype and device.
    """
    check_image(logits, NUM_BINS, "logits")
    _check_t(T)
    return _expected_ab(torch.softmax(logits / T, dim=1))


def decode_mode(z: torch.Tensor) -> torch.Tensor:
    """The centre of the most probable bin (the T → 0 limit of the annealed mean).

    Args:
        z: (B, 313, H, W) probabilities or logits (the argmax is the same).

    Returns:
        ab: (B, 2, H, W), same dtype and device.
    """
    check_image(z, NUM_BINS, "z")
    return cached_ab_bins(z.dtype, z.device)[z.argmax(dim=1)].permute(0, 3, 1, 2)
