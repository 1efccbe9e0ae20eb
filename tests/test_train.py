"""Tests of colorlab.train: the configuration, fit, checkpoints, exact resume, NaN handling, torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from colorlab import train
from colorlab.train import TrainConfig, loop

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

# A tiny run: 6 training photos, batch 2 → 3 steps per epoch; ECCV16 at 1/16 width on 32² crops.
TINY = dict(
    width=0.0625, image_size=32, batch_size=2, steps=4, lr=1e-3, workers=0, log_every=1, checkpoint_every=2,
    holdout=("astronaut", "coffee"), device="cpu",
)


def tiny(tmp_path, name="run", **changes) -> TrainConfig:
    return TrainConfig(**{**TINY, "run_dir": str(tmp_path / name), **changes})


def weights(run_dir) -> dict[str, torch.Tensor]:
    model, _ = train.load_checkpoint(Path(run_dir) / train.CHECKPOINT_NAME)
    return model.state_dict()


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"tensors differ: {different[:5]}"


# ----------------------------------------------------------------------------------------------------------
# TrainConfig
# ----------------------------------------------------------------------------------------------------------


def test_defaults_are_the_papers_run():
    c = TrainConfig()
    assert (c.model, c.width, c.image_size, c.batch_size, c.steps) == ("eccv16", 1.0, 176, 40, 450_000)
    assert (c.lr, c.lr_decay_steps, c.betas, c.weight_decay) == (3e-5, (200_000, 375_000), (0.9, 0.99), 1e-3)
    assert c.lr * c.lr_decay == pytest.approx(1e-5) and c.lr * c.lr_decay**2 == pytest.approx(3.33e-6, rel=1e-2)
    assert (c.lam, c.k, c.sigma, c.prior) == (0.5, 5, 5.0, "imagenet")


def test_adam_weight_decay_keeps_the_papers_balance():
    # The released solver's loss is summed over 44 × 44 output pixels at 176² crops; colorlab's is their mean.
    assert train.adam_weight_decay(TrainConfig()) == pytest.approx(1e-3 / 44**2)
    assert train.adam_weight_decay(TrainConfig(image_size=64)) == pytest.approx(1e-3 / 16**2)


def test_yaml_round_trip(tmp_path):
    c = TrainConfig(data_dir="photos", holdout=["a.jpg", "b/c.png"], betas=[0.8, 0.9], steps=None, epochs=3)
    assert c.holdout == ("a.jpg", "b/c.png") and c.betas == (0.8, 0.9)
    c.to_yaml(tmp_path / "c.yaml")
    assert TrainConfig.from_yaml(tmp_path / "c.yaml") == c
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_from_yaml_reads_yaml_1_1_floats_and_overrides(tmp_path):
    # PyYAML reads "3e-5" (no dot) as a string; the configuration turns it into a number.
    (tmp_path / "c.yaml").write_text("lr: 3e-5\nsteps: 10\namp: off\n")
    c = TrainConfig.from_yaml(tmp_path / "c.yaml", steps=20)
    assert c.lr == 3e-5 and c.steps == 20 and c.amp == "off"


def test_empty_yaml_gives_defaults(tmp_path):
    (tmp_path / "c.yaml").write_text("# nothing\n")
    assert TrainConfig.from_yaml(tmp_path / "c.yaml") == TrainConfig()


@pytest.mark.parametrize(
    "field, value",
    [
        ("model", "resnet"), ("width", 0), ("width", -1.0), ("image_size", 60), ("image_size", 4),
        ("batch_size", 0), ("batch_size", 2.5), ("steps", 0), ("epochs", -1), ("lr", 0.0), ("lr", float("nan")),
        ("lr", "fast"), ("lr_decay_steps", [300, 200]), ("lr_decay", 1.5), ("weight_decay", -1e-3),
        ("betas", [0.9]), ("betas", [0.9, 1.0]), ("lam", 1.5), ("k", 0), ("k", 314), ("sigma", 0),
        ("prior", "uniform"), ("holdout", 1.0), ("holdout", [""]), ("device", "tpu"), ("amp", "fp8"),
        ("compile", "yes"), ("channels_last", 1), ("workers", -1), ("checkpoint_every", 0), ("log_every", 0),
        ("run_dir", ""), ("resume", None), ("seed", -1), ("seed", True),
    ],
)
def test_bad_values_raise_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_steps_and_epochs_cannot_both_be_none():
    with pytest.raises(ValueError, match="steps and epochs"):
        TrainConfig(steps=None, epochs=None)


def test_unknown_fields_are_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("stpes: 3\n")
    with pytest.raises(ValueError, match="stpes"):
        TrainConfig.from_yaml(tmp_path / "c.yaml")
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig().replace(learning_rate=1.0)
    with pytest.raises(FileNotFoundError):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().lr = 1.0


@pytest.mark.parametrize("name", ["smoke", "cpu", "gpu"])
def test_profiles_load(name):
    text = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    assert set(text) == set(TrainConfig.field_names()), "a profile names every field, as papermill's -f needs"
    TrainConfig.from_yaml(CONFIGS / f"{name}.yaml")


def test_gpu_profile_is_the_default_on_cuda():
    assert TrainConfig.from_yaml(CONFIGS / "gpu.yaml") == TrainConfig(device="cuda")


# ----------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------


def test_holdout_names_and_fraction():
    train_set, held = train.build_datasets(TrainConfig(holdout=["chelsea"], image_size=32))
    assert "chelsea" not in train_set.names and held.names == ("chelsea",) and not held.train
    train_set, held = train.build_datasets(TrainConfig(holdout=0.3, image_size=32))
    assert len(train_set) + len(held) == 8 and len(held) == 2 and not set(train_set.names) & set(held.names)
    # seeded: another seed may choose others, the same seed the same ones
    assert train.build_datasets(TrainConfig(holdout=0.3, image_size=32))[1].names == held.names
    assert train.build_datasets(TrainConfig(holdout=0.0, image_size=32))[1] is None
    with pytest.raises(ValueError, match="holdout"):
        train.build_datasets(TrainConfig(holdout=["moon"]))


def write_photos(folder: Path, count: int, size=(40, 48)) -> list[str]:
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        path = folder / ("sub" if i % 2 else "") / f"img{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
        names.append(path.relative_to(folder).as_posix())
    return names


def test_holdout_on_a_folder(tmp_path):
    names = write_photos(tmp_path / "photos", 10)
    train_set, held = train.build_datasets(TrainConfig(data_dir=str(tmp_path / "photos"), holdout=0.2,
                                                       image_size=32))
    assert len(train_set) == 8 and len(held) == 2
    assert held[0].shape == (3, 32, 32) and held[0].dtype == torch.uint8
    train_set, held = train.build_datasets(TrainConfig(data_dir=str(tmp_path / "photos"), holdout=[names[1]],
                                                       image_size=32))
    assert len(train_set) == 9 and len(held) == 1
    photos = train.holdout_photos(TrainConfig(data_dir=str(tmp_path / "photos"), holdout=[names[1]]))
    assert list(photos) == [names[1]] and photos[names[1]].shape == (40, 48, 3)


def test_fit_on_a_folder_with_too_few_images_writes_nothing(tmp_path):
    write_photos(tmp_path / "photos", 3)
    with pytest.raises(ValueError, match="fewer than one batch"):
        train.fit(tiny(tmp_path, data_dir=str(tmp_path / "photos"), holdout=0.0, batch_size=4))
    assert not (tmp_path / "run").exists(), "the run folder is made only once the data are checked"


def test_sampler_resumes_mid_epoch():
    data = list(range(10))
    whole = train.ResumableSampler(data, seed=3)
    whole.set_position(2)
    part = train.ResumableSampler(data, seed=3)
    part.set_position(2, start=4)
    assert list(part) == list(whole)[4:] and len(part) == 6
    other = train.ResumableSampler(data, seed=3)
    other.set_position(3)
    assert list(other) != list(whole)


# ----------------------------------------------------------------------------------------------------------
# fit, the log and checkpoints
# ----------------------------------------------------------------------------------------------------------


def test_fit_writes_a_run_folder(tmp_path):
    run_dir = train.fit(tiny(tmp_path))
    assert run_dir == tmp_path / "run"
    records = train.read_log(run_dir)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert set(records[0]) == {"step", "epoch", "loss", "lr", "images_per_s", "time"}
    assert all(np.isfinite(r["loss"]) and r["images_per_s"] > 0 for r in records)
    assert records[-1]["epoch"] == pytest.approx(4 / 3)
    assert TrainConfig.from_yaml(run_dir / "config.yaml") == tiny(tmp_path)
    model, checkpoint = train.load_checkpoint(run_dir / "checkpoint.pt")
    assert checkpoint["step"] == 4 and (checkpoint["epoch"], checkpoint["batch_in_epoch"]) == (1, 1)
    assert TrainConfig.from_dict(checkpoint["train_config"]) == tiny(tmp_path)
    assert not model.training and model.config["width"] == 0.0625
    # everything in a checkpoint loads with weights_only=True
    raw = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert set(raw) == set(train.MODEL_KEYS) | set(train.RESUME_KEYS)
    assert (raw["format"], raw["version"]) == (train.CHECKPOINT_FORMAT, train.CHECKPOINT_VERSION)
    assert raw["class_weights"].shape == (313,) and raw["train_config"] == checkpoint["train_config"]
    assert not list(run_dir.glob(".*tmp")), "no temporary file is left behind"


def test_fit_without_run_dir_makes_a_new_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = train.fit(tiny(tmp_path, steps=1, run_dir=None))
    second = train.fit(tiny(tmp_path, steps=1, run_dir=None))
    assert first != second and first.parent == second.parent == Path("runs")
    assert first.name.startswith("eccv16-") and (first / "checkpoint.pt").is_file()


def test_learning_rate_decays_at_the_given_steps(tmp_path):
    records = train.read_log(train.fit(tiny(tmp_path, lr_decay_steps=[2, 3], lr_decay=0.5)))
    assert [r["lr"] for r in records] == pytest.approx([1e-3, 1e-3, 5e-4, 2.5e-4])


def test_epochs_limit_the_run(tmp_path):
    records = train.read_log(train.fit(tiny(tmp_path, steps=None, epochs=2)))
    assert records[-1]["step"] == 6 and records[-1]["epoch"] == 2
    records = train.read_log(train.fit(tiny(tmp_path, "both", steps=4, epochs=2)))
    assert records[-1]["step"] == 4


def test_seeded_runs_are_reproducible(tmp_path):
    a = weights(train.fit(tiny(tmp_path, "a", steps=2)))
    b = weights(train.fit(tiny(tmp_path, "b", steps=2)))
    c = weights(train.fit(tiny(tmp_path, "c", steps=2, seed=1)))
    assert_same_weights(a, b)
    assert not torch.equal(a["blocks.conv1.0.weight"], c["blocks.conv1.0.weight"])


def test_resume_continues_exactly(tmp_path):
    """4 steps straight == 2 steps, resume, 2 more steps (crossing an epoch boundary), bit for bit."""
    straight = train.fit(tiny(tmp_path, "straight", steps=4))
    split = train.fit(tiny(tmp_path, "split", steps=2))
    assert train.read_log(split)[-1]["step"] == 2
    split = train.fit(tiny(tmp_path, "split", steps=4, resume=True))
    assert_same_weights(weights(straight), weights(split))
    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(split / "checkpoint.pt", weights_only=True)
    for state_a, state_b in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(state_a["exp_avg_sq"], state_b["exp_avg_sq"])
    assert a["scheduler"] == b["scheduler"]
    log_a, log_b = train.read_log(straight), train.read_log(split)
    assert [r["step"] for r in log_b] == [1, 2, 3, 4]
    assert [r["loss"] for r in log_a] == [r["loss"] for r in log_b]


def test_resume_drops_log_lines_after_the_checkpoint(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=3, checkpoint_every=2))
    # pretend the run crashed after step 3 was logged but before it was saved: checkpoint at 2
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 3
    shorter = train.fit(tiny(tmp_path, "shorter", steps=2))
    (run_dir / "checkpoint.pt").write_bytes((shorter / "checkpoint.pt").read_bytes())
    train.fit(tiny(tmp_path, steps=4, resume=True))
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2, 3, 4]


def test_resume_without_a_checkpoint_starts_afresh(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=2, resume=True))
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2]


def test_existing_run_is_not_overwritten(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=2))
    before = (run_dir / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="resume"):
        train.fit(tiny(tmp_path, steps=2))
    assert (run_dir / "checkpoint.pt").read_bytes() == before


def test_resume_refuses_another_architecture(tmp_path):
    train.fit(tiny(tmp_path, steps=1))
    with pytest.raises(ValueError, match="model='eccv16'"):
        train.fit(tiny(tmp_path, steps=2, resume=True, model="seed"))
    with pytest.raises(ValueError, match="width"):
        train.fit(tiny(tmp_path, steps=2, resume=True, width=0.125))


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    real_loss = loop.loss_of
    calls = []

    def loss_that_breaks(model, out, batch):
        calls.append(1)
        value = real_loss(model, out, batch)
        return value * float("nan") if len(calls) == 3 else value

    monkeypatch.setattr(loop, "loss_of", loss_that_breaks)
    # checked on log steps only (every 2 steps): step 3's loss is found at step 4, and named
    with pytest.raises(train.NonFiniteLossError, match="at step 3") as error:
        train.fit(tiny(tmp_path, steps=6, log_every=2, checkpoint_every=2))
    assert "step 2" in str(error.value)  # names the intact checkpoint
    model, checkpoint = train.load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert checkpoint["step"] == 2
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())
    assert [r["step"] for r in train.read_log(tmp_path / "run")] == [2]


def test_a_signal_stops_at_the_next_log_step_with_a_checkpoint_that_resumes_exactly(tmp_path, monkeypatch):
    import signal

    real_loss = loop.loss_of
    calls = []

    def loss_then_signals(model, out, batch):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C arrives in the middle of step 3, twice at once (terminal and torchrun)
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return real_loss(model, out, batch)

    monkeypatch.setattr(loop, "loss_of", loss_then_signals)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(train.TrainingInterrupted, match="SIGINT after step 4"):
        train.fit(tiny(tmp_path, "stopped", steps=7, checkpoint_every=100, log_every=2))
    assert signal.getsignal(signal.SIGINT) is handler, "the handler is restored"
    assert torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)["step"] == 4
    assert [r["step"] for r in train.read_log(tmp_path / "stopped")] == [2, 4]
    monkeypatch.setattr(loop, "loss_of", real_loss)
    train.fit(tiny(tmp_path, "stopped", steps=7, checkpoint_every=100, log_every=2, resume=True))
    straight = train.fit(tiny(tmp_path, "straight", steps=7, checkpoint_every=100, log_every=2))
    assert_same_weights(weights(straight), weights(tmp_path / "stopped"))
    assert [r["step"] for r in train.read_log(tmp_path / "stopped")] == [2, 4, 6, 7]


@pytest.mark.slow
def test_a_stop_signal_sent_to_every_process_of_the_job_still_stops_cleanly(tmp_path, monkeypatch):
    """Ctrl-C in a terminal and a cluster's SIGTERM reach the loader's workers too: they ignore it, and the run
    stops at its next log step with a checkpoint instead of failing on a dead worker."""
    import multiprocessing
    import signal

    real_loss = loop.loss_of
    calls = []

    def loss_then_signal_everyone(model, out, batch):
        calls.append(1)
        if len(calls) == 2:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        return real_loss(model, out, batch)

    monkeypatch.setattr(loop, "loss_of", loss_then_signal_everyone)
    with pytest.raises(train.TrainingInterrupted, match="SIGTERM after step 3"):
        train.fit(tiny(tmp_path, steps=6, log_every=3, checkpoint_every=6, workers=1))
    assert train.read_checkpoint(tmp_path / "run", resumable=True)["step"] == 3


def test_a_second_signal_stops_at_once_only_a_second_after_the_first(monkeypatch):
    import signal
    import time

    from colorlab.train import runtime

    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    with runtime.StopRequest() as stop:
        stop._handle(signal.SIGTERM, None)
        clock[0] += 0.2
        stop._handle(signal.SIGINT, None)  # the same request delivered twice: ignored
        assert stop.requested == signal.SIGTERM and stop.name == "SIGTERM"
        clock[0] += 1.0
        with pytest.raises(KeyboardInterrupt):
            stop._handle(signal.SIGINT, None)


def test_huge_learning_rate_is_caught(tmp_path):
    with pytest.raises(train.NonFiniteLossError, match="at step"):
        train.fit(tiny(tmp_path, steps=20, lr=1e30, checkpoint_every=100))
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_empirical_prior_is_estimated_and_stored(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=1, prior="empirical", prior_images=3))
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    prior = checkpoint["prior"]
    assert prior.shape == (313,) and prior.sum().item() == pytest.approx(1.0)
    from colorlab.prior import imagenet_prior, rebalance_weights

    assert not torch.allclose(prior, imagenet_prior().to(prior.dtype))
    assert torch.allclose(checkpoint["class_weights"], rebalance_weights(prior, 0.5).to(prior.dtype))


@pytest.mark.parametrize("model", ["seed", "regression"])
def test_other_models_train(tmp_path, model):
    run_dir = train.fit(tiny(tmp_path, steps=2, model=model))
    net, checkpoint = train.load_checkpoint(run_dir / "checkpoint.pt", architecture=model)
    assert net.config["name"] == model
    assert (checkpoint["class_weights"] is None) == (model == "regression")


def test_fit_leaves_global_state_as_it_was(tmp_path):
    """fit forks the random generators and restores every setting it changes; it never touches the umask."""
    import random
    import signal

    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    umask = os.umask(0o027)
    os.umask(umask)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    run_a = train.fit(tiny(tmp_path, "a", steps=2))
    assert random.getstate() == before[0] and np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])
    assert (os.umask(umask), (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))) == (umask, handlers)
    torch.manual_seed(1234)  # and the caller's random state does not change the run
    assert_same_weights(weights(run_a), weights(train.fit(tiny(tmp_path, "b", steps=2))))


class CountHostTraffic:
    """Counts, per call of a wrapped function, the operations that would make a GPU step wait for the host or copy
    from it. Syncs: reading a value back (``aten._local_scalar_dense``: ``.item()``, ``bool()``, ``float()``;
    ``Tensor.tolist()`` and ``Tensor.numpy()``, which read CPU memory without an operator) and operators whose
    output size depends on the data (``nonzero``, ``masked_select``, ``unique``, boolean-mask indexing).
    Host tensors: tensors made from host data (``aten.lift_fresh``: ``torch.tensor(...)``,
    ``torch.as_tensor(array)``), which on a GPU are host-to-device copies."""

    SYNCS = {"aten._local_scalar_dense.default", "aten.nonzero.default", "aten.masked_select.default",
             "aten._unique2.default", "aten.unique_dim.default", "aten.unique_consecutive.default"}

    def __init__(self):
        self.calls: list[dict[str, int]] = []

    def _count(self, kind: str) -> None:
        self.calls[-1][kind] += 1

    def wrap(self, fn):
        from unittest import mock

        from torch.utils._python_dispatch import TorchDispatchMode

        counter = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                masked = str(func) in ("aten.index.Tensor", "aten.index_put_.default", "aten.index_put.default") \
                    and any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1])
                if str(func) in counter.SYNCS or masked:
                    counter._count("syncs")
                elif str(func) == "aten.lift_fresh.default":
                    counter._count("host_tensors")
                return func(*args, **(kwargs or {}))

        def reading(method):
            def read(tensor, *args, **kwargs):
                counter._count("syncs")
                return method(tensor, *args, **kwargs)

            return read

        def counted(*args, **kwargs):
            self.calls.append({"syncs": 0, "host_tensors": 0})
            with Mode(), mock.patch.object(torch.Tensor, "tolist", reading(torch.Tensor.tolist)), \
                    mock.patch.object(torch.Tensor, "numpy", reading(torch.Tensor.numpy)):
                return fn(*args, **kwargs)

        return counted


def test_the_host_traffic_counter_counts():
    counter = CountHostTraffic()
    x = torch.arange(4.0)
    for fn in (lambda: x.sum().item(), lambda: bool(x.any()), lambda: x.tolist(), lambda: x[x > 1],
               lambda: torch.tensor([1.0]), lambda: torch.as_tensor(np.ones(2)), lambda: x * 2 + 1):
        counter.wrap(fn)()
    assert [sum(c.values()) for c in counter.calls] == [1, 1, 1, 1, 1, 1, 0]


@pytest.mark.parametrize("model", ["eccv16", "regression"])
def test_a_training_step_never_waits_for_the_device(tmp_path, monkeypatch, model):
    """Over 6 steps, only the checks on log steps read values back; the steps themselves never do, and never
    make tensors from host data (the first step may build the cached constants)."""
    steps, check_ins = CountHostTraffic(), CountHostTraffic()
    monkeypatch.setattr(loop, "train_step", steps.wrap(loop.train_step))
    monkeypatch.setattr(loop, "check_in", check_ins.wrap(loop.check_in))
    train.fit(tiny(tmp_path, model=model, steps=6, log_every=3, checkpoint_every=6))
    assert len(steps.calls) == 6 and len(check_ins.calls) == 2
    assert steps.calls[1:] == [{"syncs": 0, "host_tensors": 0}] * 5
    assert all(c["syncs"] >= 1 for c in check_ins.calls), "the counter sees the reads of the log steps"


def test_collectives_get_tensors_on_the_groups_device(monkeypatch):
    """NCCL takes only CUDA tensors: Runtime.broadcast sends a CPU tensor from the run's device, returns a CPU one."""
    from colorlab.train.runtime import Runtime

    seen = []
    monkeypatch.setattr(torch.distributed, "broadcast", lambda tensor, src: seen.append(tensor.device))
    device = torch.device("cpu")
    out = Runtime(device, world_size=2, rank=1).broadcast(torch.zeros(3, dtype=torch.float64))
    assert seen == [device] and out.device.type == "cpu" and out.dtype == torch.float64


