import pytest
import torch

import colorlab as cl
from colorlab.cost import GPU_PEAKS, TRAINING_PASSES, training_cost


def test_a_run_costs_three_forward_passes_per_crop_times_its_crops():
    config = cl.TrainConfig(model="seed", width=0.25, image_size=64, batch_size=3, steps=7)
    with torch.device("meta"):
        forward = cl.conv_flops(cl.build_model("seed", width=0.25), 64)
    cost = training_cost(config)
    assert cost.flops_per_image == TRAINING_PASSES * forward
    assert cost.images == 21
    assert cost.flops == 21 * TRAINING_PASSES * forward


def test_gpu_hours_divide_the_flops_by_the_sustained_rate():
    cost = training_cost(cl.TrainConfig(width=0.125, image_size=32, batch_size=2, steps=10))
    peak = GPU_PEAKS["T4, fp16"]
    assert cost.gpu_hours(peak, 0.5) == pytest.approx(cost.flops / (0.5 * peak) / 3600)
    assert cost.gpu_hours(peak, 0.1) == pytest.approx(3 * cost.gpu_hours(peak, 0.3))


@pytest.mark.parametrize("share", [0, -0.1, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share):
    cost = training_cost(cl.TrainConfig(width=0.125, image_size=32, batch_size=2, steps=1))
    with pytest.raises(ValueError, match="share"):
        cost.gpu_hours(GPU_PEAKS["T4, fp16"], share)


def test_a_run_limited_by_epochs_has_no_cost_without_its_data():
    with pytest.raises(ValueError, match="steps"):
        training_cost(cl.TrainConfig(steps=None, epochs=2))
