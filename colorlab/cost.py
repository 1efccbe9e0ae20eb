"""What a training run costs before it runs: FLOPs per image and per run, and GPU-hours at a stated share of a
GPU's peak (chapter 6).

These are estimates, not measurements. The FLOPs are counted on the network (:func:`colorlab.conv_flops`: the
convolutions, 2 × multiply-adds plus bias additions) and a training step is taken as three forward passes (the
forward, and the backward with respect to activations and to weights, each about as costly). How much of a GPU's
peak a run reaches depends on the GPU, the batch, the precision and whether the data loader keeps up;
``benchmarks/gpu.sh`` measures it on a real GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .models import build_model, conv_flops

__all__ = ["GPU_PEAKS", "TRAINING_PASSES", "RunCost", "training_cost"]

#: Dense tensor-core peaks in FLOP/s, from NVIDIA's datasheets: the H100 SXM in bfloat16 (989.4 TFLOPS without
#: sparsity), and the T4 (the GPU of a free Colab session; no bfloat16) in float16 with float32 accumulation
#: (65 TFLOPS).
GPU_PEAKS = {"H100 SXM, bf16": 989.4e12, "T4, fp16": 65e12}
#: Forward passes one training image costs: the forward, and the backward to activations and to weights.
TRAINING_PASSES = 3


@dataclass(frozen=True)
class RunCost:
    """The estimated cost of a training run (:func:`training_cost`)."""

    flops_per_image: float  #: forward + backward of one crop, FLOPs
    images: int  #: crops the run trains on: steps × batch size
    flops: float  #: the whole run, FLOPs

    def gpu_hours(self, peak: float, share: float = 0.3) -> float:
        """Hours on one GPU of peak ``peak`` FLOP/s (e.g. a value of :data:`GPU_PEAKS`) that sustains ``share``
        (0 < share ≤ 1) of it."""
        if not 0 < share <= 1:
            raise ValueError(f"share must lie in (0, 1]; got {share!r}")
        return self.flops / (peak * share) / 3600


def training_cost(config) -> RunCost:
    """The FLOPs of a run of :class:`colorlab.train.TrainConfig` ``config``: its model at its width, on square
    crops of ``image_size``, ``batch_size`` crops a step for ``steps`` steps (the network is built on the meta
    device: nothing is allocated).

    >>> from colorlab.train import TrainConfig
    >>> cost = training_cost(TrainConfig(width=1.0, image_size=176, batch_size=40, steps=450_000))
    >>> round(cost.flops_per_image / 1e9), round(cost.flops / 1e18, 2)
    (118, 2.13)
    """
    if config.steps is None:
        raise ValueError("config.steps: the cost of a run limited by epochs depends on the data; give steps")
    with torch.device("meta"):
        model = build_model(config.model, width=config.width)
    per_image = TRAINING_PASSES * conv_flops(model, config.image_size)
    images = config.steps * config.batch_size
    return RunCost(flops_per_image=float(per_image), images=images, flops=float(per_image) * images)
