"""Tests of colorlab.pretrained with checkpoints the tests write themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from colorlab import pretrained
from colorlab.models import build_model
from colorlab.train.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, MODEL_KEYS, read_checkpoint
from colorlab.pretrained import (
    PRETRAINED_FILES,
    CheckpointError,
    load_model,
    load_pretrained,
    pretrained_path,
    save_pretrained,
)

WIDTH = 0.0625
MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """An empty models folder searched first; the repository's own models/ is hidden from the search."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(pretrained.MODELS_DIR_ENV, str(folder))
    monkeypatch.setattr(pretrained, "model_search_dirs", lambda: [folder])
    return folder


def small_model(name="eccv16", seed=0):
    torch.manual_seed(seed)
    model = build_model(name, WIDTH)
    # make BatchNorm statistics non-trivial so the round trip checks them too
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    return model.eval()


@pytest.mark.parametrize("kind,name", [("classification", "eccv16"), ("classification", "seed"),
                                       ("regression", "regression")])
def test_save_then_load_pretrained_round_trip(models_dir, kind, name):
    model = small_model(name)
    save_pretrained(model, models_dir / PRETRAINED_FILES[kind], meta={"note": "test"}, step=3, elapsed=1.5)
    loaded = load_pretrained(kind)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.checkpoint_meta == {"steps": 3, "train_seconds": 1.5, "train_config": None, "note": "test"}
    assert loaded.checkpoint_path == str(models_dir / PRETRAINED_FILES[kind])
    assert not loaded.training
    assert next(loaded.parameters()).dtype == torch.float32
    for (key, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        if a.is_floating_point():
            torch.testing.assert_close(b, a.half().float(), msg=key)
        else:
            assert torch.equal(a, b)
    l = torch.rand(1, 1, 32, 32) * 100
    ab_saved, ab_loaded = model.colorize(l, size=None), loaded.colorize(l, size=None)
    assert ab_loaded.shape == (1, 2, 32, 32)
    torch.testing.assert_close(ab_loaded, ab_saved, atol=0.5, rtol=0.05)


def test_pretrained_file_is_float16_and_weights_only(models_dir):
    path = save_pretrained(small_model(), models_dir / "classification.pt")
    obj = torch.load(path, weights_only=True)
    assert (obj["format"], obj["version"]) == (CHECKPOINT_FORMAT, CHECKPOINT_VERSION)
    assert set(obj) == set(MODEL_KEYS), "a model file has the keys of every checkpoint, no training state"
    assert obj["model_config"] == {"name": "eccv16", "width": WIDTH, "dilation": 2}
    floats = [v for v in obj["model"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert not list(models_dir.glob("*.tmp"))


def test_explicit_checkpoint_wins_over_the_search(models_dir, tmp_path):
    elsewhere = tmp_path / "mine.pt"
    save_pretrained(small_model(seed=1), elsewhere)
    assert pretrained_path("classification", elsewhere) == elsewhere
    assert load_pretrained("classification", checkpoint=elsewhere).config["name"] == "eccv16"


def test_missing_file_says_how_to_get_it(models_dir):
    with pytest.raises(FileNotFoundError) as info:
        load_pretrained("regression")
    message = str(info.value)
    assert "regression.pt" in message and "colorlab train" in message and "checkpoint" in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pretrained("classification", checkpoint=models_dir / "nope.pt")


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        load_pretrained("segmentation")


def test_model_of_the_other_kind_is_refused(models_dir):
    save_pretrained(small_model("regression"), models_dir / "classification.pt")
    with pytest.raises(CheckpointError, match="holds a regression model"):
        load_pretrained("classification")


def test_corrupt_file(models_dir):
    path = save_pretrained(small_model(), models_dir / "classification.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_pretrained("classification")
    path.write_text("hello, I am a text file\n")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_pretrained("classification")


def test_foreign_checkpoints(models_dir):
    path = models_dir / "classification.pt"
    torch.save({"epoch": 3, "weights": [1, 2]}, path)
    with pytest.raises(CheckpointError, match="not a colorlab checkpoint"):
        load_pretrained("classification")
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match="bare weights"):
        load_pretrained("classification")
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_pretrained("classification")


class Payload:
    """An arbitrary class: unpickling it would run code, so weights_only loading must refuse it."""


def test_unsafe_pickle_is_refused(models_dir):
    path = models_dir / "classification.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="not a readable"):
        load_pretrained("classification")


def test_weights_of_another_architecture(models_dir):
    path = save_pretrained(small_model(), models_dir / "classification.pt")
    obj = torch.load(path, weights_only=True)
    obj["model_config"]["width"] = WIDTH * 2  # config says one width, weights are another
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match="do not fit the architecture it names \\('eccv16', width 0.125\\)"):
        load_pretrained("classification")
    obj["model_config"] = {"name": "resnet50", "width": 1.0}
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match="cannot build"):
        load_model(path)


def test_a_checkpoint_with_training_state_loads_as_a_model(tmp_path):
    """Training checkpoints and model files are one format: the reader ignores the training state."""
    from colorlab.train.checkpoint import atomic_save, model_checkpoint

    model = small_model("regression", seed=2)
    path = tmp_path / "checkpoint.pt"
    atomic_save({**model_checkpoint(model, step=4), "optimizer": {}, "epoch": 1}, path)
    loaded = load_model(path, kind="regression")
    assert loaded.checkpoint_meta["steps"] == 4
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError, match="holds a regression model"):
        load_model(path, kind="classification")


