import numpy as np
import pytest
import torch

import colorlab as cl
from colorlab import prior as prior_module


def test_imagenet_prior_is_the_authors_file():
    p = cl.imagenet_prior()
    assert p.shape == (cl.NUM_BINS,) and p.dtype == torch.float64
    assert p.sum().item() == pytest.approx(1.0)
    assert p.min().item() == pytest.approx(6.07e-9, rel=1e-2)
    assert p.argmax().item() == cl.ab_bins().tolist().index([0.0, 0.0])


def test_weights_match_the_authors(golden):
    w = cl.rebalance_weights(cl.imagenet_prior(), lam=0.5)
    np.testing.assert_allclose(w.numpy(), golden["prior_factor_lambda05"], atol=1e-5)


def test_weight_statistics_from_the_design_notes():
    p = cl.imagenet_prior()
    w = cl.rebalance_weights(p, lam=0.5)
    assert w.min().item() == pytest.approx(0.0965, abs=1e-4)
    assert w.max().item() == pytest.approx(6.1749, abs=1e-4)
    assert w.mean().item() == pytest.approx(5.1749, abs=1e-4)
    assert w.median().item() == pytest.approx(5.9987, abs=1e-4)
    assert (p * w).sum().item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.25, 0.5, 1.0])
def test_expectation_is_one_and_zero_bins_stay_finite(lam):
    p = cl.imagenet_prior().clone()
    p[::3] = 0.0
    w = cl.rebalance_weights(p, lam=lam)
    assert torch.isfinite(w).all()
    assert ((p / p.sum()) * w).sum().item() == pytest.approx(1.0)
    assert w[::3].eq(w[p > 0].max()).all()


def test_uniform_prior_gives_weight_one_and_lambda_one_turns_rebalancing_off():
    uniform = torch.full((cl.NUM_BINS,), 1.0 / cl.NUM_BINS, dtype=torch.float64)
    assert torch.allclose(cl.rebalance_weights(uniform, 0.5), torch.ones(cl.NUM_BINS, dtype=torch.float64))
    assert torch.allclose(cl.rebalance_weights(cl.imagenet_prior(), 1.0), torch.ones(cl.NUM_BINS, dtype=torch.float64))


def test_rare_colours_weigh_more():
    p = cl.imagenet_prior()
    w = cl.rebalance_weights(p)
    assert w[p.argmax()] == w.min()
    assert w[p.argmin()] == w.max()


def test_bad_priors():
    with pytest.raises(ValueError, match="shape"):
        cl.rebalance_weights(torch.ones(10))
    with pytest.raises(ValueError, match="non-negative"):
        cl.rebalance_weights(-cl.imagenet_prior())
    with pytest.raises(ValueError, match="lam"):
        cl.rebalance_weights(cl.imagenet_prior(), lam=1.5)


def test_empirical_prior_counts_nearest_bins_streamed():
    rgb = torch.rand(2, 3, 16, 16)
    batches = [rgb[:1], rgb[1]]  # a batch and a single image
    counts = prior_module.bin_counts(iter(batches))
    expected = torch.bincount(cl.nearest_bin(cl.rgb_to_lab(rgb)[:, 1:]).reshape(-1), minlength=cl.NUM_BINS)
    assert torch.equal(counts, expected.double())
    raw = cl.empirical_prior(batches, sigma=0)
    assert torch.allclose(raw, expected.double() / expected.sum())


def test_empirical_prior_accepts_uint8_arrays_and_smooths():
    photo = cl.sample_photo("coffee")
    raw = cl.empirical_prior([photo], sigma=0)
    smooth = cl.empirical_prior([photo])
    assert smooth.sum().item() == pytest.approx(1.0)
    assert (smooth > 0).sum() > (raw > 0).sum()  # mass spreads to neighbouring bins
    # The smoothing is a Gaussian of the bin centres: one bin's mass goes to its neighbours with exp(-d²/2σ²).
    one = torch.zeros(cl.NUM_BINS, dtype=torch.float64)
    centre = cl.ab_bins().tolist().index([0.0, 0.0])
    one[centre] = 1
    spread = prior_module.smooth_prior(one)
    neighbour = cl.ab_bins().tolist().index([10.0, 0.0])
    assert (spread[neighbour] / spread[centre]).item() == pytest.approx(np.exp(-100 / 50))


def test_empirical_prior_bad_input():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        cl.empirical_prior([torch.rand(1, 1, 4, 4)])
    with pytest.raises(TypeError):
        cl.empirical_prior([[1, 2, 3]])
    with pytest.raises(ValueError, match="at least one pixel"):
        cl.empirical_prior([])


def test_pixel_weights_from_ab_and_from_z(device):
    w = cl.rebalance_weights(cl.imagenet_prior())
    ab = (torch.rand(2, 2, 5, 5) * 150 - 75).to(device)
    from_ab = cl.pixel_weights(ab, w)
    from_z = cl.pixel_weights(cl.soft_encode(ab), w)
    assert from_ab.shape == (2, 5, 5) and from_ab.device.type == device.type
    assert torch.equal(from_ab, from_z)
    assert torch.equal(from_ab, w.to(device, torch.float32)[cl.nearest_bin(ab)])
    with pytest.raises(ValueError, match="target must have shape"):
        cl.pixel_weights(torch.rand(1, 3, 2, 2), w)
