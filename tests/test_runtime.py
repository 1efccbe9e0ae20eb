"""Devices: one rule for TrainConfig.device, --device and the Python API's device, checked against the machine."""

from __future__ import annotations

import re

import pytest
import torch
from PIL import Image

import colorlab as cl
from colorlab.cli import main
from colorlab.train import TrainConfig, resolve_device


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine that says it has two CUDA devices (nothing is put on them)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cuda:", "CPU", "", 0, None, "cpu:0"])
def test_what_is_not_a_device_is_refused_by_the_same_rule_everywhere(value):
    with pytest.raises(ValueError, match="^" + re.escape(f"device: {value!r} is not a device; use auto, cpu, cuda, "
                                                         "cuda:N or mps") + "$"):
        resolve_device(value)
    with pytest.raises(ValueError, match=r"device: .* is not a device; use auto, cpu, cuda, cuda:N or mps"):
        TrainConfig(device=value)


def test_devices_resolve_to_what_the_machine_has(two_gpus):
    assert resolve_device("auto") == resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda", local_rank=1) == resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^device is 'cuda:2', but this machine has 2 CUDA device\(s\): use cuda:0 to "
                                         r"cuda:1$"):
        resolve_device("cuda:2")


def test_a_device_this_machine_lacks_is_refused_naming_the_argument(no_gpu):
    assert resolve_device("auto") == torch.device("cpu")
    for device in ("cuda", "cuda:0", torch.device("cuda", 0)):
        with pytest.raises(ValueError, match=r"^device is .cuda(:0)?., but CUDA is not available here; use cpu"):
            resolve_device(device)
    with pytest.raises(ValueError, match=r"^--device is 'mps', but MPS \(Apple's GPU\) is not available here"):
        resolve_device("mps", name="--device")


def test_load_pretrained_on_a_missing_gpu_says_so(no_gpu):
    with pytest.raises(ValueError, match="^device is 'cuda', but CUDA is not available here; use cpu or auto$"):
        cl.load_pretrained(device="cuda")
    with pytest.raises(ValueError, match="^device: 'gpu' is not a device"):
        cl.load_pretrained(device="gpu")


@pytest.mark.parametrize("command", ["colorize", "evaluate"])
def test_cli_device_errors_name_the_option(capsys, tmp_path, no_gpu, command):
    Image.new("RGB", (32, 32), (200, 40, 40)).save(tmp_path / "red.png")
    args = [command, str(tmp_path), "-o", str(tmp_path / "out")] if command == "colorize" else [command, str(tmp_path)]
    for device, message in [("gpu", "--device: 'gpu' is not a device; use auto, cpu, cuda, cuda:N or mps"),
                            ("cuda", "--device is 'cuda', but CUDA is not available here; use cpu or auto")]:
        assert main([*args, "--device", device]) == 1
        assert capsys.readouterr().err == f"colorlab {command}: error: {message}\n"
