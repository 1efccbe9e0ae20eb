"""Tests of colorlab.models: the ECCV16 network, the seed variant, the regression net and the inspection tools."""

import pytest
import torch
from torch import nn

import colorlab.models as models
from colorlab.bins import NUM_BINS
from colorlab.decode import annealed_mean_from_logits

# The paper's network at width 1 (DESIGN facts: 32.2 M parameters, 64.0 / 83.6 GFLOPs at 224² / 256²).
ECCV16_PARAMETERS = 32_235_385


@pytest.fixture(scope="module")
def eccv16_meta():
    """ECCV16 at width 1 built on the meta device: counts without allocating 130 MB."""
    with torch.device("meta"):
        return models.ECCV16()


def test_normalize_l():
    l = torch.tensor([0.0, 25.0, 50.0, 100.0], dtype=torch.float64)
    assert torch.equal(models.normalize_l(l), torch.tensor([-0.5, -0.25, 0.0, 0.5], dtype=torch.float64))


def test_eccv16_parameter_count(eccv16_meta):
    n = models.count_parameters(eccv16_meta)
    assert n == ECCV16_PARAMETERS
    assert round(n / 1e6, 1) == 32.2


def test_eccv16_parameter_count_by_formula(eccv16_meta):
    """Independent count from the table: conv weights + biases, affine BatchNorm, the head."""
    def conv(cin, cout, k):
        return cin * cout * k * k + cout

    chans = [(1, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3), (512, 512, 3), (512, 512, 3)]
    total = 0
    for cin, cout, n in chans:
        total += conv(cin, cout, 3) + (n - 1) * conv(cout, cout, 3) + 2 * cout
    total += conv(512, 256, 4) + 2 * conv(256, 256, 3) + conv(256, NUM_BINS, 1)
    assert models.count_parameters(eccv16_meta) == total


def test_eccv16_flops(eccv16_meta):
    assert round(models.conv_flops(eccv16_meta, 224) / 1e9, 1) == 64.0
    assert round(models.conv_flops(eccv16_meta, 256) / 1e9, 1) == 83.6
    # The multiply-adds alone (2 × MACs) are 63.96 and 83.54 GFLOPs.
    assert round(models.conv_flops(eccv16_meta, 224, include_bias=False) / 1e9, 2) == 63.96
    assert round(models.conv_flops(eccv16_meta, 256, include_bias=False) / 1e9, 2) == 83.54
    # FLOPs scale with the number of pixels.
    assert models.conv_flops(eccv16_meta, (256, 512)) == 2 * models.conv_flops(eccv16_meta, 256)


def test_conv_flops_counts_transposed_convolution():
    up = nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1)
    net = nn.Sequential(nn.Conv2d(1, 3, 1), up)
    # Each of the 3·6·6 input values meets a 5·4·4 slice of the kernel.
    assert models.conv_flops(net, 6, include_bias=False) == 2 * 3 * 36 + 2 * 3 * 36 * 5 * 16
    # Bias additions: one per output value (3·6·6 and 5·12·12).
    assert models.conv_flops(net, 6) == 2 * 3 * 36 + 2 * 3 * 36 * 5 * 16 + 3 * 36 + 5 * 144


def test_conv_flops_leaves_model_untouched():
    model = models.ECCV16(width=0.125).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    models.conv_flops(model, 64)
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("name, channels", [("eccv16", NUM_BINS), ("seed", NUM_BINS), ("regression", 2)])
def test_output_shapes(name, channels):
    model = models.build_model(name, width=0.125)
    out = model(torch.randn(2, 1, 64, 48))
    assert out.shape == (2, channels, 16, 12)
    assert model.config == {"name": name, "width": 0.125, "dilation": 2}


def test_seed_net_output_and_conv8_width():
    with torch.device("meta"):
        seed = models.SeedNet()
        eccv16 = models.ECCV16()
    table = {r.block: r for r in models.layer_table(seed, 256)}
    assert table["out"].output_shape == (NUM_BINS, 64, 64)
    assert table["conv8"].output_shape == (128, 64, 64)
    assert {r.block: r for r in models.layer_table(eccv16, 256)}["conv8"].output_shape == (256, 64, 64)
    assert models.count_parameters(seed) < models.count_parameters(eccv16)