def test_bf16_only_where_native(monkeypatch):
    from colorlab.train.runtime import precision

    cuda = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 0))
    dtype, note = precision(TrainConfig(amp="bf16"), cuda)
    assert dtype == torch.float16 and "gradient scaler" in note and "7.0" in note
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert precision(TrainConfig(amp="bf16"), cuda)[0] == torch.bfloat16
    assert precision(TrainConfig(amp="off"), cuda)[0] is None
    assert precision(TrainConfig(amp="bf16"), torch.device("cpu"))[0] is None


def test_default_workers_share_the_cores_among_local_processes(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert train.default_workers() == 4
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "32")
    assert train.default_workers() == 1


# ----------------------------------------------------------------------------------------------------------
# load_checkpoint errors and atomic writes
# ----------------------------------------------------------------------------------------------------------


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        train.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(train.CheckpointError, match="not a readable PyTorch checkpoint"):
        train.load_checkpoint(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(3), "step": 3}, tmp_path / "plain.pt")
    with pytest.raises(train.CheckpointError, match="not a colorlab checkpoint"):
        train.load_checkpoint(tmp_path / "plain.pt")
    run_dir = train.fit(tiny(tmp_path, steps=1))
    with pytest.raises(train.CheckpointError, match="holds a 'eccv16' model"):
        train.load_checkpoint(run_dir / "checkpoint.pt", architecture="regression")
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    checkpoint["model_config"]["name"] = "seed"  # the weights of one network under another's name
    torch.save(checkpoint, tmp_path / "mixed.pt")
    with pytest.raises(train.CheckpointError, match="do not fit the architecture it names \\('seed'"):
        train.load_checkpoint(tmp_path / "mixed.pt")
    model, _ = train.load_checkpoint(run_dir)  # a run folder is accepted
    assert model.config["name"] == "eccv16"


