import numpy as np
import pytest
import torch
from skimage import color as skcolor

import colorlab as cl


def _rgb_grid(step=5):
    v = np.arange(0, 256, step) / 255.0
    return np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(-1, 1, 3)  # (N, 1, 3)


def _to_torch(hwc):
    return torch.from_numpy(hwc).permute(2, 0, 1)[None]


def _to_numpy(bchw):
    return bchw[0].permute(1, 2, 0).detach().cpu().numpy()


def test_rgb_to_lab_matches_skimage_on_dense_8bit_sample():
    rgb = _rgb_grid(step=3)
    ours = _to_numpy(cl.rgb_to_lab(_to_torch(rgb)))
    assert np.abs(ours - skcolor.rgb2lab(rgb)).max() < 1e-4


@pytest.mark.parametrize("name", cl.SAMPLE_NAMES)
def test_rgb_to_lab_and_back_match_skimage_on_photos(name):
    rgb = cl.sample_photo(name).astype(np.float64) / 255.0
    lab = cl.rgb_to_lab(_to_torch(rgb))
    assert np.abs(_to_numpy(lab) - skcolor.rgb2lab(rgb)).max() < 1e-4
    assert np.abs(_to_numpy(cl.lab_to_rgb(lab)) - rgb).max() < 1e-5


def test_lab_to_rgb_matches_skimage_out_of_gamut_and_is_quiet(recwarn):
    rng = np.random.default_rng(0)
    lab = rng.uniform([0, -128, -128], [100, 127, 127], size=(500, 1, 3))
    with pytest.warns(UserWarning):
        expected = skcolor.lab2rgb(lab)
    ours = _to_numpy(cl.lab_to_rgb(_to_torch(lab)))
    assert np.abs(ours - expected).max() < 1e-4
    assert ours.min() >= 0 and ours.max() <= 1


def test_round_trip_float32():
    rgb = torch.rand(2, 3, 16, 16)
    assert (cl.lab_to_rgb(cl.rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_device_and_leading_dims_are_kept(device, dtype):
    rgb = torch.rand(2, 4, 3, 5, 6, dtype=dtype, device=device)
    lab = cl.rgb_to_lab(rgb)
    assert lab.shape == rgb.shape and lab.dtype == dtype and lab.device.type == device.type
    back = cl.lab_to_rgb(lab)
    assert back.shape == rgb.shape and back.dtype == dtype
    assert torch.allclose(back, rgb, atol=1e-4)


def test_known_values():
    white = cl.rgb_to_lab(torch.ones(1, 3, 1, 1, dtype=torch.float64)).flatten()
    black = cl.rgb_to_lab(torch.zeros(1, 3, 1, 1, dtype=torch.float64)).flatten()
    red = cl.rgb_to_lab(torch.tensor([1.0, 0, 0], dtype=torch.float64).view(1, 3, 1, 1)).flatten()
    # scikit-image's matrix and white point do not map sRGB white exactly onto a = b = 0.
    assert torch.allclose(white, torch.tensor([100.0, 0, 0], dtype=torch.float64), atol=1e-2)
    assert torch.allclose(black, torch.zeros(3, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(red, torch.tensor([53.2406, 80.0923, 67.2028], dtype=torch.float64), atol=1e-3)


def test_gradcheck_both_directions():
    rgb = (torch.rand(1, 3, 3, 3, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    assert torch.autograd.gradcheck(cl.rgb_to_lab, (rgb,))
    lab = cl.rgb_to_lab(rgb.detach()).requires_grad_()
    assert torch.autograd.gradcheck(cl.lab_to_rgb, (lab,))


def test_gradients_are_finite_at_black_and_white():
    rgb = torch.tensor([0.0, 1.0]).view(1, 1, 2, 1).expand(1, 3, 2, 1).clone().requires_grad_()
    cl.rgb_to_lab(rgb).sum().backward()
    assert torch.isfinite(rgb.grad).all()


@pytest.mark.parametrize("fn", [cl.rgb_to_lab, cl.lab_to_rgb])
def test_bad_input(fn):
    with pytest.raises(TypeError, match=r"\(\*, 3, H, W\)"):
        fn(np.zeros((1, 3, 2, 2)))
    with pytest.raises(TypeError, match="floating"):
        fn(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"got \(1, 4, 2, 2\)"):
        fn(torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match="shape"):
        fn(torch.zeros(3, 2))