def test_save_pretrained_rejects_other_modules(tmp_path):
    with pytest.raises(TypeError, match="ColorizationNet"):
        save_pretrained(torch.nn.Linear(2, 2), tmp_path / "x.pt")


def test_search_dirs_include_the_checkout_models_folder():
    dirs = pretrained.model_search_dirs()
    assert any(d.name == "models" and (d.parent / "colorlab").is_dir() for d in dirs)


@pytest.mark.slow
def test_a_run_folder_of_fit_loads_and_exports(tmp_path):
    """The checkpoint a real training run writes loads by its run folder, and exports to a pretrained file."""
    from colorlab.train import TrainConfig, fit

    config = TrainConfig.from_dict({}, data_dir=None, model="regression", width=WIDTH, image_size=32, batch_size=2,
                                   steps=1, lr_decay_steps=[], prior="imagenet", holdout=["chelsea"], device="cpu",
                                   amp="off", workers=0, checkpoint_every=1, log_every=1,
                                   run_dir=str(tmp_path / "run"))
    run_dir = fit(config)
    model = load_pretrained("regression", checkpoint=run_dir)
    assert model.config["name"] == "regression" and model.config["width"] == WIDTH
    with pytest.raises(CheckpointError, match="classification model is needed"):
        load_pretrained("classification", checkpoint=run_dir)
    exported = save_pretrained(model, tmp_path / "regression.pt", meta={"steps": 1})
    again = load_model(exported, kind="regression")
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(b.float(), a.half().float() if a.is_floating_point() else a.float())


@pytest.mark.slow
def test_export_script_writes_a_model_file_of_a_run(tmp_path):
    """models/export.py RUN_DIR OUT.pt: the file the book's models are made with."""
    import runpy

    from colorlab.train import TrainConfig, fit

    run_dir = fit(TrainConfig.from_dict({}, model="eccv16", width=WIDTH, image_size=32, batch_size=2, steps=2,
                                        device="cpu", workers=0, holdout=["chelsea"], log_every=1,
                                        run_dir=str(tmp_path / "run")))
    export = runpy.run_path(str(MODELS / "export.py"))
    assert export["main"]([str(run_dir), str(tmp_path / "out.pt")]) == 0
    model = load_pretrained("classification", checkpoint=tmp_path / "out.pt")
    meta = model.checkpoint_meta
    assert meta["steps"] == 2 and meta["train_config"]["width"] == WIDTH and meta["train_seconds"] > 0
    assert set(torch.load(tmp_path / "out.pt", weights_only=True)) == set(MODEL_KEYS)


def test_the_committed_models_are_in_the_current_format():
    for kind, file in PRETRAINED_FILES.items():
        checkpoint = read_checkpoint(MODELS / file)
        assert (checkpoint["format"], checkpoint["version"]) == (CHECKPOINT_FORMAT, CHECKPOINT_VERSION)
        assert checkpoint["step"] > 0 and checkpoint["train_config"]["model"] == checkpoint["model_config"]["name"]
        assert load_pretrained(kind).checkpoint_path == str(MODELS / file)


