import numpy as np
import pytest

import colorlab as cl


@pytest.mark.parametrize("name", cl.SAMPLE_NAMES)
def test_every_sample_photo_loads_offline_as_colour_uint8(name):
    rgb = cl.sample_photo(name)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and min(rgb.shape[:2]) >= 256
    assert not rgb.flags.writeable
    assert np.ptp(rgb.astype(int)[..., 0] - rgb[..., 2]) > 0  # a colour photo, not grey


def test_unknown_name_and_bad_arrays():
    with pytest.raises(ValueError, match="name must be one of"):
        cl.sample_photo("lena")
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        cl.to_tensor(np.zeros((4, 4), dtype=np.uint8))


def test_to_tensor_range():
    t = cl.to_tensor(cl.sample_photo("rocket"))
    assert t.shape[:2] == (1, 3) and 0 <= t.min() and t.max() <= 1