def test_the_version_is_checked_and_earlier_files_are_named(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=1))
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    torch.save({**checkpoint, "version": 3}, tmp_path / "future.pt")
    with pytest.raises(train.CheckpointError, match="version 3; this colorlab reads version 2"):
        train.read_checkpoint(tmp_path / "future.pt")
    torch.save({"format": "colorlab-checkpoint", "version": 1, "model": {}}, tmp_path / "old.pt")
    with pytest.raises(train.CheckpointError, match="earlier colorlab.*upgrade_checkpoint"):
        train.read_checkpoint(tmp_path / "old.pt")
    del checkpoint["elapsed"]
    torch.save(checkpoint, tmp_path / "damaged.pt")
    with pytest.raises(train.CheckpointError, match="damaged.*elapsed"):
        train.read_checkpoint(tmp_path / "damaged.pt")


def test_a_model_file_cannot_be_resumed(tmp_path):
    """A model file (no training state) in a run folder is refused by resume with the one error class."""
    from colorlab.pretrained import save_pretrained

    model, _ = train.load_checkpoint(train.fit(tiny(tmp_path, "source", steps=1)))
    (tmp_path / "run").mkdir()
    save_pretrained(model, tmp_path / "run" / "checkpoint.pt", step=1)
    with pytest.raises(train.CheckpointError, match="cannot be resumed"):
        train.fit(tiny(tmp_path, steps=2, resume=True))


