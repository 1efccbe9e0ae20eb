"""Importing the authors' released ECCV16 weights (colorlab.authors, `colorlab import-weights`).

The authors' file cannot be downloaded here, so the tests build a state dict in their layout — names and shapes
written out below from their ``colorizers/eccv16.py`` (richzhang/colorization, commit 4bda68f, lines 13–85) —
with random weights, and check colorlab's imported model against an independent forward pass with the same
structure as theirs: eight ``nn.Sequential`` blocks, softmax, ``model_out`` (1×1, 313 → 2, no bias), bilinear
upsampling ×4 and ab × 110, with L entering as (L − 50) / 100 (``base_color.py``).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

import colorlab
from colorlab import authors, cli, evaluate, pretrained
from colorlab.pretrained import CheckpointError, load_model

#: The authors' 313 bin centres (their resources/pts_in_hull.npy, see tests/data/README.md).
PTS_IN_HULL = pathlib.Path(__file__).parent / "data" / "pts_in_hull.npy"

#: The authors' blocks: (name, [(kind, in, out, stride, dilation), ...]) in eccv16.py's order; "bn" is BatchNorm.
_C, _T, _N = "conv", "convT", "bn"
AUTHORS_BLOCKS = [
    ("model1", [(_C, 1, 64, 1, 1), (_C, 64, 64, 2, 1), (_N, 64)]),
    ("model2", [(_C, 64, 128, 1, 1), (_C, 128, 128, 2, 1), (_N, 128)]),
    ("model3", [(_C, 128, 256, 1, 1), (_C, 256, 256, 1, 1), (_C, 256, 256, 2, 1), (_N, 256)]),
    ("model4", [(_C, 256, 512, 1, 1), (_C, 512, 512, 1, 1), (_C, 512, 512, 1, 1), (_N, 512)]),
    ("model5", [(_C, 512, 512, 1, 2)] * 3 + [(_N, 512)]),
    ("model6", [(_C, 512, 512, 1, 2)] * 3 + [(_N, 512)]),
    ("model7", [(_C, 512, 512, 1, 1)] * 3 + [(_N, 512)]),
    ("model8", [(_T, 512, 256, 2, 1), (_C, 256, 256, 1, 1), (_C, 256, 256, 1, 1), ("conv1x1", 256, 313, 1, 1)]),
]


def authors_network() -> nn.Module:
    """A module with the authors' ECCV16 structure and parameter names (their model1…model8, model_out)."""
    net = nn.Module()
    for name, layers in AUTHORS_BLOCKS:
        children: list[nn.Module] = []
        for kind, *args in layers:
            if kind == _N:
                children.append(nn.BatchNorm2d(args[0]))
                continue
            c_in, c_out, stride, dilation = args
            if kind == _T:
                children.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=stride, padding=1))
            elif kind == "conv1x1":
                children.append(nn.Conv2d(c_in, c_out, 1))
            else:
                children.append(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation))
            if kind != "conv1x1":
                children.append(nn.ReLU())
        setattr(net, name, nn.Sequential(*children))
    net.model_out = nn.Conv2d(313, 2, 1, bias=False)
    return net


def authors_forward(net: nn.Module, l: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Their forward pass, in eval mode: L (B, 1, H, W) in [0, 100] → softmax (B, 313, H/4, W/4) and
    ab (B, 2, H, W)."""
    x = (l - 50.0) / 100.0
    for k in range(1, 9):
        x = getattr(net, f"model{k}")(x)
    distribution = torch.softmax(x, dim=1)
    ab = F.interpolate(net.model_out(distribution), scale_factor=4, mode="bilinear") * 110.0
    return distribution, ab


def authors_state_dict(seed: int = 0, decoder_scale: float = 1.0) -> dict[str, torch.Tensor]:
    """A state dict in the authors' layout with random weights: convolutions N(0, 1/fan-in) (the 313-way one 30
    times larger), biases and BatchNorm affine small, running means small, running variances in [0.5, 1.5];
    ``model_out`` the authors' bin centres (tests/data/pts_in_hull.npy) / 110, times ``decoder_scale``."""
    torch.manual_seed(seed)
    net = authors_network().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m is not net.model_out:
                fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * 4
                m.weight.normal_(0.0, fan_in ** -0.5)
                m.bias.normal_(0.0, 0.05)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.8, 1.2)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        net.model8[6].weight.mul_(30.0)  # logits of a few units: a peaked distribution, not a uniform one
        centres = torch.tensor(np.load(PTS_IN_HULL), dtype=torch.float32)  # (313, 2)
        net.model_out.weight.copy_(decoder_scale * centres.T[:, :, None, None] / 110.0)
    return net.state_dict()


