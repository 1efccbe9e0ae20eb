"""Photos that ship inside colorlab's dependencies, so every chapter and test runs offline.

scikit-image: ``astronaut`` (NASA, public domain), ``chelsea`` and ``coffee`` (CC0), ``rocket`` (SpaceX, public
domain), ``motorcycle`` (left view of ``stereo_motorcycle``, Middlebury 2014 stereo data set); matplotlib:
``grace_hopper`` (US Navy, public domain); scikit-learn: ``china`` and ``flower`` (CC-BY 2.0, Flickr users
danielbuechele and vultilion). Licences as stated by the packages that ship them.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

#: Names accepted by :func:`sample_photo`, in a fixed order.
SAMPLE_NAMES = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle", "grace_hopper", "china", "flower")


def _load(name: str) -> np.ndarray:
    if name == "grace_hopper":
        from matplotlib import cbook
        from PIL import Image

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    from skimage import data

    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()


@functools.lru_cache(maxsize=None)
def _cached(name: str) -> np.ndarray:
    rgb = np.ascontiguousarray(_load(name)[..., :3], dtype=np.uint8)
    rgb.setflags(write=False)
    return rgb


def sample_photo(name: str) -> np.ndarray:
    """Return one embedded photo as a read-only uint8 array of shape (H, W, 3), sRGB in [0, 255].

    >>> sample_photo("chelsea").shape
    (300, 451, 3)
    """
    if name not in SAMPLE_NAMES:
        raise ValueError(f"name must be one of {', '.join(SAMPLE_NAMES)}; got {name!r}")
    return _cached(name)


def sample_photos(names=None) -> dict[str, np.ndarray]:
    """Return ``{name: uint8 (H, W, 3)}`` for ``names`` (default: all of :data:`SAMPLE_NAMES`)."""
    return {name: sample_photo(name) for name in (SAMPLE_NAMES if names is None else names)}


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """Turn a uint8 (H, W, 3) array into a float32 tensor (1, 3, H, W) in [0, 1].

    >>> to_tensor(sample_photo("coffee")).shape
    torch.Size([1, 3, 400, 600])
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be a uint8 array of shape (H, W, 3); got {rgb.dtype} {rgb.shape}")
    return torch.from_numpy(np.array(rgb, copy=True)).permute(2, 0, 1)[None].float() / 255.0
