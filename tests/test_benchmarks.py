"""Smoke test of the benchmark scripts: they run and report consistent numbers (speed is never asserted)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import train_throughput  # noqa: E402

TINY = ["--width", "0.0625", "--size", "32", "--batch", "2", "--steps", "1", "--warmup", "0", "--device", "cpu",
        "--workers", "0", "--format", "json"]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["eccv16", "regression"])
def test_train_throughput_runs(model, capsys):
    assert train_throughput.main(["--model", model, "--loader", "samples", *TINY]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == model and result["batch"] == 2
    for name in ("step", "model", "prepare", "loader"):
        assert result[f"{name}_images_per_s"] == pytest.approx(2 / (result[f"{name}_ms"] / 1e3))
    # TFLOP/s = 3 × forward FLOPs per image × images/s.
    assert result["model_tflops"] == pytest.approx(
        result["train_gflops_per_image"] * 1e9 * result["model_images_per_s"] / 1e12
    )


@pytest.mark.slow
def test_folder_loader_reports_the_per_worker_decoding_rates(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (300 + 10 * i, 400, 3), dtype=np.uint8)).save(tmp_path / f"{i}.jpg")
    argv = ["--loader", "folder", "--data-dir", str(tmp_path), "--decode-rounds", "1", "--compare-channels-last",
            *TINY]
    assert train_throughput.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decode_files"] == 4
    assert all(result[f"decode_{k}_images_per_s"] > 0 for k in ("before", "after", "prepared"))
    assert result["model_contiguous_ms"] > 0 and result["model_channels_last_ms"] > 0
    text = train_throughput.format_text(result, train_throughput.parse_args(argv))
    assert "one loader worker, 4 files" in text and "channels_last" in text


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
    assert widgets._png.__module__ == "colorlab.widgets", "the drawing function is restored"


@pytest.mark.slow
def test_step_syncs_counts_a_real_run_and_restores_the_loop(tmp_path, capsys):
    import step_syncs

    from colorlab.train import loop

    real = loop.train_step, loop.check_in
    out = tmp_path / "syncs.json"
    assert step_syncs.main(["--device", "cpu", "--steps", "5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["steps"] == 5 and len(result["log_step_checks"]) == 2
    assert result["per_step_after_the_first"]["syncs"] == 0
    assert all(check["syncs"] >= 1 for check in result["log_step_checks"]), "the log steps read the losses"
    assert (loop.train_step, loop.check_in) == real
    assert "no synchronisation" in capsys.readouterr().out