def shape_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The same names and shapes, each tensor one stored zero (a tiny file), ``model_out`` kept as it is."""
    return {k: v if k == "model_out.weight" else torch.zeros((), dtype=v.dtype).expand(v.shape)
            for k, v in state.items()}


@pytest.fixture(scope="module")
def authors_file(tmp_path_factory):
    """The random authors'-layout state dict, saved with torch.save (130 MB), and the dict itself."""
    state = authors_state_dict()
    path = tmp_path_factory.mktemp("authors") / authors.AUTHORS_FILE
    torch.save(state, path)
    return path, state


@pytest.fixture(scope="module")
def imported(authors_file, tmp_path_factory):
    path, _ = authors_file
    out = tmp_path_factory.mktemp("imported") / "authors-eccv16.pt"
    report = authors.import_authors_weights(path, out)
    return out, report


@pytest.fixture(scope="module")
def small_state():
    return shape_only(authors_state_dict())


def test_layout_is_the_authors():
    layout = authors.authors_layout()
    expected = authors_network().state_dict()
    assert list(layout) == list(expected)  # same names, same order
    assert layout == {k: tuple(v.shape) for k, v in expected.items()}
    assert len(layout) == 82


def test_imported_model_matches_the_authors_forward_pass(authors_file, imported):
    path, state = authors_file
    out, report = imported
    net = authors_network().eval()
    net.load_state_dict(state)
    model = load_model(out)
    assert model.config == {"name": "eccv16", "width": 1.0, "dilation": 2}
    l = 100 * torch.rand(2, 1, 64, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        their_distribution, their_ab = authors_forward(net, l)
        logits = model(colorlab.normalize_l(l))
    assert their_distribution.amax() > 3 / 313  # not a uniform distribution: the comparison means something
    torch.testing.assert_close(torch.softmax(logits, dim=1), their_distribution, rtol=1e-4, atol=1e-6)
    ours = model.colorize(l, T=authors.AUTHORS_T, size=None)
    torch.testing.assert_close(ours, their_ab, rtol=1e-4, atol=1e-3)
    assert their_ab.abs().amax() > 1  # colours, not gray
    assert report["ab_scale"] == pytest.approx(1.0, abs=1e-6)
    assert report["tensors"] == 82 and report["released"] is False
    assert model.checkpoint_meta["decode_T"] == 1.0 and model.checkpoint_meta["url"] == authors.AUTHORS_URL
    assert colorlab.load_pretrained(checkpoint=out).config == model.config


def test_missing_batchnorm_counters_are_accepted(tmp_path, small_state):
    state = {k: v for k, v in small_state.items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    report = authors.import_authors_weights(tmp_path / "old.pth", tmp_path / "out.pt")
    assert report["tensors"] == 75
    assert load_model(tmp_path / "out.pt").blocks.conv1[4].num_batches_tracked.item() == 0


def test_a_scaled_decoder_is_reported(tmp_path):
    state = shape_only(authors_state_dict(decoder_scale=2.5))
    torch.save(state, tmp_path / "scaled.pth")
    report = authors.import_authors_weights(tmp_path / "scaled.pth", tmp_path / "out.pt")
    assert report["ab_scale"] == pytest.approx(2.5, rel=1e-6)


def _refused(tmp_path, state, match):
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=match):
        authors.import_authors_weights(tmp_path / "bad.pth", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_a_missing_key_is_named(tmp_path, small_state):
    state = dict(small_state)
    del state["model3.2.bias"]
    _refused(tmp_path, state, r"misses key\(s\) model3\.2\.bias")


def test_an_unexpected_key_is_named(tmp_path, small_state):
    state = {**small_state, "model9.0.weight": torch.zeros(3)}
    _refused(tmp_path, state, r"unexpected key\(s\) model9\.0\.weight")


def test_a_wrong_shape_is_named(tmp_path, small_state):
    state = {**small_state, "model8.6.weight": torch.zeros(313, 128, 1, 1)}
    _refused(tmp_path, state, r"model8\.6\.weight has shape \(313, 128, 1, 1\); the authors' ECCV16 has "
                              r"\(313, 256, 1, 1\)")


def test_a_decoder_that_is_not_the_bins_is_refused(tmp_path, small_state):
    weight = small_state["model_out.weight"]
    state = {**small_state, "model_out.weight": weight[:, torch.arange(313).roll(1)]}  # the bins out of order
    _refused(tmp_path, state, r"model_out\.weight is not the 313 ab bin centres in colorlab's order")


def test_not_finite_weights_are_refused(tmp_path, small_state):
    state = {**small_state, "model2.0.weight": torch.full((128, 64, 3, 3), float("nan"))}
    _refused(tmp_path, state, r"model2\.0\.weight must hold finite")


def test_a_file_that_is_not_a_torch_file_is_refused(tmp_path):
    (tmp_path / "bad.pth").write_text("not a checkpoint\n")
    with pytest.raises(CheckpointError, match="is not the authors' PyTorch weights .not a readable PyTorch "
                                              "checkpoint.*; give colorization_release_v2-9b330a0b.pth from https"):
        authors.import_authors_weights(tmp_path / "bad.pth", tmp_path / "out.pt")


def test_python_objects_are_refused_by_weights_only_loading(tmp_path):
    torch.save({"model1.0.weight": pathlib.Path("x")}, tmp_path / "pickled.pth")
    with pytest.raises(CheckpointError, match="weights_only loading refuses"):
        authors.import_authors_weights(tmp_path / "pickled.pth", tmp_path / "out.pt")


def test_half_stores_float16(tmp_path, small_state):
    torch.save(small_state, tmp_path / "w.pth")
    authors.import_authors_weights(tmp_path / "w.pth", tmp_path / "half.pt", half=True)
    stored = torch.load(tmp_path / "half.pt", weights_only=True)["model"]
    assert stored["blocks.out.weight"].dtype == torch.float16


def test_a_colorlab_checkpoint_is_refused(tmp_path):
    colorlab.save_pretrained(colorlab.ECCV16(width=0.125), tmp_path / "book.pt")
    with pytest.raises(CheckpointError, match="already a colorlab checkpoint"):
        authors.import_authors_weights(tmp_path / "book.pt", tmp_path / "out.pt")


def test_cli_imports(tmp_path, small_state, capsys):
    torch.save(small_state, tmp_path / "w.pth")
    assert cli.main(["import-weights", str(tmp_path / "w.pth"), "-o", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert "colorlab import-weights: wrote" in out and "T = 1" in out
    assert load_model(tmp_path / "m.pt").config["name"] == "eccv16"


@pytest.mark.parametrize("change, message", [
    (lambda s: {k: v for k, v in s.items() if k != "model1.4.running_var"}, "misses key(s) model1.4.running_var"),
    (lambda s: {**s, "model1.0.weight": torch.zeros(64, 1, 5, 5)}, "model1.0.weight has shape (64, 1, 5, 5)"),
    (None, "is not the authors' PyTorch weights (not a readable PyTorch checkpoint"),
])
def test_cli_refusals(tmp_path, small_state, capsys, change, message):
    bad = tmp_path / "bad.pth"
    if change is None:
        bad.write_bytes(b"\x00garbage")
    else:
        torch.save(change(small_state), bad)
    assert cli.main(["import-weights", str(bad), "-o", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("colorlab import-weights: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "m.pt").exists()


# ------------------------------------------------------------------------------------------ evaluate, beside


def test_predict_methods_decodes_the_authors_model_as_their_demo_and_annealed(imported):
    model = load_model(imported[0])
    l = colorlab.rgb_to_lab(colorlab.to_tensor(colorlab.sample_photo("chelsea")[:32, :48].copy()))[:, :1].float()
    out = evaluate.predict_methods(l, None, None, T=0.38, methods=evaluate.AUTHORS_METHODS, authors=model)
    assert list(out) == ["authors_mean", "authors_annealed"]
    torch.testing.assert_close(out["authors_mean"], model.colorize(l, T=1.0, size=None))
    torch.testing.assert_close(out["authors_annealed"], model.colorize(l, T=0.38, size=None))
    assert not torch.allclose(out["authors_mean"], out["authors_annealed"])


@pytest.fixture
def book_models(tmp_path, monkeypatch):
    """Stand-ins for the committed models, found by the default search."""
    folder = tmp_path / "models"
    folder.mkdir()
    torch.manual_seed(0)
    for kind, name in (("classification", "eccv16"), ("regression", "regression")):
        colorlab.save_pretrained(colorlab.build_model(name, 0.0625), folder / pretrained.PRETRAINED_FILES[kind])
    monkeypatch.setattr(pretrained, "model_search_dirs", lambda: [folder])
    return folder


def test_cli_evaluate_adds_the_authors_rows(tmp_path, imported, book_models, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(colorlab.sample_photo("chelsea")[:60, :90].copy()).save(photos / "cat.png")
    out = tmp_path / "result.json"
    argv = ["evaluate", photos, "--size", 32, "--device", "cpu", "--authors-checkpoint", imported[0], "--json", out]
    assert cli.main([str(a) for a in argv]) == 0
    table = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert list(result["methods"]) == [*evaluate.METHODS, *evaluate.AUTHORS_METHODS]
    assert "authors_mean" in table and "authors_annealed" in table
    assert result["checkpoints"]["authors"] == str(imported[0])


def test_cli_evaluate_refuses_a_regression_model_as_the_authors(tmp_path, book_models, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(colorlab.sample_photo("chelsea")[:60, :90].copy()).save(photos / "cat.png")
    argv = ["evaluate", str(photos), "--authors-checkpoint", str(book_models / "regression.pt")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("colorlab evaluate: error: ") and "classification model is needed" in err