def test_atomic_save_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    train.atomic_save({"a": 1}, path)

    def broken_save(obj, f):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train.atomic_save({"a": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


# ----------------------------------------------------------------------------------------------------------
# Loader workers and several processes
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_workers_do_not_change_the_result(tmp_path):
    """Persistent workers see each new epoch: 5 steps (two epochs) give the same weights with and without them."""
    a = weights(train.fit(tiny(tmp_path, "main", steps=5, workers=0)))
    b = weights(train.fit(tiny(tmp_path, "workers", steps=5, workers=2)))
    assert_same_weights(a, b)


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu_with_an_empirical_prior(tmp_path):
    """Two processes with the gloo backend: rank 0 estimates the prior and broadcasts it, the run finishes,
    rank 0 alone writes, both ranks train with the same class weights and end with the same weights."""
    run_dir = tmp_path / "ddp"
    dump = tmp_path / "rank{rank}.pt"
    # Runs `colorlab train` in each process and saves the class weights of its first step and its final weights.
    script = tmp_path / "train_and_dump.py"
    script.write_text(
        "import os, sys, torch\n"
        "from colorlab.cli import main\n"
        "from colorlab.train import loop\n"
        "seen = []\n"
        "real_step = loop.train_step\n"
        "def recording_step(state, rgb):\n"
        "    if not seen:\n"
        "        seen.append(state)\n"
        "    real_step(state, rgb)\n"
        "loop.train_step = recording_step\n"
        "status = main(sys.argv[1:])\n"
        "state = seen[0]\n"
        "torch.save({'class_weights': state.class_weights, 'model': state.model.state_dict()},\n"
        f"           {str(dump)!r}.format(rank=os.environ['RANK']))\n"
        "sys.exit(status)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
        "train", "--config", str(CONFIGS / "smoke.yaml"), "--width", "0.0625", "--image-size", "32",
        "--batch-size", "4", "--steps", "3", "--log-every", "1", "--checkpoint-every", "2",
        "--prior", "empirical", "--prior-images", "4", "--run-dir", str(run_dir),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2, 3]
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "config.yaml", "log.jsonl"]
    model, checkpoint = train.load_checkpoint(run_dir / "checkpoint.pt")
    assert checkpoint["step"] == 3 and "2 process(es), batch 4 (2 per process)" in result.stdout
    from colorlab.prior import imagenet_prior

    assert not torch.allclose(checkpoint["prior"], imagenet_prior())
    rank0 = torch.load(str(dump).format(rank=0), weights_only=True)
    rank1 = torch.load(str(dump).format(rank=1), weights_only=True)
    assert torch.equal(rank0["class_weights"], rank1["class_weights"])
    assert torch.equal(rank0["class_weights"], checkpoint["class_weights"])
    assert_same_weights(rank0["model"], rank1["model"])
    assert_same_weights(rank0["model"], model.state_dict())


# ----------------------------------------------------------------------------------------------------------
# Figures of the training chapter (colorlab.plot)
# ----------------------------------------------------------------------------------------------------------


def test_training_curves_and_colorization_grid(tmp_path):
    from matplotlib.figure import Figure

    from colorlab import plot

    run_dir = train.fit(tiny(tmp_path, steps=3))
    figure = plot.training_curves(run_dir, smooth=2)
    assert isinstance(figure, Figure) and len(figure.axes) == 3  # loss, its learning-rate twin, throughput
    assert len(figure.axes[0].lines) == 2 and len(figure.axes[0].lines[0].get_xdata()) == 3
    with pytest.raises(ValueError, match="no records"):
        plot.training_curves([])
    model, _ = train.load_checkpoint(run_dir)
    photos = train.holdout_photos(tiny(tmp_path))
    assert list(photos) == ["astronaut", "coffee"]
    figure = plot.colorization_grid(model, photos, size=32)
    assert len(figure.axes) == 6 and figure.axes[1].images[0].get_array().shape == photos["astronaut"].shape
    with pytest.raises(ValueError, match="photos"):
        plot.colorization_grid(model, {})


# ----------------------------------------------------------------------------------------------------------
# The training chapter
# ----------------------------------------------------------------------------------------------------------

CHAPTER = ROOT / "chapters" / "06_training.ipynb"


def chapter_parameters() -> dict:
    import ast

    import nbformat

    notebook = nbformat.read(CHAPTER, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}


def test_chapter_parameters_are_the_config_fields_with_the_smoke_values():
    parameters = chapter_parameters()
    assert list(parameters) == list(TrainConfig.field_names())
    assert TrainConfig(**parameters) == TrainConfig.from_yaml(CONFIGS / "smoke.yaml")


@pytest.mark.slow
def test_chapter_runs_under_papermill_with_injected_parameters(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "papermill", str(CHAPTER), str(tmp_path / "out.ipynb"),
        "-f", str(CONFIGS / "smoke.yaml"), "-p", "steps", "3", "-p", "log_every", "1", "-p", "width", "0.125",
        "-p", "run_dir", str(run_dir), "-y", "holdout: [rocket]", "--cwd", str(tmp_path),
        "--execution-timeout", "300", "--no-progress-bar",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # the chapter trained 3 steps, then resumed a copy for 2 × log_every more: the run itself is left as it was
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2, 3]
    assert train.read_checkpoint(run_dir)["step"] == 3
    assert TrainConfig.from_yaml(run_dir / "config.yaml") == TrainConfig.from_yaml(
        CONFIGS / "smoke.yaml", steps=3, log_every=1, width=0.125, run_dir=str(run_dir), holdout=["rocket"]
    )
    import nbformat

    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
    assert "steps run: 3" in printed and "resumed at step 3, now at step 5" in printed


def test_a_cut_last_log_line_is_ignored_and_dropped_on_resume(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=2))
    with open(run_dir / "log.jsonl", "a") as f:
        f.write('{"step": 3, "lo')  # killed while writing
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2]
    train.fit(tiny(tmp_path, steps=3, resume=True))
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2, 3]
    (run_dir / "log.jsonl").write_text('not json\n{"step": 1}\n')
    with pytest.raises(ValueError, match="line 1"):
        train.read_log(run_dir)


