import numpy as np
import pytest
import torch
from PIL import Image

import colorlab as cl
from colorlab.cli import main
from colorlab.decode import check_temperature


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
    with pytest.raises(ValueError, match="T must be ≥ 0"):
        cl.annealed_mean(torch.rand(1, cl.NUM_BINS, 1, 1), T=-1)
    with pytest.raises(ValueError, match="logits"):
        cl.annealed_mean_from_logits(torch.rand(cl.NUM_BINS, 4, 4))
    with pytest.raises(TypeError):
        cl.decode_mode(np.zeros((1, cl.NUM_BINS, 1, 1)))


# --------------------------------------------------------------------------- one temperature rule, 0 ≤ T ≤ inf


def _logits_and_z(dtype=torch.float32):
    """Random logits (no ties) and a distribution with exact zeros: (2, 313, 3, 4) each."""
    logits = torch.randn(2, cl.NUM_BINS, 3, 4, generator=torch.Generator().manual_seed(1), dtype=dtype) * 4
    z = torch.softmax(logits, 1)
    z[:, ::2] = 0
    return logits, z / z.sum(1, keepdim=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("T", [0, 0.0, 1e-40, 1e-300, 1e-6])
def test_tiny_and_zero_temperatures_give_the_mode(T, dtype):
    logits, z = _logits_and_z(dtype)
    for decoded, mode in ((cl.annealed_mean_from_logits(logits, T), cl.decode_mode(logits)),
                          (cl.annealed_mean(z, T), cl.decode_mode(z))):
        assert torch.isfinite(decoded).all()
        torch.testing.assert_close(decoded, mode, rtol=0, atol=1e-4)


def test_an_infinite_temperature_is_the_uniform_mean_over_the_bins_with_z_above_0():
    logits, z = _logits_and_z()
    bins = cl.ab_bins()
    uniform = bins.mean(0).reshape(1, 2, 1, 1).expand(2, 2, 3, 4)
    torch.testing.assert_close(cl.annealed_mean_from_logits(logits, float("inf")), uniform)
    support = bins[1::2].mean(0).reshape(1, 2, 1, 1).expand(2, 2, 3, 4)  # the zeros of z stay zeros
    torch.testing.assert_close(cl.annealed_mean(z, float("inf")), support)
    torch.testing.assert_close(cl.annealed_mean(z, 1e30), support)


def test_the_values_at_0_and_inf_are_the_limits():
    logits, _ = _logits_and_z(torch.float64)
    for T, limit in ((1e-8, 0), (1e8, float("inf"))):
        torch.testing.assert_close(cl.annealed_mean_from_logits(logits, T), cl.annealed_mean_from_logits(logits, limit))


def test_gradients_are_finite_at_every_temperature():
    logits, _ = _logits_and_z()
    for T in (0, 1e-40, 0.38, float("inf")):
        x = logits.clone().requires_grad_()
        cl.annealed_mean_from_logits(x, T).sum().backward()
        assert torch.isfinite(x.grad).all(), T


@pytest.mark.parametrize("T, error, message", [
    (-1, ValueError, "T must be ≥ 0"), (float("nan"), ValueError, "got nan"), (-float("inf"), ValueError, "≥ 0"),
    ("0.38", TypeError, "must be a number"), (True, TypeError, "must be a number"), (None, TypeError, "number")])
def test_temperatures_outside_the_rule_are_refused(T, error, message):
    logits, z = _logits_and_z()
    for decode in (lambda: cl.annealed_mean_from_logits(logits, T), lambda: cl.annealed_mean(z, T),
                   lambda: check_temperature(T)):
        with pytest.raises(error, match=message):
            decode()


def test_check_temperature_takes_every_real_number_from_0_to_inf():
    assert [check_temperature(T) for T in (0, 0.38, np.float32(2), 10**400 // 10**399, float("inf"))] == [
        0.0, 0.38, 2.0, 10.0, float("inf")]


def test_distributions_that_are_not_distributions_are_refused():
    z = torch.full((1, cl.NUM_BINS, 2, 2), 1 / cl.NUM_BINS)
    zero = z.clone()
    zero[0, :, 1, 0] = 0
    with pytest.raises(ValueError, match=r"z must hold.*\(0, 1, 0\)"):
        cl.annealed_mean(zero)
    for value, where in ((float("nan"), "NaN"), (-0.1, "negative"), (float("inf"), "finite")):
        bad = z.clone()
        bad[0, 5, 0, 1] = value
        with pytest.raises(ValueError, match=f"z must hold.*{where}"):
            cl.annealed_mean(bad)
    logits = torch.zeros(1, cl.NUM_BINS, 2, 2)
    for value in (float("nan"), float("inf")):
        bad = logits.clone()
        bad[0, 7, 1, 1] = value
        with pytest.raises(ValueError, match=r"logits must hold.*\(0, 1, 1\)"):
            cl.annealed_mean_from_logits(bad)
    bad = logits.clone()
    bad[0, :, 0, 0] = -float("inf")
    with pytest.raises(ValueError, match="at least one finite logit"):
        cl.annealed_mean_from_logits(bad)
    logits[0, 1:, 0, 0] = -float("inf")  # one finite logit is a distribution: all of it on bin 0
    assert cl.annealed_mean_from_logits(logits, 1.0)[0, :, 0, 0].tolist() == cl.ab_bins()[0].tolist()


# --------------------------------------------------------------------------- the same rule on the command line


@pytest.fixture(scope="module")
def photo_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(np.ascontiguousarray(cl.sample_photo("astronaut")[::4, ::4])).save(path)
    return path


def _colorize(capsys, photo, out, T):
    code = main(["colorize", str(photo), "-o", str(out), "-T", T, "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    return np.asarray(Image.open(out).convert("RGB"))


def test_colorize_at_a_tiny_temperature_writes_the_colours_of_the_mode(capsys, photo_png, tmp_path):
    mode = _colorize(capsys, photo_png, tmp_path / "mode.png", "0")
    for T in ("1e-40", "1e-6"):
        tiny = _colorize(capsys, photo_png, tmp_path / f"tiny-{T}.png", T)
        assert np.abs(tiny.astype(int) - mode).max() <= 1, T
    assert mode.std(axis=(0, 1)).min() > 10  # a photo, not a black image


def test_colorize_at_an_infinite_temperature_is_the_uniform_mean(capsys, photo_png, tmp_path):
    model = cl.load_pretrained("classification")
    rgb = np.asarray(Image.open(photo_png).convert("RGB"))
    got = _colorize(capsys, photo_png, tmp_path / "inf.png", "inf")
    np.testing.assert_array_equal(got, cl.colorize_rgb(model, rgb, float("inf")))
    lab = cl.rgb_to_lab(cl.to_tensor(got).double())
    assert lab[0, 0].std() > 10  # the photo's lightness, with one ab everywhere up to the 8-bit rounding


@pytest.mark.parametrize("T, message", [("-1", "the temperature must be ≥ 0"), ("nan", "got nan"),
                                        ("-inf", "got -inf"), ("warm", "expected a number")])
def test_colorize_refuses_temperatures_outside_the_rule(capsys, photo_png, tmp_path, T, message):
    with pytest.raises(SystemExit) as info:
        main(["colorize", str(photo_png), "-o", str(tmp_path / "o.png"), f"--temperature={T}"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "--temperature" in err
    assert not (tmp_path / "o.png").exists()
