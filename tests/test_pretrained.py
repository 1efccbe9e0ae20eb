"""Tests of colorlab.pretrained with checkpoints the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

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