# ----------------------------------------------------------------------------------------------------------
# CUDA (skipped without a GPU)
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_cuda_training_with_autocast_and_resume(tmp_path, amp):
    config = tiny(tmp_path, device="cuda", amp=amp, channels_last=True, steps=3)
    run_dir = train.fit(config)
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert (checkpoint["scaler"] is not None) == (checkpoint["meta"]["precision"].startswith("fp16"))
    assert checkpoint["rng"]["cuda"] is not None, "the CUDA random state is stored"
    train.fit(config.replace(steps=4, resume=True))
    records = train.read_log(run_dir)
    assert [r["step"] for r in records] == [1, 2, 3, 4] and all(np.isfinite(r["loss"]) for r in records)
    model, _ = train.load_checkpoint(run_dir, map_location="cuda")
    assert next(model.parameters()).is_cuda


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_a_cuda_step_never_synchronises(tmp_path, monkeypatch, amp):
    """Under torch.cuda.set_sync_debug_mode("error") any synchronising CUDA call raises: none happens in a step
    after the first (which builds the cached constants), fp16's gradient scaler included."""
    real_step, calls = loop.train_step, []

    def strict_step(state, rgb):
        calls.append(1)
        torch.cuda.set_sync_debug_mode("error" if len(calls) > 1 else "default")
        try:
            real_step(state, rgb)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    monkeypatch.setattr(loop, "train_step", strict_step)
    run_dir = train.fit(tiny(tmp_path, device="cuda", amp=amp, channels_last=True, steps=5, log_every=5))
    assert len(calls) == 5 and train.read_log(run_dir)[-1]["step"] == 5