def test_regression_output_is_raw_ab():
    model = models.RegressionNet(width=0.125)
    with torch.no_grad():
        model.blocks.out.bias.copy_(torch.tensor([0.5, -0.25]))
        model.blocks.out.weight.zero_()
    ab = model(torch.zeros(1, 1, 16, 16))
    assert torch.allclose(ab[0, :, 0, 0], torch.tensor([0.5 * models.AB_SCALE, -0.25 * models.AB_SCALE]))


def test_width_multiplier():
    model = models.ECCV16(width=0.25)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].out_channels == 16
    assert model.blocks.conv4[0].out_channels == 128
    assert model.blocks.conv8[0].out_channels == 64
    assert model.blocks.out.out_channels == NUM_BINS  # the bins are not scaled
    tiny = models.ECCV16(width=0.01)
    assert min(m.out_channels for m in tiny.modules() if isinstance(m, nn.Conv2d) and m is not tiny.blocks.out) == 8
    # Parameters fall roughly with the square of the width.
    assert models.count_parameters(model) < models.count_parameters(models.ECCV16(width=0.5)) / 3


@pytest.mark.parametrize("width", [0, -1.0, float("nan"), "1", True])
def test_bad_width(width):
    with pytest.raises(ValueError, match="width"):
        models.ECCV16(width=width)


def test_build_model_rebuilds_from_config_and_rejects_unknown_names():
    model = models.build_model("seed", 0.125)
    again = models.build_model(**model.config)
    assert type(again) is models.SeedNet
    again.load_state_dict(model.state_dict())
    with pytest.raises(ValueError, match=r"\['eccv16', 'regression', 'seed'\].*'vgg'"):
        models.build_model("vgg")


