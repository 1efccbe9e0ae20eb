"""The colorization networks: ECCV16, the seed report's variant and a regression baseline.

Zhang, Isola & Efros (ECCV 2016), §2 and Figure 2: a VGG-style stack of 3×3 convolutions with no pooling, which
downsamples by strided convolutions to 1/8, widens the receptive field with dilated convolutions in conv5–6, and
comes back to 1/4 of the input size with one transposed convolution. A final 1×1 convolution gives, at every
output pixel, logits over the ``NUM_BINS`` quantised ab bins.

The layer-by-layer facts (channels, strides, dilations, where BatchNorm sits) follow the authors' released
models (Caffe prototxt and the PyTorch port ``eccv16``): every convolution has a bias and is followed by a ReLU,
except the final 1×1 convolution; BatchNorm comes after the last ReLU of blocks conv1–conv7; conv8 is a 4×4
transposed convolution (stride 2, padding 1) followed by two 3×3 convolutions, with no BatchNorm. The Caffe model's
BatchNorm has no learnable scale and shift; this module uses PyTorch's affine BatchNorm, as the PyTorch port does
(that adds 2 × 2,496 parameters out of 32.2 M).

Conventions: L enters as ``normalize_l(l) = (l − 50) / 100`` (the PyTorch port's scaling); classification models
return logits, the regression model returns ab in raw CIELAB units. Inputs whose height and width are multiples
of 8 give outputs of exactly 1/4 of their size (in general the output side is 2·⌈side / 8⌉).

Three models share that backbone:

* :class:`ECCV16` — the paper's network, with a width multiplier for small CPU models.
* :class:`SeedNet` — the network of the seed reproduction's Figure 2 (the same backbone, with conv8 at 128
  channels instead of 256; its logits are 313 × 64 × 64 for a 256² input).
* :class:`RegressionNet` — the same backbone with a 2-channel head that predicts ab directly (the L2 baseline).

Tools to look inside a model: :func:`count_parameters`, :func:`conv_flops` (measured with forward hooks on the
meta device, so no memory or compute is spent), :func:`receptive_fields` and :func:`layer_table`.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_image
from .bins import NUM_BINS
from .decode import T_ANNEALED, annealed_mean_from_logits, check_temperature, decode_mode

#: L is centred and scaled as (L − L_CENTER) / L_SCALE before entering a network (the authors' PyTorch port).
L_CENTER = 50.0
L_SCALE = 100.0
#: ab is predicted on the scale ab / AB_SCALE by the regression head (the authors' PyTorch port multiplies its
#: decoded output by 110 — ``unnormalize_ab``).
AB_SCALE = 110.0
#: A width multiplier never shrinks a hidden layer below this many channels.
MIN_CHANNELS = 8
#: :meth:`colorize` resizes L so its shorter side has this many pixels before predicting (the authors' demo
#: predicts at 256²), then upsamples ab onto the full-resolution L.
PREDICT_SIZE = 256
#: ... but never so that its longer side exceeds this many times the size (:func:`prediction_shape`): the network
#: then sees at most MAX_ASPECT · size² pixels, whatever the photo's aspect ratio.
MAX_ASPECT = 4
#: Heights and widths that are multiples of this give outputs of exactly 1/4 of the input size.
SIZE_MULTIPLE = 8
#: The network's output is this many times smaller than its input (per side).
OUTPUT_STRIDE = 4


class Block(NamedTuple):
    """One row of the ECCV16 table: ``convs`` 3×3 convolutions, ``channels`` outputs each."""

    name: str
    convs: int
    channels: int
    stride: int  # stride of the block's last convolution
    dilation: int


#: Blocks conv1–conv7 of ECCV16 (paper §2, Figure 2; the authors' released models).
#: conv5 and conv6 use the dilation passed to the model (2 in the paper).
ECCV16_BLOCKS = (
    Block("conv1", 2, 64, 2, 1),
    Block("conv2", 2, 128, 2, 1),
    Block("conv3", 3, 256, 2, 1),
    Block("conv4", 3, 512, 1, 1),
    Block("conv5", 3, 512, 1, 2),
    Block("conv6", 3, 512, 1, 2),
    Block("conv7", 3, 512, 1, 1),
)
#: Channels of conv8 (transposed convolution and two 3×3 convolutions) in ECCV16.
ECCV16_CONV8_CHANNELS = 256
#: Channels of conv8 in the seed reproduction's network (its Figure 2).
SEED_CONV8_CHANNELS = 128
#: The dilation of conv5 and conv6 in the paper.
ECCV16_DILATION = 2


def normalize_l(l: torch.Tensor) -> torch.Tensor:
    """Map lightness L in [0, 100] to the network's input scale (L − 50) / 100, in [−0.5, 0.5].

    Any shape, dtype and device; returns a new tensor of the same shape, dtype and device.

    >>> normalize_l(torch.tensor([0.0, 50.0, 100.0])).tolist()
    [-0.5, 0.0, 0.5]
    """
    return (l - L_CENTER) / L_SCALE


def scaled_channels(channels: int, width: float) -> int:
    """Channel count of a hidden layer under the width multiplier: ``max(MIN_CHANNELS, round(channels · width))``.

    >>> scaled_channels(512, 0.25), scaled_channels(64, 0.05)
    (128, 8)
    """
    return max(MIN_CHANNELS, int(round(channels * width)))


def _check_width(width) -> float:
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) or width <= 0:
        raise ValueError(f"width must be a positive finite number (1.0 is the paper's network); got {width!r}")
    return float(width)


def _check_dilation(dilation) -> int:
    if isinstance(dilation, bool) or not isinstance(dilation, int) or dilation < 1:
        raise ValueError(f"dilation must be a positive integer (2 in the paper); got {dilation!r}")
    return dilation


def _conv_relu_block(in_channels: int, block: Block) -> nn.Sequential:
    """One of conv1–conv7: ``block.convs`` 3×3 convolutions, each followed by a ReLU,
    the last one with the block's stride, then BatchNorm."""
    layers: list[nn.Module] = []
    for i in range(block.convs):
        stride = block.stride if i == block.convs - 1 else 1
        d = block.dilation  # taps d pixels apart; padding d keeps the size
        conv = nn.Conv2d(in_channels, block.channels, 3, stride, padding=d, dilation=d)
        layers += [conv, nn.ReLU(inplace=True)]
        in_channels = block.channels
    layers.append(nn.BatchNorm2d(block.channels))
    return nn.Sequential(*layers)


