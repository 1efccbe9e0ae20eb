"""From a predicted distribution over the 313 bins back to one ab value per pixel (paper §2.3).

The mean of the distribution gives desaturated, sepia-like colours; the mode gives vivid but spatially
inconsistent ones. The paper interpolates with the annealed mean: re-adjust the distribution with a temperature,
f_T(z) = exp(log z / T) / Σ_q exp(log z_q / T), then take the mean. T = 1 is the mean, T → 0 the mode; the paper
uses T = 0.38. The authors' deploy network scales the logits by 2.606 before the softmax, i.e. T = 1/2.606 ≈ 0.3837.

The temperature rule, the same for every function of colorlab that takes a T (the API, ``colorlab colorize -T``,
the plots and the ONNX graph of :mod:`colorlab.web`), checked by :func:`check_temperature`: T is a number with
0 ≤ T ≤ inf, and f_T is computed in log space as softmax((x − max x) / T), x = log z (or the logits). Every
x − max x is ≤ 0 and the largest is 0, so the result is finite for every T: as T → 0 it becomes the mode's one-hot
(shared equally by bins that tie for the maximum), as T → inf the uniform distribution over the bins with z > 0.
Both limits are taken as the values at T = 0 and T = inf: T is clamped into the dtype's positive normal floats
[finfo.tiny, finfo.max], where the softmax already gives the limits (unless two logits differ by less than about
100 · finfo.tiny). A negative or NaN T is refused; so are distributions with a NaN, an infinite or a negative
entry, or with no positive entry at some pixel.
"""

from __future__ import annotations

import numbers

import torch

from ._validate import check_image
from .bins import NUM_BINS, cached_ab_bins

#: Temperature of the annealed mean (paper §2.3).
T_ANNEALED = 0.38
#: Temperature implied by the authors' deploy network (logits × 2.606).
T_DEPLOY = 1.0 / 2.606


def check_temperature(T, name: str = "T") -> float:
    """``T`` as a float if it follows the temperature rule (module docstring): a real number, 0 ≤ T ≤ inf.

    Raises:
        TypeError: ``T`` is not a real number (a bool is not one). ValueError: it is negative or NaN.

    >>> check_temperature(0), check_temperature(float("inf"))
    (0.0, inf)
    """
    if isinstance(T, bool) or not isinstance(T, numbers.Real):
        raise TypeError(f"{name} must be a number ≥ 0 (0 is the mode, 1 the mean); got {type(T).__name__}")
    if not T >= 0:
        raise ValueError(f"{name} must be ≥ 0 (0 is the mode, 1 the mean, inf the mean of the bins with z > 0); "
                         f"got {float(T)!r}")
    return float(T)


def _check_log_weights(x: torch.Tensor, name: str, what: str) -> None:
    """Refuse ``x`` (B, 313, H, W) log-weights where some pixel's maximum is not finite: a NaN, a +inf, or no
    entry above −inf. ``what`` says what a valid pixel holds, for the message."""
    if torch.compiler.is_exporting() or torch.compiler.is_compiling():
        return  # a graph cannot raise on its data: traced, the values are not known
    bad = ~torch.isfinite(x.amax(dim=1))
    if bad.any():
        b, row, col = bad.nonzero()[0].tolist()
        raise ValueError(f"{name} must hold, at every pixel, {what}; pixel (b, y, x) = ({b}, {row}, {col}) "
                         f"and {int(bad.sum()) - 1} more do not")


def _annealed(log_z: torch.Tensor, T) -> torch.Tensor:
    """f_T = softmax((x − max x) / T) over the bins (module docstring), then its mean.

    log_z: (B, 313, H, W) log-weights, each pixel's maximum finite (unchecked here).
    T: a float or a 0-d tensor, 0 ≤ T ≤ inf (unchecked: the ONNX graph of
    :class:`colorlab.web.BrowserColorizer` passes its input). Returns ab (B, 2, H, W).
    """
    info = torch.finfo(log_z.dtype)
    if isinstance(T, torch.Tensor):
        T = T.to(log_z.dtype).clamp(info.tiny, info.max)
    else:
        T = min(max(T, info.tiny), info.max)
    # softmax is shift invariant, so the detached shift loses no gradient
    shifted = log_z - log_z.amax(dim=1, keepdim=True).detach()
    return _expected_ab(torch.softmax(shifted / T, dim=1))


def _expected_ab(f: torch.Tensor) -> torch.Tensor:
    """Σ_q f_q c_q: (B, 313, H, W) weights → (B, 2, H, W)."""
    return torch.einsum("bqhw,qc->bchw", f, cached_ab_bins(f.dtype, f.device))


def annealed_mean(z: torch.Tensor, T: float = T_ANNEALED) -> torch.Tensor:
    """Annealed mean of a distribution over the bins (paper §2.3, Eq. 5).

    Args:
        z: (B, 313, H, W) probabilities: finite, ≥ 0, at least one positive entry per
            pixel (exact zeros are fine: the temperature is applied in log space). They
            need not sum to 1.
        T: temperature, 0 ≤ T ≤ inf (module docstring); 1 gives the plain mean, 0 the
            mode.

    Returns:
        ab: (B, 2, H, W) in raw ab units, same dtype and device as z.

    Raises:
        ValueError: z or T breaks the rules above.

    >>> z = torch.zeros(1, NUM_BINS, 1, 1)
    >>> z[0, [0, 1], 0, 0] = torch.tensor([0.75, 0.25])  # bins (-90, 50) and (-90, 60)
    >>> [round(v, 3) for v in annealed_mean(z, T=1.0).flatten().tolist()]
    [-90.0, 52.5]
    """
    check_image(z, NUM_BINS, "z")
    T = check_temperature(T)
    if not (z >= 0).all():
        raise ValueError("z must hold probabilities ≥ 0; got a negative or NaN entry")
    tiny = torch.finfo(z.dtype).tiny
    log_z = torch.where(z > 0, z.clamp_min(tiny).log(), torch.full_like(z, -torch.inf))
    _check_log_weights(log_z, "z", "finite probabilities with at least one above 0")
    return _annealed(log_z, T)


def annealed_mean_from_logits(
    logits: torch.Tensor, T: float = T_ANNEALED
) -> torch.Tensor:
    """Annealed mean straight from the network's logits x, using the identity
    f_T(softmax(x)) = softmax(x / T): the same result as :func:`annealed_mean` of
    ``softmax(x)``, with one softmax instead of two.

    Args:
        logits: (B, 313, H, W) unnormalised log-probabilities: no NaN or +inf, and at
            least one finite entry per pixel (−inf is a probability of 0).
        T: temperature, 0 ≤ T ≤ inf (module docstring).

    Returns:
        ab: (B, 2, H, W), same dtype and device.
    """
    check_image(logits, NUM_BINS, "logits")
    T = check_temperature(T)
    _check_log_weights(logits, "logits", "no NaN or +inf and at least one finite logit")
    return _annealed(logits, T)


def decode_mode(z: torch.Tensor) -> torch.Tensor:
    """The centre of the most probable bin (the T → 0 limit of the annealed mean).

    Args:
        z: (B, 313, H, W) probabilities or logits (the argmax is the same).

    Returns:
        ab: (B, 2, H, W), same dtype and device.
    """
    check_image(z, NUM_BINS, "z")
    return cached_ab_bins(z.dtype, z.device)[z.argmax(dim=1)].permute(0, 3, 1, 2)
