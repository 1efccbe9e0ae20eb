"""sRGB ↔ CIELAB conversion in PyTorch (paper §2: the network predicts the a, b channels of CIELAB from L).

The numbers follow scikit-image's ``rgb2lab``/``lab2rgb`` exactly: sRGB with the IEC 61966-2-1 transfer curve,
the sRGB→XYZ matrix of the sRGB specification, and the CIE 1931 2° D65 white point (0.95047, 1, 1.08883).
Both functions work on any leading shape (*, 3, H, W), keep dtype and device, and are differentiable.
"""

from __future__ import annotations

import torch

from ._cache import device_constant
from ._validate import check_image

#: XYZ from linear sRGB (sRGB specification; the matrix scikit-image uses).
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: CIE XYZ of the D65 white point, 2° observer.
D65_WHITE = (0.95047, 1.0, 1.08883)

# Breakpoints of the piecewise curves (CIE 1976 and sRGB), written as scikit-image writes them.
_LAB_EPSILON = 0.008856
_LAB_KAPPA_SLOPE = 7.787
_LAB_INV_BREAK = 0.2068966
_SRGB_ENCODE_BREAK = 0.0031308
_SRGB_DECODE_BREAK = 0.04045


# The matrices in float64, computed once at import: the inverse is taken here, never inside a traced graph
# (an exported ONNX graph holds the constants, not a matrix inversion).
_XYZ_FROM_RGB = torch.tensor(XYZ_FROM_RGB, dtype=torch.float64)
_RGB_FROM_XYZ = torch.linalg.inv(_XYZ_FROM_RGB)
_WHITE = torch.tensor(D65_WHITE, dtype=torch.float64)


@device_constant
def _matrices(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """XYZ-from-RGB, its inverse and the white point, built once per dtype and device (shared: never returned)."""
    return tuple(m.to(device=device, dtype=dtype) for m in (_XYZ_FROM_RGB, _RGB_FROM_XYZ, _WHITE))


def _apply_matrix(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Multiply every pixel of x (*, 3, H, W) by the 3×3 matrix m."""
    return torch.einsum("ij,...jhw->...ihw", m, x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert sRGB to CIELAB (D65, 2° observer), as ``skimage.color.rgb2lab`` does.

    Args:
        rgb: (*, 3, H, W) floating tensor, sRGB in [0, 1].

    Returns:
        (*, 3, H, W) tensor of the same dtype and device: L in [0, 100], a and b in
        about [-86, 98] and [-108, 95] for colours inside the sRGB gamut.

    White (scikit-image's constants leave its a and b at about ±0.005):

    >>> lab = rgb_to_lab(torch.ones(1, 3, 1, 1, dtype=torch.float64))
    >>> [round(v, 2) for v in lab.flatten().tolist()]
    [100.0, -0.0, 0.0]
    """
    check_image(rgb, 3, "rgb", allow_unbatched=True)
    xyz_from_rgb, _, white = _matrices(rgb.dtype, rgb.device)
    linear = torch.where(
        rgb > _SRGB_DECODE_BREAK,
        ((rgb.clamp(min=_SRGB_DECODE_BREAK) + 0.055) / 1.055) ** 2.4,
        rgb / 12.92,
    )
    xyz = _apply_matrix(xyz_from_rgb, linear) / white.view(3, 1, 1)
    f = torch.where(
        xyz > _LAB_EPSILON,
        xyz.clamp(min=_LAB_EPSILON) ** (1.0 / 3.0),
        _LAB_KAPPA_SLOPE * xyz + 16.0 / 116.0,
    )
    fx, fy, fz = f.unbind(dim=-3)
    l, a, b = 116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)
    return torch.stack((l, a, b), dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Convert CIELAB (D65, 2° observer) to sRGB, as ``skimage.color.lab2rgb`` does.

    Lab colours outside the sRGB gamut are mapped the way scikit-image maps them (negative Z set to 0, then
    every channel clipped to [0, 1]), quietly: predicted ab values often leave the gamut and a warning per call
    would only be noise. The clipping has zero gradient outside [0, 1].

    Args:
        lab: (*, 3, H, W) floating tensor: L in [0, 100], a and b in raw CIELAB units.

    Returns:
        (*, 3, H, W) sRGB in [0, 1], same dtype and device.

    >>> rgb = lab_to_rgb(torch.tensor([50.0, 0.0, 0.0]).view(1, 3, 1, 1))
    >>> [round(v, 4) for v in rgb.flatten().tolist()]
    [0.4663, 0.4663, 0.4663]
    """
    check_image(lab, 3, "lab", allow_unbatched=True)
    _, rgb_from_xyz, white = _matrices(lab.dtype, lab.device)
    l, a, b = lab.unbind(dim=-3)
    fy = (l + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = (fy - b / 200.0).clamp(min=0.0)
    f = torch.stack((fx, fy, fz), dim=-3)
    xyz = torch.where(
        f > _LAB_INV_BREAK,
        f.clamp(min=_LAB_INV_BREAK) ** 3,
        (f - 16.0 / 116.0) / _LAB_KAPPA_SLOPE,
    ) * white.view(3, 1, 1)
    linear = _apply_matrix(rgb_from_xyz, xyz)
    rgb = torch.where(
        linear > _SRGB_ENCODE_BREAK,
        1.055 * linear.clamp(min=_SRGB_ENCODE_BREAK) ** (1.0 / 2.4) - 0.055,
        12.92 * linear,
    )
    return rgb.clamp(0.0, 1.0)