def _upsampling_block(in_channels: int, channels: int) -> nn.Sequential:
    """conv8: a 4×4 transposed convolution of stride 2 that doubles the resolution, then
    two 3×3 convolutions, each of the three followed by a ReLU (no BatchNorm)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, channels, 4, stride=2, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.ReLU(inplace=True),
    )


class ColorizationNet(nn.Module):
    """The shared backbone conv1–conv8 and a 1×1 head; base class of :class:`ECCV16`, :class:`SeedNet` and
    :class:`RegressionNet`.

    Args:
        name: the model's name in :func:`build_model` (stored in ``config``).
        width: width multiplier for every hidden layer (1.0 is the paper's network; at least ``MIN_CHANNELS``
            channels per layer).
        conv8_channels: channels of conv8 at width 1.
        out_channels: channels of the 1×1 head.
        dilation: dilation of conv5 and conv6 (2 in the paper; 1 gives the undilated network).

    Attributes:
        blocks: ``nn.Sequential`` with children conv1 … conv8 and ``out`` (the head), in order.
        config: dict of the constructor's arguments, so that ``build_model(**model.config)`` rebuilds the model.
        output_kind: ``"logits"`` (classification over the bins) or ``"ab"`` (regression).
    """

    output_kind = "logits"

    def __init__(
        self, *, name: str, width: float, conv8_channels: int, out_channels: int,
        dilation: int,
    ):
        super().__init__()
        width, dilation = _check_width(width), _check_dilation(dilation)
        self.config = {"name": name, "width": width, "dilation": dilation}
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = 1  # the input is L alone
        for block in ECCV16_BLOCKS:
            block = block._replace(
                channels=scaled_channels(block.channels, width),
                dilation=dilation if block.dilation != 1 else 1,
            )
            layers[block.name] = _conv_relu_block(in_channels, block)
            in_channels = block.channels
        c8 = scaled_channels(conv8_channels, width)
        layers["conv8"] = _upsampling_block(in_channels, c8)
        layers["out"] = nn.Conv2d(c8, out_channels, 1)  # 1×1, no ReLU: logits (or ab)
        self.blocks = nn.Sequential(layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He (fan-out) initialisation of the ReLU convolutions, zero biases, unit BatchNorm; a small normal
        initialisation of the head so that training starts from a nearly uniform distribution over the bins
        (or from ab ≈ 0 for regression). The paper initialises with k-means (Krähenbühl et al. 2016); with
        BatchNorm in every block, He initialisation trains as well from scratch."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.blocks.out.weight, std=1e-3)
        nn.init.zeros_(self.blocks.out.bias)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        """l_norm: (B, 1, H, W) lightness scaled by :func:`normalize_l` → (B, C_out, H/4,
        W/4) for H, W multiples of 8 (C_out = ``NUM_BINS`` logits for classification).
        Follows the module's dtype and device."""
        check_image(l_norm, 1, "l_norm")
        return self.blocks(l_norm)

    def output_to_ab(self, out: torch.Tensor, T: float = T_ANNEALED, *, mode: bool = False) -> torch.Tensor:
        """Turn the network's output (B, C_out, h, w) into ab (B, 2, h, w) in raw CIELAB units."""
        raise NotImplementedError

    @torch.no_grad()
    def colorize(
        self, l: torch.Tensor, T: float = T_ANNEALED, *, size: int | None = PREDICT_SIZE, mode: bool = False
    ) -> torch.Tensor:
        """Predict full-resolution ab for lightness ``l`` (paper §2.3; the authors' demo pipeline).

        L is resized (bilinear, antialiased) so that its shorter side is ``size`` pixels and both sides are
        multiples of 8 (aspect ratio kept; a strip longer than 4:1 gets a longer side of ``MAX_ASPECT · size``
        instead, :func:`prediction_shape`), normalised, run through the network in eval mode (BatchNorm uses
        its running statistics; the previous train/eval mode is restored afterwards), decoded to ab at 1/4
        resolution, and ab is upsampled bilinearly onto the original H × W. High-resolution photos are thus
        predicted at the scale the network was trained for and keep their full-resolution L.

        Args:
            l: (B, 1, H, W) floating tensor, L in [0, 100], on the model's device.
            T: annealed-mean temperature, 0 ≤ T ≤ inf (paper §2.3; 0.38 default, 1 gives the mean, 0 the mode;
                the rule of :func:`colorlab.decode.check_temperature`). Checked, then ignored, by the regression
                model.
            size: shorter side of the prediction in pixels; None predicts at the input's own size.
            mode: decode with the mode of the distribution (same as T = 0).

        Returns:
            (B, 2, H, W) ab in CIELAB units, the dtype of ``l``, on the model's device. No gradients.
        """
        check_image(l, 1, "l")
        check_temperature(T)
        height, width = l.shape[-2:]
        param = next(self.parameters())
        x = l.to(torch.float32) if l.dtype in (torch.float16, torch.bfloat16) else l
        if size is not None:
            target = prediction_shape(height, width, size)
            if target != (height, width):
                x = F.interpolate(x, size=target, mode="bilinear", align_corners=False, antialias=True)
        was_training = self.training
        self.eval()
        try:
            out = self(normalize_l(x).to(param.dtype))
        finally:
            self.train(was_training)
        ab = self.output_to_ab(out, T, mode=mode)
        ab = ab.to(torch.float32 if l.dtype in (torch.float16, torch.bfloat16) else l.dtype)
        ab = F.interpolate(ab, size=(height, width), mode="bilinear", align_corners=False)
        return ab.to(l.dtype)