def test_keep_every_keeps_the_weights_of_those_steps(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=5, keep_every=2, checkpoint_every=100, log_every=100))
    kept = sorted(p.name for p in run_dir.glob("weights-*.pt"))
    assert kept == ["weights-0000002.pt", "weights-0000004.pt"]
    model, checkpoint = train.load_checkpoint(run_dir / kept[1])
    assert checkpoint["step"] == 4 and "optimizer" not in checkpoint
    assert [r["step"] for r in train.read_log(run_dir)] == [5]
    final = weights(run_dir)
    assert not all(torch.equal(v, final[k]) for k, v in model.state_dict().items())


# ----------------------------------------------------------------------------------------------------------
# The run folder: its lock, what a run may take over, leftovers, resumes that change the run, a full disk
# ----------------------------------------------------------------------------------------------------------


def test_every_field_is_classified_for_resume():
    import dataclasses

    from colorlab.train import config as config_module

    kinds = {f.name: f.metadata["on_resume"] for f in dataclasses.fields(TrainConfig)}
    assert set(kinds.values()) <= {config_module.DEFINES_RUN, config_module.MAY_CHANGE}
    may_change = {name for name, kind in kinds.items() if kind == config_module.MAY_CHANGE}
    assert may_change == {"steps", "epochs", "device", "amp", "compile", "channels_last", "workers",
                          "checkpoint_every", "keep_every", "log_every", "run_dir", "resume"}
    assert set(TrainConfig.run_fields()) == set(kinds) - may_change
    with pytest.raises(TypeError, match="on_resume"):
        config_module.option(1, "a field without its resume rule", config_module.integer(1))