def test_upgrade_script_converts_the_earlier_formats(tmp_path):
    import runpy

    upgrade = runpy.run_path(str(MODELS / "upgrade_checkpoint.py"))
    model = small_model()
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    old = {"format": "colorlab.pretrained/1", "config": dict(model.config), "state_dict": state,
           "meta": {"steps": 7, "train_seconds": 2.0, "train_config": {"model": "eccv16"}, "note": "x"}}
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="earlier colorlab"):
        load_model(tmp_path / "old.pt")
    assert upgrade["main"]([str(tmp_path / "old.pt"), str(tmp_path / "new.pt")]) == 0
    loaded = load_model(tmp_path / "new.pt")
    assert loaded.checkpoint_meta == {"steps": 7, "train_seconds": 2.0, "train_config": {"model": "eccv16"},
                                      "note": "x"}
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, state[key].to(value.dtype))


def test_load_evaluation_reads_the_committed_file_of_that_name(models_dir):
    (models_dir / "evaluations").mkdir()
    (models_dir / "evaluations" / "validation.json").write_text('{"n_images": 3}', encoding="utf-8")
    assert pretrained.load_evaluation("validation") == {"n_images": 3}
    with pytest.raises(FileNotFoundError, match="pilot-lambda1"):
        pretrained.load_evaluation("pilot-lambda1")
    with pytest.raises(ValueError, match="name must be one of"):
        pretrained.load_evaluation("test")


def test_the_repository_holds_every_committed_evaluation():
    for name in pretrained.EVALUATIONS:
        result = pretrained.load_evaluation(name)
        assert result["n_images"] == len({row["image"] for row in result["images"]}) > 0


# ----------------------------------------------------------------------------------------------------------
# What every reader refuses: foreign files, weights that do not fit the configuration, non-finite weights
# ----------------------------------------------------------------------------------------------------------


def test_a_file_that_is_not_a_pytorch_file_says_so(tmp_path, capsys):
    from colorlab.cli import main

    notes = tmp_path / "notes.txt"
    notes.write_text("epoch 1: loss 3.2\n")
    message = (f"{str(notes)!r} is not a colorlab model or checkpoint (not a readable PyTorch checkpoint: it begins "
               "with b'epoch 1:', not a zip or pickle header); give a checkpoint.pt of colorlab train, a model file "
               "of save_pretrained, or a run folder")
    with pytest.raises(CheckpointError, match=f"^{re.escape(message)}$"):
        load_model(notes)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"it begins with b'', not a zip or pickle header"):
        read_checkpoint(tmp_path / "empty.pt")
    assert main(["export-onnx", "--checkpoint", str(notes), "-o", str(tmp_path / "m.onnx")]) == 1
    assert capsys.readouterr().err == f"colorlab export-onnx: error: {message}\n"


def test_a_configuration_wider_than_its_weights_is_refused_before_any_model_is_built(models_dir, monkeypatch):
    """The shapes are compared with the architecture built on the meta device: a 4 MB file saying width 60
    (115 billion parameters) allocates nothing."""
    from colorlab.train import checkpoint as checkpoint_module

    path = save_pretrained(small_model(), models_dir / "classification.pt")
    obj = torch.load(path, weights_only=True)
    obj["model_config"]["width"] = 60.0
    torch.save(obj, path)
    real_build = checkpoint_module.build_model

    def build_on_meta_only(*args, **kwargs):
        assert torch.empty(0).device.type == "meta", "a model of the file's configuration was built for real"
        return real_build(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "build_model", build_on_meta_only)
    with torch.device("meta"):
        expected = build_model("eccv16", 60.0).state_dict()
    first = next(iter(expected))
    message = (f"{str(path)!r}: the weights do not fit the architecture it names ('eccv16', width 60.0): the tensor "
               f"{first!r} has shape {tuple(obj['model'][first].shape)}, the architecture's is "
               f"{tuple(expected[first].shape)}")
    with pytest.raises(CheckpointError, match=f"^{re.escape(message)}$"):
        load_pretrained("classification")