class _Classifier(ColorizationNet):
    output_kind = "logits"

    def output_to_ab(self, out, T=T_ANNEALED, *, mode=False):
        """logits (B, NUM_BINS, h, w) → ab (B, 2, h, w): annealed mean at temperature T, 0 ≤ T ≤ inf (decoded
        in at least float32; T = 0 is the mode), or the centre of the most probable bin when ``mode`` is set."""
        logits = out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
        if mode:
            return decode_mode(logits)
        return annealed_mean_from_logits(logits, T)


class ECCV16(_Classifier):
    """The network of Zhang, Isola & Efros (ECCV 2016, Fig. 2) with a width multiplier.

    forward: l_norm (B, 1, H, W) → logits (B, NUM_BINS, H/4, W/4). At width 1: 32.2 M
    parameters; 64.0 GFLOPs forward at 224², 83.6 at 256² (2 × multiply-adds of the
    convolutions; see :func:`conv_flops`).

    >>> ECCV16(width=0.125)(torch.zeros(2, 1, 32, 48)).shape
    torch.Size([2, 313, 8, 12])
    """

    def __init__(self, width: float = 1.0, *, dilation: int = ECCV16_DILATION):
        super().__init__(
            name="eccv16", width=width, conv8_channels=ECCV16_CONV8_CHANNELS,
            out_channels=NUM_BINS, dilation=dilation,
        )