def test_resume_refuses_changes_to_what_defines_the_run_and_logs_the_others(tmp_path):
    run_dir = train.fit(tiny(tmp_path, steps=1))
    before = (run_dir / "checkpoint.pt").read_bytes()
    changed = dict(lam=1.0, k=10, seed=7, batch_size=3, image_size=40, lr_decay_steps=[5], holdout=0.0)
    with pytest.raises(ValueError, match="define the run") as error:
        train.fit(tiny(tmp_path, steps=2, resume=True, **changed))
    message = str(error.value)
    assert all(f"{name}=" in message for name in changed) and "lam=0.5 (given 1.0)" in message
    assert "\n" not in message and "steps" in message  # says what may change
    assert (run_dir / "checkpoint.pt").read_bytes() == before
    assert TrainConfig.from_yaml(run_dir / "config.yaml") == tiny(tmp_path, steps=1)
    train.fit(tiny(tmp_path, steps=3, resume=True, log_every=2, workers=0, device="cpu"))
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2, 3]
    event = [r for r in train.read_log(run_dir, events=True) if "event" in r]
    assert event == [{"step": 1, "event": "resume", "time": event[0]["time"],
                      "changed": {"steps": [1, 3], "log_every": [1, 2]}}]


def test_resume_needs_a_run_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="resume=True needs run_dir"):
        train.fit(tiny(tmp_path, run_dir=None, resume=True))
    assert not (tmp_path / "runs").exists()


def test_a_run_folder_without_a_checkpoint_is_not_taken_over(tmp_path):
    """A run killed before its first checkpoint leaves config.yaml and log.jsonl (and maybe kept weights)."""
    run_dir = train.fit(tiny(tmp_path, steps=2, keep_every=1))
    (run_dir / "checkpoint.pt").unlink()
    log = (run_dir / "log.jsonl").read_bytes()
    with pytest.raises(ValueError, match=r"already holds a run \(config.yaml, log.jsonl, weights-0000001.pt"):
        train.fit(tiny(tmp_path, steps=2, keep_every=1))
    assert (run_dir / "log.jsonl").read_bytes() == log
    with pytest.raises(ValueError, match="seed=0 \\(given 3\\)"):  # --resume continues only that run
        train.fit(tiny(tmp_path, steps=2, keep_every=1, resume=True, seed=3))
    train.fit(tiny(tmp_path, steps=2, keep_every=1, resume=True))  # it starts again from step 0
    assert [r["step"] for r in train.read_log(run_dir)] == [1, 2]
    assert train.read_checkpoint(run_dir)["step"] == 2
    weights_only = tmp_path / "kept"
    weights_only.mkdir()
    (weights_only / "weights-0000004.pt").write_bytes((run_dir / "weights-0000001.pt").read_bytes())
    with pytest.raises(ValueError, match="already holds a run"):
        train.fit(tiny(tmp_path, "kept", steps=1))
    with pytest.raises(ValueError, match="neither checkpoint.pt nor config.yaml"):
        train.fit(tiny(tmp_path, "kept", steps=1, resume=True))
    assert sorted(p.name for p in weights_only.iterdir()) == ["weights-0000004.pt"]
    (tmp_path / "empty").mkdir()
    assert train.read_log(train.fit(tiny(tmp_path, "empty", steps=1)))[-1]["step"] == 1


