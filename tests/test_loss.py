"""Tests of colorlab.loss: batch preparation, the rebalanced cross-entropy and the L2 loss."""

import pytest
import torch
import torch.nn.functional as F

from colorlab.bins import NUM_BINS
from colorlab.color import rgb_to_lab
from colorlab.encode import nearest_bin, soft_encode
from colorlab.loss import GREY_AB_THRESHOLD, prepare_batch, rebalanced_cross_entropy, regression_loss
from colorlab.models import normalize_l


def _photos(batch=2, size=16, seed=0):
    """Smooth random colour images (uint8): neighbouring pixels have related colours, as in photos."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, size // 4, size // 4, generator=g)
    rgb = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return (rgb * 255).round().to(torch.uint8)


def _class_weights(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(NUM_BINS, generator=g, dtype=torch.float64) * 5 + 0.1


def _dense_loss(logits, ab_quarter, pixel_w, k=5):
    z = soft_encode(ab_quarter.double(), k=k)
    return (-(z * F.log_softmax(logits, dim=1)).sum(1) * pixel_w).mean()


def test_prepare_batch_shapes_and_values():
    rgb = _photos(3, 24)
    batch = prepare_batch(rgb, k=5)
    lab = rgb_to_lab(rgb.float() / 255)
    assert batch["l"].shape == (3, 1, 24, 24) and torch.equal(batch["l"], lab[:, :1])
    assert torch.equal(batch["l_norm"], normalize_l(lab[:, :1]))
    assert torch.equal(batch["ab"], lab[:, 1:])
    assert torch.equal(batch["ab_quarter"], lab[:, 1:, ::4, ::4])
    assert batch["index"].shape == batch["weight"].shape == (3, 5, 6, 6)
    assert batch["index"].dtype == torch.int64
    assert torch.allclose(batch["weight"].sum(1), torch.ones(3, 6, 6))
    assert torch.equal(batch["index"][:, 0], nearest_bin(batch["ab_quarter"]))
    assert batch["pixel_w"].shape == (3, 6, 6) and torch.equal(batch["pixel_w"], torch.ones(3, 6, 6))
    assert all(v.dtype in (torch.float32, torch.int64) for v in batch.values())


def test_prepare_batch_pixel_weights_are_class_weight_of_nearest_bin():
    rgb = _photos(2, 16)
    w = _class_weights()
    batch = prepare_batch(rgb, class_weights=w)
    expected = w.float()[nearest_bin(batch["ab_quarter"])]
    assert torch.equal(batch["pixel_w"], expected)
    # Uniform class weights (λ = 1) are the same as no rebalancing.
    assert torch.equal(prepare_batch(rgb, class_weights=torch.ones(NUM_BINS))["pixel_w"], prepare_batch(rgb)["pixel_w"])


def test_grey_images_get_zero_weight():
    colour = _photos(1, 16)
    grey = colour.float().mean(1, keepdim=True).round().to(torch.uint8).expand(1, 3, 16, 16)
    tinted = grey.clone()
    tinted[:, 0] = (tinted[:, 0].int() + 3).clamp(max=255).to(torch.uint8)  # a faint red cast: |a| a few units
    rgb = torch.cat([colour, grey, tinted])
    ab_max = rgb_to_lab(rgb.float() / 255)[:, 1:].abs().amax(dim=(1, 2, 3))
    assert ab_max[0] > GREY_AB_THRESHOLD and ab_max[1] < 0.01 and 0.5 < ab_max[2] <= GREY_AB_THRESHOLD
    batch = prepare_batch(rgb, class_weights=_class_weights())
    assert (batch["pixel_w"][0] > 0).all()
    assert (batch["pixel_w"][1:] == 0).all()
    # A grey image contributes nothing to the gradient.
    logits = torch.randn(3, NUM_BINS, 4, 4, requires_grad=True)
    rebalanced_cross_entropy(logits, batch["index"], batch["weight"], batch["pixel_w"]).backward()
    assert (logits.grad[1:] == 0).all() and (logits.grad[0] != 0).any()
    # The rule can be switched off.
    assert (prepare_batch(rgb, grey_threshold=None)["pixel_w"] == 1).all()


@pytest.mark.parametrize("k", [1, 5, 10])
def test_equals_dense_cross_entropy(k):
    rgb = _photos(2, 16)
    batch = prepare_batch(rgb, k=k, class_weights=_class_weights())
    logits = torch.randn(2, NUM_BINS, 4, 4, dtype=torch.float64)
    sparse = rebalanced_cross_entropy(logits, batch["index"], batch["weight"].double(), batch["pixel_w"].double())
    dense = _dense_loss(logits, batch["ab_quarter"], batch["pixel_w"].double(), k=k)
    assert sparse.item() == pytest.approx(dense.item(), rel=1e-6)
    # Without pixel weights: the plain soft-target cross-entropy, equal to F.cross_entropy with probabilities.
    plain = rebalanced_cross_entropy(logits, batch["index"], batch["weight"].double())
    z = soft_encode(batch["ab_quarter"].double(), k=k)
    assert plain.item() == pytest.approx(F.cross_entropy(logits, z).item(), rel=1e-6)


def _grad(logits, batch, pixel_w):
    logits = logits.clone().requires_grad_(True)
    rebalanced_cross_entropy(logits, batch["index"], batch["weight"], pixel_w).backward()
    return logits.grad


def test_rebalancing_changes_the_gradient():
    rgb = _photos(2, 16, seed=3)
    logits = torch.randn(2, NUM_BINS, 4, 4)
    plain = prepare_batch(rgb)
    weighted = prepare_batch(rgb, class_weights=_class_weights())
    uniform = prepare_batch(rgb, class_weights=torch.ones(NUM_BINS))
    g_plain = _grad(logits, plain, plain["pixel_w"])
    g_weighted = _grad(logits, weighted, weighted["pixel_w"])
    g_uniform = _grad(logits, uniform, uniform["pixel_w"])
    assert not torch.allclose(g_weighted, g_plain)
    # Each pixel's gradient is scaled by exactly its class weight.
    assert torch.allclose(g_weighted, g_plain * weighted["pixel_w"][:, None], atol=1e-7)
    assert torch.equal(g_uniform, g_plain)
    assert torch.equal(g_plain, _grad(logits, plain, None))


def test_gradients_flow_to_a_model():
    from colorlab.models import ECCV16

    model = ECCV16(width=0.125)
    batch = prepare_batch(_photos(2, 32), class_weights=_class_weights())
    loss = rebalanced_cross_entropy(model(batch["l_norm"]), batch["index"], batch["weight"], batch["pixel_w"])
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.blocks.conv1[0].weight.grad.abs().sum() > 0


def test_gradcheck():
    batch = prepare_batch(_photos(1, 8), k=3, class_weights=_class_weights())
    logits = torch.randn(1, NUM_BINS, 2, 2, dtype=torch.float64, requires_grad=True)
    weight, pixel_w = batch["weight"].double(), batch["pixel_w"].double()
    assert torch.autograd.gradcheck(lambda x: rebalanced_cross_entropy(x, batch["index"], weight, pixel_w), (logits,))
    pred = torch.randn(1, 2, 2, 2, dtype=torch.float64, requires_grad=True) * 30
    assert torch.autograd.gradcheck(lambda p: regression_loss(p, batch["ab_quarter"].double()), (pred,))


def test_half_precision_logits_give_float32_loss():
    batch = prepare_batch(_photos(1, 16))
    logits = torch.randn(1, NUM_BINS, 4, 4)
    loss16 = rebalanced_cross_entropy(logits.bfloat16(), batch["index"], batch["weight"], batch["pixel_w"])
    assert loss16.dtype == torch.float32
    loss32 = rebalanced_cross_entropy(logits.bfloat16().float(), batch["index"], batch["weight"], batch["pixel_w"])
    assert loss16.item() == pytest.approx(loss32.item(), rel=1e-6)


def test_bad_inputs():
    with pytest.raises(TypeError, match="rgb_uint8 must be a uint8"):
        prepare_batch(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"rgb_uint8 must have shape \(B, 3, H, W\)"):
        prepare_batch(torch.zeros(1, 4, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="divisible by 8"):
        prepare_batch(torch.zeros(1, 3, 16, 20, dtype=torch.uint8))
    with pytest.raises(ValueError, match="class_weights"):
        prepare_batch(_photos(1, 16), class_weights=torch.ones(3))
    batch = prepare_batch(_photos(1, 16))
    with pytest.raises(ValueError, match="index"):
        rebalanced_cross_entropy(torch.randn(1, NUM_BINS, 8, 8), batch["index"], batch["weight"], batch["pixel_w"])
    with pytest.raises(ValueError, match="pixel_w"):
        rebalanced_cross_entropy(torch.randn(1, NUM_BINS, 4, 4), batch["index"], batch["weight"], torch.ones(1, 8, 8))
    with pytest.raises(ValueError, match="quarter-resolution"):
        regression_loss(torch.zeros(1, 2, 4, 4), batch["ab"])


def test_regression_loss_values():
    ab = torch.randn(2, 2, 4, 4) * 40
    assert regression_loss(ab, ab).item() == 0
    pred = ab + torch.tensor([11.0, 0.0])[None, :, None, None]
    assert regression_loss(pred, ab).item() == pytest.approx(0.5 * 0.1**2)
    w = torch.zeros(2, 4, 4)
    w[0] = 2
    assert regression_loss(pred, ab, w).item() == pytest.approx(0.5 * 0.1**2)  # half the pixels, weight 2


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda():
    rgb = _photos(2, 32).to("cuda")
    batch = prepare_batch(rgb, class_weights=_class_weights())
    assert all(v.device.type == "cuda" for v in batch.values())
    logits = torch.randn(2, NUM_BINS, 8, 8, device="cuda", requires_grad=True)
    loss = rebalanced_cross_entropy(logits, batch["index"], batch["weight"], batch["pixel_w"])
    loss.backward()
    cpu = prepare_batch(rgb.cpu(), class_weights=_class_weights())
    expected = rebalanced_cross_entropy(logits.detach().cpu(), cpu["index"], cpu["weight"], cpu["pixel_w"])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_with_the_papers_rebalancing_weights():
    from colorlab.prior import imagenet_prior, pixel_weights, rebalance_weights

    rgb = _photos(2, 16, seed=5)
    w = rebalance_weights(imagenet_prior(), 0.5)
    batch = prepare_batch(rgb, class_weights=w)
    assert torch.allclose(batch["pixel_w"], pixel_weights(batch["ab_quarter"], w).float())
    assert batch["pixel_w"].std() > 0
    # λ = 1: no rebalancing, every pixel of a colourful image weighs 1.
    no_rebalancing = prepare_batch(rgb, class_weights=rebalance_weights(imagenet_prior(), 1.0))
    assert torch.allclose(no_rebalancing["pixel_w"], torch.ones(2, 4, 4))