class SeedNet(_Classifier):
    """The seed reproduction's network (its Figure 2): ECCV16's backbone with conv8 (one 4×4 transposed
    convolution, then two 3×3 convolutions) at 128 channels. Logits are 313 × 64 × 64 for a 256² input.

    The report's figure gives the block structure and output size; BatchNorm placement and dilation are taken
    from ECCV16, which the report follows.
    """

    def __init__(self, width: float = 1.0, *, dilation: int = ECCV16_DILATION):
        super().__init__(
            name="seed", width=width, conv8_channels=SEED_CONV8_CHANNELS, out_channels=NUM_BINS, dilation=dilation
        )


class RegressionNet(ColorizationNet):
    """ECCV16's backbone with a 2-channel linear head that regresses ab (the L2 baseline of paper §3.1 and the
    seed report's MSE model).

    forward: l_norm (B, 1, H, W) → ab (B, 2, H/4, W/4) in raw CIELAB units (the head predicts ab / 110,
    multiplied back by ``AB_SCALE``). The head is linear, not tanh: ab targets are not bounded by ±110 in a
    symmetric way, and a tanh would saturate exactly on the saturated colours an L2 model already struggles
    to predict; the plain linear head is the usual MSE baseline.
    """

    output_kind = "ab"

    def __init__(self, width: float = 1.0, *, dilation: int = ECCV16_DILATION):
        super().__init__(
            name="regression", width=width, conv8_channels=ECCV16_CONV8_CHANNELS, out_channels=2, dilation=dilation
        )

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        """l_norm (B, 1, H, W) → ab (B, 2, H/4, W/4) in raw CIELAB units."""
        return super().forward(l_norm) * AB_SCALE

    def output_to_ab(self, out, T=T_ANNEALED, *, mode=False):
        """The output already is ab; T and mode are ignored."""
        return out


#: Names accepted by :func:`build_model`.
MODELS = {"eccv16": ECCV16, "seed": SeedNet, "regression": RegressionNet}


def build_model(name: str, width: float = 1.0, **kwargs) -> ColorizationNet:
    """Build a model by name: ``"eccv16"``, ``"seed"`` or ``"regression"``.

    ``build_model(**model.config)`` rebuilds a model of the same architecture (e.g. from a checkpoint).

    >>> build_model("eccv16", 0.125).config
    {'name': 'eccv16', 'width': 0.125, 'dilation': 2}
    """
    if name not in MODELS:
        raise ValueError(f"name must be one of {sorted(MODELS)}; got {name!r}")
    return MODELS[name](width, **kwargs)


