"""Smoke test of the benchmark scripts: they run and report consistent numbers (speed is never asserted)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_throughput  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("model", ["eccv16", "regression"])
def test_train_throughput_runs(model, capsys):
    argv = ["--model", model, "--width", "0.0625", "--size", "32", "--batch", "2", "--steps", "1",
            "--warmup", "0", "--device", "cpu", "--loader", "samples", "--workers", "0", "--format", "json"]
    assert train_throughput.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == model and result["batch"] == 2
    for name in ("step", "model", "prepare", "loader"):
        assert result[f"{name}_images_per_s"] == pytest.approx(2 / (result[f"{name}_ms"] / 1e3))
    # TFLOP/s = 3 × forward FLOPs per image × images/s.
    assert result["model_tflops"] == pytest.approx(
        result["train_gflops_per_image"] * 1e9 * result["model_images_per_s"] / 1e12
    )


def test_train_throughput_rejects_bad_sizes():
    with pytest.raises(SystemExit):
        train_throughput.parse_args(["--size", "30"])
    with pytest.raises(SystemExit):
        train_throughput.parse_args(["--loader", "folder"])


def test_widget_benchmark_times_every_control():
    import widgets as widget_benchmark  # benchmarks/widgets.py

    import colorlab as cl
    from colorlab import widgets

    box = widgets.rebalancing_widget(cl.imagenet_prior(), lam=0.5)
    medians = widget_benchmark.time_redraws(box, repeat=2)
    assert list(medians) == list(box.controls)
    assert all(wall > 0 and cpu > 0 for wall, cpu in medians.values())
    assert box.controls["lam"].value == 0.5, "the control is put back"
    assert widgets._show.__module__ == "colorlab.widgets", "the display function is restored"