def test_wrong_input_raises():
    model = models.ECCV16(width=0.125)
    with pytest.raises(ValueError, match=r"l_norm must have shape \(B, 1, H, W\)"):
        model(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="l_norm"):
        model(torch.zeros(1, 32, 32))
    with pytest.raises(TypeError, match="l_norm"):
        model(torch.zeros(1, 1, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"l must have shape"):
        model.colorize(torch.zeros(1, 3, 32, 32))


def test_dilation_changes_receptive_field_not_parameters():
    dilated, plain = models.ECCV16(0.125), models.ECCV16(0.125, dilation=1)
    assert models.count_parameters(dilated) == models.count_parameters(plain)
    rf_dilated = models.receptive_fields(dilated)[-1].size
    rf_plain = models.receptive_fields(plain)[-1].size
    # conv5 and conv6: six 3×3 convolutions at 1/8 resolution, each seeing 2 · 8 more pixels when dilated.
    assert rf_dilated - rf_plain == 6 * 2 * 8
    assert models.receptive_fields(dilated)[-1].jump == models.OUTPUT_STRIDE


def _empirical_receptive_field(net: nn.Module, size: int) -> int:
    """Side of the set of input pixels that influence the centre output cell, by back-propagation through a
    network whose weights are all positive (every ReLU active, so no influence is masked)."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.abs() + 1e-3)
    x = torch.rand(1, 1, size, size, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    rows = (x.grad[0, 0].abs() > 0).any(dim=1).nonzero()
    return int(rows.max() - rows.min() + 1)


def test_receptive_field_matches_back_propagation():
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(2, 2, 3, padding=2, dilation=2), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1), nn.ReLU(), nn.Conv2d(2, 1, 3, padding=1),
    )
    assert _empirical_receptive_field(net, 64) == models.receptive_fields(net)[-1].size


@pytest.mark.slow
def test_eccv16_receptive_field_matches_back_propagation():
    net = models.ECCV16(width=0.03).eval()
    assert _empirical_receptive_field(net, 512) == models.receptive_fields(net)[-1].size


def test_layer_table():
    model = models.ECCV16(width=0.25)
    rows = models.layer_table(model, 64)
    assert [r.block for r in rows] == [f"conv{i}" for i in range(1, 9)] + ["out"]
    assert sum(r.parameters for r in rows) == models.count_parameters(model)
    assert sum(r.gflops for r in rows) == pytest.approx(models.conv_flops(model, 64) / 1e9)
    by = {r.block: r for r in rows}
    assert by["conv1"].output_shape == (16, 32, 32) and by["conv1"].layers == "2 × conv 3×3"
    assert by["conv3"].output_shape == (64, 8, 8)
    assert by["conv5"].dilation == 2 and by["conv5"].output_shape == (128, 8, 8)
    assert by["conv8"].layers == "transposed conv 4×4 s2, 2 × conv 3×3" and by["conv8"].stride == 0.5
    assert not by["conv8"].batch_norm and by["conv7"].batch_norm
    assert by["out"].output_shape == (NUM_BINS, 16, 16)
    assert [r.receptive_field for r in rows] == sorted(r.receptive_field for r in rows)


def test_batch_norm_after_last_relu_and_none_in_conv8():
    model = models.ECCV16(width=0.125)
    for name in [f"conv{i}" for i in range(1, 8)]:
        block = list(getattr(model.blocks, name))
        assert isinstance(block[-1], nn.BatchNorm2d) and isinstance(block[-2], nn.ReLU), name
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.blocks.conv8.modules())
    assert all(m.bias is not None for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_prediction_shape():
    assert models.prediction_shape(256, 256) == (256, 256)
    assert models.prediction_shape(2000, 3000) == (256, 384)
    assert models.prediction_shape(100, 50, size=64) == (128, 64)
    with pytest.raises(ValueError, match="size"):
        models.prediction_shape(10, 10, size=4)


def test_prediction_shape_is_exact_and_rounds_halves_up():
    from fractions import Fraction

    assert models.prediction_shape(64, 65) == (256, 264)  # 65 · 256 / 64 = 32.5 multiples of 8
    for height, width in [(64, 65), (192, 195), (300, 451), (17, 1000), (4000, 3000), (250, 1000), (1, 7)]:
        scale = Fraction(256, max(min(height, width), Fraction(max(height, width), 4)))
        exact = tuple(max(8, 8 * int(side * scale / 8 + Fraction(1, 2))) for side in (height, width))
        assert models.prediction_shape(height, width) == exact


def test_prediction_shape_bounds_the_longer_side_and_the_pixels_of_strips():
    assert models.prediction_shape(1, 3000) == (8, 1024)  # not 256 × 768,000
    assert models.prediction_shape(5000, 1) == (1024, 8)
    assert models.prediction_shape(17, 1000) == (16, 1024)
    assert models.prediction_shape(64, 256) == (256, 1024)  # 4:1 still has its shorter side at 256
    assert models.prediction_shape(10, 100, size=64) == (24, 256)
    for size in (8, 64, 256, 512):
        for height in (1, 2, 7, 33, 256, 1000, 4096):
            for width in (1, 3, 100, 999, 5000, 100_000):
                h, w = models.prediction_shape(height, width, size)
                assert max(h, w) <= models.MAX_ASPECT * size and min(h, w) <= size
                assert h * w <= models.MAX_ASPECT * size**2
                if max(height, width) <= models.MAX_ASPECT * min(height, width):  # the shorter side is size
                    assert min(h, w) == 8 * round(size / 8)


def test_prediction_shape_refuses_a_size_below_8():
    for size, error in ((7, ValueError), (0, ValueError), (8.0, TypeError), (True, TypeError)):
        with pytest.raises(error, match="size must be"):
            models.prediction_shape(100, 100, size)


@pytest.mark.parametrize("name", ["eccv16", "seed", "regression"])
def test_colorize_shape_and_mode_restored(name):
    model = models.build_model(name, 0.125).train()
    l = torch.rand(2, 1, 50, 70) * 100
    ab = model.colorize(l, size=32)
    assert ab.shape == (2, 2, 50, 70) and ab.dtype == l.dtype
    assert torch.isfinite(ab).all()
    assert model.training
    assert not ab.requires_grad


def test_colorize_matches_manual_pipeline():
    torch.manual_seed(0)
    model = models.ECCV16(width=0.125).eval()
    l = torch.rand(1, 1, 32, 32) * 100
    ab = model.colorize(l, T=0.5, size=None)
    with torch.no_grad():
        small = annealed_mean_from_logits(model(models.normalize_l(l)), 0.5)
    expected = torch.nn.functional.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False)
    assert torch.allclose(ab, expected)
    # The mode path (T = 0) picks bin centres at 1/4 resolution: different from the annealed mean.
    assert not torch.allclose(model.colorize(l, mode=True, size=None), ab)


class _Seen(Exception):
    pass


@pytest.mark.parametrize("shape, seen", [((1, 400), (8, 1024)), ((400, 1), (1024, 8)), ((2, 600), (8, 1024))])
def test_colorize_predicts_a_strip_at_a_bounded_size(shape, seen):
    """The committed model on strips that a rule on the shorter side alone would scale to 256 × 100,000."""
    from colorlab import load_pretrained

    model = load_pretrained("classification")
    shapes = []

    def stop(module, inputs):  # before the network runs: a wrong shape must not take the memory first
        shapes.append(tuple(inputs[0].shape[-2:]))
        raise _Seen

    handle = model.register_forward_pre_hook(stop)
    l = torch.rand(1, 1, *shape, generator=torch.Generator().manual_seed(0)) * 100
    with pytest.raises(_Seen):
        model.colorize(l)
    handle.remove()
    assert shapes == [seen]
    ab = model.colorize(l)
    assert ab.shape == (1, 2, *shape) and torch.isfinite(ab).all()


@pytest.mark.parametrize("name", ["eccv16", "regression"])
def test_colorize_follows_the_temperature_rule(name):
    torch.manual_seed(0)
    model = models.build_model(name, 0.125).eval()
    with torch.no_grad():
        model.blocks.out.weight.mul_(1e4)  # logits that differ as a trained model's do, not by 1e-6
    l = torch.rand(1, 1, 32, 32) * 100
    if name == "eccv16":
        mode = model.colorize(l, mode=True, size=None)
        for T in (0, 1e-40, 1e-6):
            torch.testing.assert_close(model.colorize(l, T, size=None), mode, rtol=0, atol=1e-4)
        assert torch.isfinite(model.colorize(l, float("inf"), size=None)).all()
    for T, error in ((-1.0, ValueError), (float("nan"), ValueError), ("0.38", TypeError)):
        with pytest.raises(error, match="T must be"):
            model.colorize(l, T)


def test_colorize_high_resolution_predicts_at_fixed_size():
    model = models.ECCV16(width=0.125)
    seen = []
    handle = model.blocks.conv1.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape[-2:])))
    ab = model.colorize(torch.rand(1, 1, 300, 600) * 100, size=64)
    handle.remove()
    assert seen == [(64, 128)]
    assert ab.shape == (1, 2, 300, 600)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_to_dtype(dtype):
    model = models.ECCV16(width=0.125).to(dtype)
    logits = model(torch.zeros(1, 1, 32, 32, dtype=dtype))
    assert logits.dtype == dtype
    ab = model.colorize(torch.rand(1, 1, 32, 32, dtype=dtype) * 100, size=32)
    assert ab.dtype == dtype and ab.shape == (1, 2, 32, 32)


def test_gradients_reach_every_parameter():
    model = models.ECCV16(width=0.125)
    model(torch.randn(2, 1, 32, 32)).logsumexp(1).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["eccv16", "regression"])
def test_cuda(name):
    model = models.build_model(name, 0.25).to("cuda")
    l = torch.rand(2, 1, 64, 64, device="cuda") * 100
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(models.normalize_l(l))
    assert out.device.type == "cuda"
    ab = model.colorize(l, size=64)
    assert ab.device.type == "cuda" and ab.dtype == torch.float32 and ab.shape == (2, 2, 64, 64)


def test_format_layer_table(eccv16_meta):
    text = models.format_layer_table(models.layer_table(eccv16_meta, 256))
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["block", "layers", "output"]
    assert len(lines) == 1 + 1 + 9 + 1 + 1  # header, rule, 9 blocks, rule, total
    assert "313 × 64 × 64" in text and "1/2" in text
    assert lines[-1].split()[:3] == ["total", f"{ECCV16_PARAMETERS:,}", "83.57"]