def check_predict_size(size) -> int:
    """``size`` as an int if it is a valid size for :func:`prediction_shape`: an integer of at least
    ``SIZE_MULTIPLE`` pixels. Raises TypeError or ValueError otherwise."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise TypeError(f"size must be an integer number of pixels (256 by default); got {type(size).__name__}")
    if size < SIZE_MULTIPLE:
        raise ValueError(f"size must be at least {SIZE_MULTIPLE} pixels (256 by default); got {size}")
    return int(size)


def prediction_shape(height: int, width: int, size: int = PREDICT_SIZE) -> tuple[int, int]:
    """(h, w) at which :meth:`ColorizationNet.colorize` predicts a height × width image.

    The rule: scale the image, aspect ratio kept, so that its shorter side is ``size`` pixels, unless its longer
    side would then exceed ``MAX_ASPECT · size``: such a strip is scaled so that its longer side is
    ``MAX_ASPECT · size`` instead (up or down). Then round both sides to the nearest multiple of 8 (halves round
    up; at least 8). Photos up to 4:1 thus keep the shorter side ``size``; the longer side is at most
    ``MAX_ASPECT · size`` and the network sees at most about ``MAX_ASPECT · size²`` pixels (262,144 for 256),
    whatever the aspect ratio.

    The scale is ``MAX_ASPECT · size / max(MAX_ASPECT · shorter, longer)``, in integer arithmetic only: the
    result is exact, and it traces into an exported graph (symbolic sizes, :mod:`colorlab.web`) as the same
    integer operations.

    >>> prediction_shape(1024, 768), prediction_shape(1, 3000)
    ((344, 256), (8, 1024))
    """
    check_predict_size(size)
    # torch.sym_min and sym_max take ints, and trace into the graph without a branch on the image's shape
    shorter, longer = torch.sym_min(height, width), torch.sym_max(height, width)
    # in multiples of 8, a side scaled is side · MAX_ASPECT · size / step, rounded (halves up)
    step = SIZE_MULTIPLE * torch.sym_max(MAX_ASPECT * shorter, longer)
    return tuple(torch.sym_max(SIZE_MULTIPLE, SIZE_MULTIPLE * ((2 * side * MAX_ASPECT * size + step) // (2 * step)))
                 for side in (height, width))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (elements) of ``model``; buffers such as BatchNorm running statistics excluded.

    >>> count_parameters(nn.Conv2d(1, 2, 3))
    20
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _as_hw(size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


def _layer_flops(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor, include_bias: bool) -> int:
    """Forward FLOPs of one convolution: 2 × multiply-adds, plus one addition per output value for the bias."""
    kh, kw = module.kernel_size
    if isinstance(module, nn.ConvTranspose2d):
        # Every input element is multiplied by a (C_out / groups) × kh × kw slice of the kernel.
        flops = 2 * inputs.numel() * (module.out_channels // module.groups) * kh * kw
    else:
        # Every output element is a dot product of length (C_in / groups) × kh × kw.
        flops = 2 * output.numel() * (module.in_channels // module.groups) * kh * kw
    if include_bias and module.bias is not None:
        flops += output.numel()
    return flops


def _trace(
    model: nn.Module, size, watch: dict[str, nn.Module], include_bias: bool = True
) -> tuple[dict[str, int], dict[str, tuple]]:
    """Run ``model`` on a (1, 1, H, W) input on the meta device (no memory, no compute) and record, per
    convolution, its FLOPs and, per watched module, its output shape."""
    height, width = _as_hw(size)
    flops: dict[str, int] = {}
    shapes: dict[str, tuple] = {}

    def count(name):
        def hook(module, inputs, output):
            flops[name] = flops.get(name, 0) + _layer_flops(module, inputs[0], output, include_bias)
        return hook

    def record(name):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape[1:])
        return hook

    handles = [module.register_forward_hook(count(name)) for name, module in model.named_modules()
               if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))]
    handles += [module.register_forward_hook(record(name)) for name, module in watch.items()]
    state = {k: torch.empty_like(v, device="meta") for k, v in model.state_dict(keep_vars=True).items()}
    dtype = next(iter(state.values())).dtype if state else torch.float32
    x = torch.empty(1, 1, height, width, device="meta", dtype=dtype)
    was_training = model.training
    model.eval()
    try:
        torch.func.functional_call(model, state, (x,))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return flops, shapes


def conv_flops(model: nn.Module, size, *, include_bias: bool = True) -> int:
    """Forward FLOPs of the convolutions and transposed convolutions of ``model`` for one (1, 1, H, W) image.

    Counted as 2 × multiply-adds plus, when ``include_bias``, one addition per output value for the bias;
    BatchNorm, ReLU and softmax are not counted. ``size`` is an int (square) or (H, W). For ECCV16 at width 1
    this gives 63.98 GFLOPs at 224² and 83.57 at 256² (63.96 and 83.54 without the bias additions).

    Measured with forward hooks on a meta-device run (the model itself is untouched and nothing is computed).
    A training step costs about 3× this (forward, and backward with respect to activations and weights).

    >>> conv_flops(nn.Conv2d(1, 4, 3, padding=1), 8, include_bias=False)  # 2 · (4 · 8 · 8) outputs · 9 taps
    4608
    """
    flops, _ = _trace(model, size, {}, include_bias)
    return sum(flops.values())


class ReceptiveField(NamedTuple):
    """Receptive field after one convolution: ``size`` input pixels per side seen by one output cell, and
    ``jump``, the distance in input pixels between neighbouring cells of this layer's output."""

    layer: str
    kind: str
    kernel: int
    stride: int
    dilation: int
    size: float
    jump: float


