import numpy as np
import pytest
import torch

import colorlab as cl


def _rows_to_image(x):
    """(N, C) array → (1, C, N, 1) tensor."""
    return torch.from_numpy(x).T.reshape(1, x.shape[1], -1, 1)


def _image_to_rows(x):
    return x[0, :, :, 0].T.numpy()


def test_plain_mean_matches_the_authors(golden):
    ab = cl.annealed_mean(_rows_to_image(golden["probs"]), T=1.0)
    assert np.abs(_image_to_rows(ab) - golden["mean_T1"]).max() < 1e-5


def test_deploy_temperature_matches_the_authors_network(golden):
    logits = _rows_to_image(golden["logits"])
    expected = golden["annealed_deploy_scale2606"]
    assert np.abs(_image_to_rows(cl.annealed_mean_from_logits(logits, cl.T_DEPLOY)) - expected).max() < 1e-5
    assert np.abs(_image_to_rows(cl.annealed_mean(torch.softmax(logits, 1), cl.T_DEPLOY)) - expected).max() < 1e-5
    assert cl.T_DEPLOY == pytest.approx(0.3837, abs=1e-4)


def test_t1_is_the_mean_and_small_t_approaches_the_mode(device):
    z = torch.softmax(torch.randn(2, cl.NUM_BINS, 3, 3, generator=torch.Generator().manual_seed(0)) * 3, 1).to(device)
    mean = torch.einsum("bqhw,qc->bchw", z, cl.ab_bins(device=device))
    assert torch.allclose(cl.annealed_mean(z, 1.0), mean, atol=1e-4)
    assert torch.allclose(cl.annealed_mean(z, 1e-3), cl.decode_mode(z), atol=1e-3)
    # Colourfulness grows as T falls.
    assert cl.annealed_mean(z, 0.38).norm(dim=1).mean() > cl.annealed_mean(z, 1.0).norm(dim=1).mean()


def test_exact_zeros_are_stable_with_finite_gradients():
    z = torch.zeros(1, cl.NUM_BINS, 1, 1)
    z[0, 100] = 0.7
    z[0, 101] = 0.3
    z.requires_grad_()
    ab = cl.annealed_mean(z, 0.38)
    assert torch.isfinite(ab).all()
    ab.sum().backward()
    assert torch.isfinite(z.grad).all()


def test_logits_and_probabilities_agree():
    logits = torch.randn(1, cl.NUM_BINS, 4, 4, dtype=torch.float64)
    for T in (0.1, 0.38, 1.0):
        assert torch.allclose(cl.annealed_mean(torch.softmax(logits, 1), T), cl.annealed_mean_from_logits(logits, T))
    assert torch.equal(cl.decode_mode(logits), cl.decode_mode(torch.softmax(logits, 1)))


def test_bad_input():
    with pytest.raises(ValueError, match=r"z must have shape \(B, 313, H, W\)"):
        cl.annealed_mean(torch.rand(1, 2, 4, 4))
    with pytest.raises(ValueError, match="T must be positive"):
        cl.annealed_mean(torch.rand(1, cl.NUM_BINS, 1, 1), T=0)
    with pytest.raises(ValueError, match="logits"):
        cl.annealed_mean_from_logits(torch.rand(cl.NUM_BINS, 4, 4))
    with pytest.raises(TypeError):
        cl.decode_mode(np.zeros((1, cl.NUM_BINS, 1, 1)))