def test_weights_missing_from_the_file_or_foreign_to_the_architecture_are_named(tmp_path):
    obj = torch.load(save_pretrained(small_model(), tmp_path / "m.pt"), weights_only=True)
    first = next(iter(obj["model"]))
    obj["model"]["extra.weight"] = obj["model"].pop(first)
    torch.save(obj, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match=rf"missing \[{re.escape(repr(first))}\], unexpected \['extra.weight'\]$"):
        load_model(tmp_path / "m.pt")


def _poisoned(model, value=float("nan")):
    """``model`` with the first element of its second parameter set to ``value``; returns the parameter's name."""
    name, parameter = list(model.named_parameters())[1]
    with torch.no_grad():
        parameter.view(-1)[0] = value
    return name


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_by_every_reader(models_dir, tmp_path, capsys, value):
    """A diverged run's weights give black images and an AuC of 0: the committed-model path, a checkpoint file,
    its run folder, resuming and the command line all refuse them, naming the tensor."""
    from colorlab.cli import main
    from colorlab.train import load_checkpoint
    from colorlab.train.checkpoint import RESUME_KEYS, atomic_save, model_checkpoint

    model = small_model()
    name = _poisoned(model, value)
    save_pretrained(model, models_dir / "classification.pt")
    run = tmp_path / "run"
    run.mkdir()
    atomic_save({**model_checkpoint(model), **dict.fromkeys(RESUME_KEYS)}, run / "checkpoint.pt")
    counts = "1 NaN and 0 infinite" if value != value else "0 NaN and 1 infinite"
    for where, load in [(models_dir / "classification.pt", lambda: load_pretrained("classification")),
                        (run / "checkpoint.pt", lambda: load_checkpoint(run / "checkpoint.pt")),
                        (run / "checkpoint.pt", lambda: load_model(run)),
                        (run / "checkpoint.pt", lambda: read_checkpoint(run, resumable=True))]:
        with pytest.raises(CheckpointError, match=f"^{re.escape(repr(str(where)))}: the weight {name!r} must hold no "
                                                  f"NaN or infinite values; it holds {counts} of "):
            load()
    (tmp_path / "photos").mkdir()
    photo = tmp_path / "photos" / "red.png"
    Image.new("RGB", (32, 32), (200, 40, 40)).save(photo)
    for args in (["colorize", str(photo), "-o", str(tmp_path / "out.png")], ["evaluate", str(photo.parent)],
                 ["export-onnx", "-o", str(tmp_path / "m.onnx")]):
        assert main([*args, "--checkpoint", str(run)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"colorlab {args[0]}: error: ") and f"the weight {name!r} must hold no NaN" in err
        assert err.endswith("(the run that wrote it diverged): use an earlier checkpoint, or train again\n")
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "m.onnx").exists()


def test_fit_refuses_to_resume_a_checkpoint_with_non_finite_weights(tmp_path):
    from colorlab.train import TrainConfig, fit
    from colorlab.train.checkpoint import RESUME_KEYS, atomic_save, model_checkpoint

    model = small_model("regression")
    name = _poisoned(model)
    run = tmp_path / "run"
    run.mkdir()
    atomic_save({**model_checkpoint(model), **dict.fromkeys(RESUME_KEYS)}, run / "checkpoint.pt")
    config = TrainConfig.from_dict({}, data_dir=None, model="regression", width=WIDTH, image_size=32, batch_size=2,
                                   steps=2, lr_decay_steps=[], prior="imagenet", holdout=["chelsea"], device="cpu",
                                   amp="off", workers=0, run_dir=str(run), resume=True)
    with pytest.raises(CheckpointError, match=f"the weight {name!r} must hold no NaN or infinite values"):
        fit(config)


def test_a_device_name_as_map_location_is_checked_and_moves_the_model(tmp_path):
    from colorlab.train import load_checkpoint

    path = save_pretrained(small_model(), tmp_path / "m.pt")
    model, _ = load_checkpoint(path, map_location="auto" if not torch.cuda.is_available() else "cpu")
    assert next(model.parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="^map_location: 'gpu' is not a device; use auto, cpu, cuda, cuda:N or mps$"):
        load_checkpoint(path, map_location="gpu")