def receptive_fields(model: nn.Module) -> list[ReceptiveField]:
    """Receptive field after every convolution of a model whose convolutions form a single chain (as all the
    models here do), in the order they are registered.

    For a convolution with kernel k, stride s and dilation d on a layer whose cells are ``jump`` input pixels
    apart, the receptive field grows by (k − 1)·d·jump and the jump is multiplied by s. A transposed
    convolution with stride s makes each output cell depend on k / s input cells, so it grows the field by
    (⌈k / s⌉ − 1)·jump and divides the jump by s. Only square kernels and strides are supported.

    >>> [r.size for r in receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3, dilation=2)))]
    [3, 11]
    """
    size, jump = 1, 1
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, nn.ConvTranspose2d):
            k, s = m.kernel_size[0], m.stride[0]
            size += (math.ceil(k / s) - 1) * m.dilation[0] * jump
            jump = jump / s
            rows.append(ReceptiveField(name, "transposed conv", k, s, m.dilation[0], size, jump))
        elif isinstance(m, nn.Conv2d):
            k, s, d = m.kernel_size[0], m.stride[0], m.dilation[0]
            size += (k - 1) * d * jump
            rows.append(ReceptiveField(name, "conv", k, s, d, size, jump))
            jump = jump * s
            rows[-1] = rows[-1]._replace(jump=jump)
    return rows


def color_gradient(model: ColorizationNet, l_norm: torch.Tensor, cell: tuple[int, int],
                    T: float = T_ANNEALED) -> torch.Tensor:
    """How much each input pixel moves the colour one output cell predicts: the *effective* receptive field.

    The theoretical receptive field (:func:`receptive_fields`) is the square of input pixels an output cell
    depends on at all; the gradient shows how much each of them counts (Luo et al., NeurIPS 2016, find it falls
    off like a Gaussian from the centre). Returned is |∂a/∂x| + |∂b/∂x| for every input pixel x, where (a, b)
    is the cell's decoded colour (annealed mean at ``T`` for a classifier, the prediction of a regression
    model), in eval mode.

    Args:
        model: a colorlab model.
        l_norm: (1, 1, H, W) the network's input (:func:`normalize_l` of L).
        cell: (row, column) of the output cell.
        T: annealed-mean temperature of a classifier's decoding.

    Returns:
        float32 (H, W) on the CPU, non-negative; zero outside the theoretical receptive field.
    """
    check_image(l_norm, 1, "l_norm")
    if l_norm.shape[0] != 1:
        raise ValueError(f"l_norm must hold one image (1, 1, H, W); got {tuple(l_norm.shape)}")
    was_training = model.training
    model.eval()
    try:
        x = l_norm.detach().clone().requires_grad_(True)
        ab = model.output_to_ab(model(x), T)
        row, col = cell
        if not (0 <= row < ab.shape[2] and 0 <= col < ab.shape[3]):
            raise ValueError(f"cell must lie inside the {ab.shape[2]} × {ab.shape[3]} output; got {cell}")
        grad_a, = torch.autograd.grad(ab[0, 0, row, col], x, retain_graph=True)
        grad_b, = torch.autograd.grad(ab[0, 1, row, col], x)
    finally:
        model.train(was_training)
    return (grad_a.abs() + grad_b.abs())[0, 0].detach().float().cpu()