def test_a_locked_run_folder_is_refused_naming_the_holder(tmp_path):
    import socket

    from colorlab.train import runlog

    lock = runlog.RunLock(tmp_path / "run").acquire()  # as another run would hold it
    try:
        with pytest.raises(train.RunFolderInUseError, match=f"in use by another run \\(pid {os.getpid()} on host "
                                                             f"{socket.gethostname()}, started "):
            train.fit(tiny(tmp_path, steps=1))
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".lock"], "nothing written"
    finally:
        lock.release()
    assert not (tmp_path / "run").exists(), "the folder the lock made is removed with it, being empty"


def test_a_stale_lock_is_reported_and_taken_over(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").write_text('{"pid": 4242, "host": "gone", "started": "2026-01-01 00:00:00 UTC"}\n')
    with pytest.warns(train.StaleLockWarning, match="pid 4242 on host gone"):
        train.fit(tiny(tmp_path, steps=1))
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint.pt", "config.yaml", "log.jsonl"]


def test_the_lock_is_released_when_a_run_fails_or_is_interrupted(tmp_path, monkeypatch):
    from colorlab.train import runlog

    with pytest.raises(train.NonFiniteLossError):
        train.fit(tiny(tmp_path, steps=3, lr=1e30, checkpoint_every=100))
    assert not (tmp_path / "run" / ".lock").exists()

    def interrupted(state, rgb):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.fit(tiny(tmp_path, "stopped", steps=3))
    assert not (tmp_path / "stopped" / ".lock").exists()
    runlog.RunLock(tmp_path / "stopped").acquire().release()  # free again


def test_leftover_temporary_files_of_the_run_are_removed(tmp_path, capsys):
    run_dir = train.fit(tiny(tmp_path, steps=1))
    (run_dir / ".checkpoint.pt.0a1b2c3d.tmp").write_bytes(b"x" * 1000)  # a write killed with SIGKILL
    (run_dir / ".weights-0000001.pt.00ff00ff.tmp").write_bytes(b"x")
    (run_dir / ".notes.txt.0a1b2c3d.tmp").write_bytes(b"not ours")
    capsys.readouterr()
    train.fit(tiny(tmp_path, steps=2, resume=True))
    assert "removed 2 temporary file(s) of an interrupted write" in capsys.readouterr().out
    assert sorted(p.name for p in run_dir.iterdir()) == [".notes.txt.0a1b2c3d.tmp", "checkpoint.pt", "config.yaml",
                                                         "log.jsonl"]


class FullDisk:
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, b) -> int:
        if len(b) > self.room:
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(b)
        return self.f.write(b)

    def flush(self):
        self.f.flush()


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno

    run_dir = train.fit(tiny(tmp_path, steps=1))
    before = (run_dir / "checkpoint.pt").read_bytes()
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f: real_save(obj, FullDisk(f, room=4096)))
    with pytest.raises(OSError, match="no space left on device while writing .*checkpoint.pt") as error:
        train.fit(tiny(tmp_path, steps=2, resume=True))
    assert error.value.errno == errno.ENOSPC and "enforce fail" not in str(error.value)
    assert (run_dir / "checkpoint.pt").read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "config.yaml", "log.jsonl"]


def test_atomic_save_on_a_full_disk_says_so_and_keeps_the_old_file(tmp_path, monkeypatch):
    import re

    path = tmp_path / "c.pt"
    train.atomic_save({"a": 1}, path)
    real_save = torch.save
    monkeypatch.setattr(torch, "save", lambda obj, f: real_save(obj, FullDisk(f, room=100)))
    with pytest.raises(OSError, match=f"^no space left on device while writing {re.escape(repr(str(path)))}"):
        train.atomic_save({"a": torch.zeros(1000)}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"a": 1} and [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def write_truncated_jpegs(folder: Path, count: int) -> None:
    """JPEGs whose header is intact (they pass the check at construction) but whose data are cut."""
    import io

    folder.mkdir(parents=True)
    for i in range(count):
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
        (folder / f"cut{i}.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])


@pytest.mark.filterwarnings("ignore::colorlab.data.SkippedImageWarning")
def test_unreadable_data_in_loader_workers_is_one_clear_line(tmp_path):
    write_truncated_jpegs(tmp_path / "cut", 3)
    with pytest.raises(ValueError) as error:
        train.fit(tiny(tmp_path, data_dir=str(tmp_path / "cut"), holdout=0.0, steps=1, workers=1))
    message = str(error.value)
    assert message.startswith(f"no readable image left under {str(tmp_path / 'cut')!r}") and "\n" not in message
    assert message.endswith("(in DataLoader worker process 0)") and "Traceback" not in message


def test_a_training_set_smaller_than_a_batch_counts_its_readable_images(tmp_path):
    write_truncated_jpegs(tmp_path / "one", 1)
    with pytest.raises(ValueError, match=r"has 1 image file\(s\) under .*one' \(0 of them readable\), fewer than"):
        train.fit(tiny(tmp_path, data_dir=str(tmp_path / "one"), holdout=0.0, steps=1))
