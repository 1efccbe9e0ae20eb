"""Tests of ``colorlab train`` (colorlab.cli): flags, config files, errors as one line, resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from colorlab import train
from colorlab.cli import build_parser, main
from colorlab.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "smoke.yaml")
TINY_FLAGS = ["--width", "0.0625", "--image-size", "32", "--batch-size", "2", "--log-every", "1"]


def test_every_config_field_has_a_flag():
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    flags = {s for a in subparsers.choices["train"]._actions for s in a.option_strings}
    for field in TrainConfig.field_names():
        assert "--" + field.replace("_", "-") in flags


def test_every_field_has_help_and_train_help_shows_it(capsys):
    """The help text lives in each field's metadata; ``colorlab train --help`` shows all of it."""
    helps = TrainConfig.field_help()
    assert list(helps) == list(TrainConfig.field_names())
    short = [name for name, text in helps.items() if len(text.split()) < 5]
    assert not short, f"fields without a real help text: {short}"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    shown = "".join(capsys.readouterr().out.split())  # argparse re-wraps the text, breaking lines at hyphens too
    for name, text in helps.items():
        assert f"--{name.replace('_', '-')}" in shown and "".join(text.split()) in shown, name


def test_flags_override_the_config_file(tmp_path, capsys):
    run_dir = tmp_path / "run"
    status = main(["train", "--config", SMOKE, *TINY_FLAGS, "--steps", "2", "--run-dir", str(run_dir),
                   "--holdout", "chelsea", "--lr-decay-steps", "1", "--betas", "0.8", "0.95", "--no-channels-last"])
    assert status == 0
    out = capsys.readouterr().out
    assert "2 steps" in out and str(run_dir) in out
    config = TrainConfig.from_yaml(run_dir / "config.yaml")
    expected = TrainConfig.from_yaml(SMOKE, width=0.0625, image_size=32, batch_size=2, log_every=1, steps=2,
                                     run_dir=str(run_dir), holdout=["chelsea"], lr_decay_steps=[1],
                                     betas=[0.8, 0.95], channels_last=False)
    assert config == expected
    assert [r["lr"] for r in train.read_log(run_dir)] == pytest.approx([1e-3, 3e-4])


def test_resume_and_errors_are_one_line(tmp_path, capsys):
    run = ["train", "--config", SMOKE, *TINY_FLAGS, "--run-dir", str(tmp_path / "run")]
    assert main([*run, "--steps", "1"]) == 0
    capsys.readouterr()
    assert main([*run, "--steps", "2"]) == 1  # the run exists and --resume was not given
    err = capsys.readouterr().err
    assert err.startswith("colorlab train: error: run_dir") and "resume" in err and err.count("\n") == 1
    assert main([*run, "--steps", "2", "--resume"]) == 0
    assert [r["step"] for r in train.read_log(tmp_path / "run")] == [1, 2]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--width", "-1"], "width must be"),
        (["--steps", "none", "--epochs", "none"], "steps and epochs"),
        (["--config", "missing.yaml"], "config file not found"),
        (["--holdout", "moon"], "holdout"),
    ],
)
def test_bad_values_give_one_line(tmp_path, capsys, flags, message):
    assert main(["train", *flags, "--run-dir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("colorlab train: error: ") and message in err and err.count("\n") == 1


def test_an_interrupted_run_exits_130_saying_how_to_resume(monkeypatch, capsys):
    def interrupted(config):
        raise train.TrainingInterrupted("stopped by SIGTERM after step 7; ... continue with resume=True (--resume)")

    monkeypatch.setattr(train, "fit", interrupted)
    assert main(["train", "--config", SMOKE]) == 130
    err = capsys.readouterr().err
    assert err.startswith("colorlab train: interrupted: stopped by SIGTERM after step 7") and err.count("\n") == 1


def test_malformed_command_line_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "resnet"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_steps_none_and_epochs(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", "--config", SMOKE, *TINY_FLAGS, "--steps", "none", "--epochs", "1",
                 "--run-dir", str(run_dir)]) == 0
    assert train.read_log(run_dir)[-1]["step"] == 3  # 6 training photos, batch 2


@pytest.mark.slow
def test_module_entry_point_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "colorlab.cli", "train", "--config", SMOKE, "--width", "0"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("colorlab train: error: width must be") and "Traceback" not in result.stderr


@pytest.mark.slow
def test_console_script_trains_and_resumes(tmp_path):
    """`colorlab train --config configs/smoke.yaml` as a user types it, then a resume that adds steps."""
    script = Path(sys.executable).with_name("colorlab")
    command = [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "colorlab.cli"])]
    run = [*command, "train", "--config", SMOKE, *TINY_FLAGS, "--run-dir", "runs/smoke"]
    first = subprocess.run([*run, "--steps", "2"], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run([*run, "--steps", "3", "--resume"], capture_output=True, text=True, timeout=180,
                            cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert [r["step"] for r in train.read_log(tmp_path / "runs" / "smoke")] == [1, 2, 3]


def test_a_second_run_in_a_locked_run_folder_is_refused_at_once(tmp_path, capsys):
    """Another process holds the run folder's lock: the second run exits 1 naming it, writing nothing."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from colorlab.train.runlog import RunLock; "
         "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); sys.stdin.read()", str(run_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert main(["train", "--config", SMOKE, *TINY_FLAGS, "--steps", "1", "--run-dir", str(run_dir)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"colorlab train: error: run_dir {str(run_dir)!r} is in use by another run "
                              f"(pid {holder.pid} on host ") and err.count("\n") == 1
        assert [p.name for p in run_dir.iterdir()] == [".lock"]
    finally:
        holder.communicate("", timeout=60)
    assert main(["train", "--config", SMOKE, *TINY_FLAGS, "--steps", "1", "--run-dir", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert f"the lock left by a run that ended without releasing it (pid {holder.pid} on host" in err


def test_a_stale_lock_is_one_warning_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / ".lock").write_text('{"pid": 4242, "host": "gone", "started": "2026-01-01 00:00:00 UTC"}\n')
    assert main(["train", "--config", SMOKE, *TINY_FLAGS, "--steps", "1", "--run-dir", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert f"colorlab train: warning: run_dir {str(run_dir)!r}: taking over the lock left by a run that ended " \
           "without releasing it (pid 4242 on host gone, started 2026-01-01 00:00:00 UTC)\n" in err


def test_resume_with_changes_that_define_the_run_is_one_line_listing_them(tmp_path, capsys):
    run = ["train", "--config", SMOKE, *TINY_FLAGS, "--run-dir", str(tmp_path / "run")]
    assert main([*run, "--steps", "1"]) == 0
    capsys.readouterr()
    assert main([*run, "--steps", "2", "--resume", "--lam", "1", "--k", "10", "--seed", "7", "--batch-size", "3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("colorlab train: error: cannot resume") and err.count("\n") == 1
    for change in ("batch_size=2 (given 3)", "lam=0.5 (given 1.0)", "k=5 (given 10)", "seed=0 (given 7)"):
        assert change in err
    assert [r["step"] for r in train.read_log(tmp_path / "run")] == [1]