class LayerRow(NamedTuple):
    """One row of :func:`layer_table`: a block of the network."""

    block: str
    layers: str  # e.g. "2 × conv 3×3", "transposed conv 4×4 s2, 2 × conv 3×3"
    output_shape: tuple  # (C, h, w) for one image
    stride: int  # downsampling of the block's last convolution (transposed: 1/2 written as 0.5)
    dilation: int
    batch_norm: bool
    parameters: int
    gflops: float  # forward GFLOPs of the block's convolutions for one image
    receptive_field: float  # input pixels per side seen by one output cell after the block


def _describe_layers(block: nn.Module) -> str:
    parts: list[tuple[str, int]] = []
    for m in block.modules():
        if isinstance(m, nn.ConvTranspose2d):
            label = f"transposed conv {m.kernel_size[0]}×{m.kernel_size[1]} s{m.stride[0]}"
        elif isinstance(m, nn.Conv2d):
            label = f"conv {m.kernel_size[0]}×{m.kernel_size[1]}"
        else:
            continue
        if parts and parts[-1][0] == label:
            parts[-1] = (label, parts[-1][1] + 1)
        else:
            parts.append((label, 1))
    return ", ".join(label if n == 1 else f"{n} × {label}" for label, n in parts)


def layer_table(model: ColorizationNet, size=PREDICT_SIZE) -> list[LayerRow]:
    """The architecture block by block, like the paper's Figure 2: layers, output shape for a size × size
    (or (H, W)) input, stride, dilation, BatchNorm, parameters, forward GFLOPs and receptive field.

    Every number is measured on ``model`` itself (a meta-device forward pass with hooks, and the module
    attributes), not copied from a table.
    """
    watch = dict(model.blocks.named_children())
    flops, shapes = _trace(model, size, watch)
    rf_by_layer = {r.layer: r.size for r in receptive_fields(model)}
    rows = []
    for name, block in watch.items():
        convs = [m for m in block.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        prefix = f"blocks.{name}."
        last_name = [n for n, m in model.named_modules() if m is convs[-1]][0]
        stride: float = convs[-1].stride[0]
        if any(isinstance(m, nn.ConvTranspose2d) for m in convs):
            stride = 1 / convs[0].stride[0]
        rows.append(LayerRow(
            block=name,
            layers=_describe_layers(block),
            output_shape=shapes[name],
            stride=stride,
            dilation=max(m.dilation[0] for m in convs),
            batch_norm=any(isinstance(m, nn.BatchNorm2d) for m in block.modules()),
            parameters=count_parameters(block),
            gflops=sum(v for k, v in flops.items() if k.startswith(prefix) or k == prefix[:-1]) / 1e9,
            receptive_field=rf_by_layer[last_name],
        ))
    return rows


def format_layer_table(rows: list[LayerRow]) -> str:
    """Plain-text table of :func:`layer_table` rows, with a total line (parameters and GFLOPs summed).

    Columns: block, layers, output C × h × w, stride of the last layer, dilation, BatchNorm, parameters,
    forward GFLOPs for one image, receptive field in input pixels.
    """
    header = ("block", "layers", "output", "stride", "dil.", "BN", "params", "GFLOPs", "RF")
    lines = [header]
    for r in rows:
        stride = f"1/{int(round(1 / r.stride))}" if r.stride < 1 else str(r.stride)
        lines.append((
            r.block, r.layers, " × ".join(str(s) for s in r.output_shape), stride, str(r.dilation),
            "yes" if r.batch_norm else "no", f"{r.parameters:,}", f"{r.gflops:.2f}", f"{r.receptive_field:g}",
        ))
    lines.append(("total", "", "", "", "", "", f"{sum(r.parameters for r in rows):,}",
                  f"{sum(r.gflops for r in rows):.2f}", ""))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {3, 4, 6, 7, 8}
    out = []
    for n, line in enumerate(lines):
        cells = [c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        out.append("  ".join(cells).rstrip())
        if n == 0 or n == len(lines) - 2:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
