"""The in-browser colorization: the ONNX graph written by ``colorlab export-onnx`` gives the colours of
``colorlab colorize``, its kernels survive storage at lower precision, and the chapter's panel markup is
complete. (The panel itself is checked in a browser by ``tools/check_colorize_panel.py``.)"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from colorlab import colorize_rgb, load_pretrained, sample_photo, sample_photos
from colorlab.cli import main
from colorlab.colorize import gray_rgb
from colorlab.decode import T_ANNEALED
from colorlab.models import build_model
from colorlab.web import (
    AUTO_PRECISIONS,
    MAX_MODEL_BYTES,
    PARITY_MAX,
    PARITY_MEAN,
    BrowserColorizer,
    _store_kernels,
    choose_precision,
    colorize_onnx,
    panel_html,
    parity,
)

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

TEMPERATURES = (T_ANNEALED, 1.0, 0.1)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- the module behind the graph


@pytest.mark.parametrize("shape", [(64, 96), (37, 53), (300, 451), (9, 200), (2, 700), (500, 3)])
def test_browser_colorizer_is_colorize_rgb(shape):
    torch.manual_seed(0)
    model = build_model("eccv16", 0.125).eval()
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    pipeline = BrowserColorizer(model, size=32)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous()
    with torch.no_grad():
        colorized, gray = pipeline(x, torch.tensor(0.5))
    assert colorized.dtype == gray.dtype == torch.uint8
    np.testing.assert_array_equal(colorized[0].permute(1, 2, 0).numpy(), colorize_rgb(model, rgb, 0.5, size=32))
    np.testing.assert_array_equal(gray[0].permute(1, 2, 0).numpy(), gray_rgb(rgb))


def test_browser_colorizer_follows_the_temperature_rule_and_refuses_regression():
    torch.manual_seed(0)
    model = build_model("eccv16", 0.125).eval()
    with torch.no_grad():
        model.blocks.out.weight.mul_(1e4)  # logits that differ as a trained model's do
    rgb = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous()
    pipeline = BrowserColorizer(model, size=16)
    with torch.no_grad():
        for T in (0.0, 1e-40, 1e-6, float("inf")):
            colorized, _ = pipeline(x, torch.tensor(T))
            np.testing.assert_array_equal(colorized[0].permute(1, 2, 0).numpy(), colorize_rgb(model, rgb, T, size=16))
        mode, _ = pipeline(x, torch.tensor(0.0))
        for T in (-1.0, float("nan")):  # a graph cannot refuse its input: T is then 0
            torch.testing.assert_close(pipeline(x, torch.tensor(T))[0], mode, rtol=0, atol=0)
    with pytest.raises(TypeError, match="classification"):
        BrowserColorizer(build_model("regression", 0.125))


def test_export_onnx_checks_its_arguments_before_exporting(tmp_path, monkeypatch):
    from colorlab import web

    monkeypatch.setattr(web, "_trace", lambda *args: pytest.fail("exported before checking the arguments"))
    model = build_model("eccv16", 0.125)
    for kwargs, error, message in (
            (dict(size=7), ValueError, "size must be at least 8"), (dict(size=64.0), TypeError, "size must be"),
            (dict(max_bytes=0), ValueError, "max_bytes"), (dict(path=tmp_path), IsADirectoryError, "is a folder"),
            (dict(path=tmp_path / "missing" / "m.onnx"), FileNotFoundError, "path: .*does not exist")):
        with pytest.raises(error, match=message):
            web.export_onnx(model, **{"path": tmp_path / "m.onnx", **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_export_onnx_with_a_size_below_8_says_so_in_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "export-onnx", "-o", tmp_path / "m.onnx", "--size", 7)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("colorlab export-onnx: error: size must be at least 8") and "\x1b" not in err
    assert not (tmp_path / "m.onnx").exists()


# --------------------------------------------------------------------------- kernel storage


def _conv_graph(rng):
    """A float32 ONNX graph with a Conv and a ConvTranspose, and its kernels."""
    from onnx import TensorProto, helper, numpy_helper

    w1 = rng.normal(0, 0.2, (8, 3, 3, 3)).astype(np.float32)
    w1[5] = 0  # a channel of zeros must not divide by zero
    w2 = rng.normal(0, 0.2, (8, 4, 4, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["h"], pads=[1, 1, 1, 1]),
         helper.make_node("ConvTranspose", ["h", "w2"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
        "convs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 12])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 20, 24])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), (w1, w2)


@pytest.mark.parametrize("precision, tolerance", [("fp32", 0), ("fp16", 2e-3), ("int8", 2e-2)])
def test_stored_kernels_compute_what_the_float32_graph_computes(precision, tolerance):
    rng = np.random.default_rng(0)
    model, _ = _conv_graph(rng)
    x = rng.normal(size=(1, 3, 10, 12)).astype(np.float32)
    reference = onnxruntime.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    stored = _store_kernels(_conv_graph(np.random.default_rng(0))[0], precision)
    onnx.checker.check_model(stored, full_check=True)
    got = onnxruntime.InferenceSession(stored.SerializeToString()).run(None, {"x": x})[0]
    scale = np.abs(reference).max()
    assert np.abs(got - reference).max() <= tolerance * scale
    kinds = {init.data_type for init in stored.graph.initializer}
    expected = {"fp32": onnx.TensorProto.FLOAT, "fp16": onnx.TensorProto.FLOAT16, "int8": onnx.TensorProto.INT8}
    assert expected[precision] in kinds


def test_choose_precision_takes_the_first_that_fits():
    assert choose_precision({"fp16": 4_300_000, "int8": 2_300_000}) == AUTO_PRECISIONS[0]
    assert choose_precision({"fp16": 16_200_000, "int8": 8_100_000}) == "int8"
    with pytest.raises(ValueError, match="does not fit"):
        choose_precision({"fp16": 65_000_000, "int8": 32_000_000})


def test_parity_measures_per_channel():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0] = (PARITY_MAX, 0, PARITY_MAX + 1)
    mean, largest, ok = parity(b, a)
    assert largest.tolist() == [PARITY_MAX, 0, PARITY_MAX + 1] and not ok
    assert parity(a, a)[2]
    with pytest.raises(ValueError, match="shape"):
        parity(a, a[:2])


# --------------------------------------------------------------------------- the book's graph


# Run in a fresh process, as the book build runs it: the constants that colorlab keeps per device are then first
# built while the graph is being traced. After the export, the same process colorizes a photo with PyTorch.
_EXPORT_THEN_COLORIZE = """
import sys, numpy as np, torch
import colorlab as cl
from colorlab.cli import main
assert main(["export-onnx", "-o", sys.argv[1]]) == 0
assert all(type(t) is torch.Tensor for t in cl.color._matrices(torch.float32, torch.device("cpu")))
np.save(sys.argv[2], cl.colorize_rgb(cl.load_pretrained("classification"), cl.sample_photo("astronaut")))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The committed classification model exported as the book build does it (`colorlab export-onnx`, in a new
    process), and that process's `colorize_rgb` of the astronaut after the export."""
    folder = tmp_path_factory.mktemp("onnx")
    path, after = folder / "colorize.onnx", folder / "after_export.npy"
    done = subprocess.run([sys.executable, "-c", _EXPORT_THEN_COLORIZE, str(path), str(after)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return path, np.load(after)


@pytest.mark.slow
def test_colorlab_works_after_an_export(exported):
    _, after = exported
    np.testing.assert_array_equal(after, colorize_rgb(load_pretrained("classification"), sample_photo("astronaut")))


@pytest.mark.slow
def test_exported_graph_interface_and_size(exported):
    exported, _ = exported
    assert exported.stat().st_size <= MAX_MODEL_BYTES
    model = onnx.load(exported)
    onnx.checker.check_model(model, full_check=True)

    def signature(values):
        return [(v.name, v.type.tensor_type.elem_type,
                 [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    uint8, float32 = onnx.TensorProto.UINT8, onnx.TensorProto.FLOAT
    assert signature(model.graph.input) == [("rgb", uint8, [1, 3, "height", "width"]), ("temperature", float32, [])]
    assert signature(model.graph.output) == [("colorized", uint8, [1, 3, "height", "width"]),
                                             ("gray", uint8, [1, 3, "height", "width"])]


@pytest.mark.slow
@pytest.mark.parametrize("T", TEMPERATURES)
def test_exported_graph_gives_the_colours_of_colorlab_colorize(exported, T, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, rgb in sample_photos().items():
        Image.fromarray(rgb).save(photos / f"{name}.png")
    code, _, err = run(capsys, "colorize", photos, "-o", tmp_path / "out", "-T", T)
    assert code == 0, err
    session = onnxruntime.InferenceSession(exported[0], providers=["CPUExecutionProvider"])
    failures = []
    for name, rgb in sample_photos().items():
        colorized, gray = colorize_onnx(session, rgb, T)
        reference = np.asarray(Image.open(tmp_path / "out" / f"{name}.png").convert("RGB"))
        mean, largest, ok = parity(colorized, reference)
        if not ok:
            failures.append(f"{name}: mean {mean.round(3).tolist()}, max {largest.tolist()}")
        assert parity(gray, gray_rgb(rgb))[2], name
    assert failures == [], (f"at T = {T}, the graph differs from colorlab colorize by more than "
                            f"{PARITY_MEAN} on average or {PARITY_MAX} at a pixel (8-bit levels): {failures}")


def _l_seen_by_the_network(path):
    """An onnxruntime session of the exported graph whose output is the resized L the network sees (the graph's
    first Resize), and nothing after it is computed."""
    model = onnx.load(path)
    resized = next(node for node in model.graph.node if node.op_type == "Resize").output[0]
    del model.graph.output[:]
    model.graph.output.append(onnx.helper.make_tensor_value_info(resized, onnx.TensorProto.FLOAT, None))
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]), resized


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(1, 800), (800, 1), (2, 600), (300, 451)])
def test_exported_graph_bounds_the_input_of_the_network_as_colorize_does(exported, shape):
    from colorlab.models import prediction_shape

    session, resized = _l_seen_by_the_network(exported[0])
    rgb = np.zeros((1, 3, *shape), np.uint8)
    seen, = session.run([resized], {"rgb": rgb, "temperature": np.array(T_ANNEALED, np.float32)})
    assert seen.shape[-2:] == prediction_shape(*shape)
    assert max(seen.shape) <= 1024


@pytest.mark.slow
def test_exported_graph_gives_the_colours_of_colorlab_at_every_temperature_and_on_strips(exported):
    model = load_pretrained("classification")
    session = onnxruntime.InferenceSession(exported[0], providers=["CPUExecutionProvider"])
    photo = np.ascontiguousarray(sample_photo("chelsea")[::2, ::2])
    strip = np.ascontiguousarray(np.tile(photo[50:52], (1, 10, 1)))  # 2 × 2260 pixels
    failures = []
    for name, rgb in (("chelsea", photo), ("strip", strip)):
        for T in (0.0, 1e-40, 1e-6, T_ANNEALED, float("inf")):
            colorized, _ = colorize_onnx(session, rgb, T)
            mean, largest, ok = parity(colorized, colorize_rgb(model, rgb, T))
            if not ok:
                failures.append(f"{name} at T = {T}: mean {mean.round(3).tolist()}, max {largest.tolist()}")
    assert failures == []


# --------------------------------------------------------------------------- the command and the panel


def test_export_onnx_errors_are_one_line(capsys, tmp_path):
    from colorlab.models import build_model as build
    from colorlab.pretrained import save_pretrained

    code, _, err = run(capsys, "export-onnx", "-o", tmp_path)
    assert code == 1 and "is a folder" in err and len(err.strip().splitlines()) == 1
    regression = save_pretrained(build("regression", 0.0625), tmp_path / "regression.pt")
    code, _, err = run(capsys, "export-onnx", "-o", tmp_path / "m.onnx", "--checkpoint", regression)
    assert code == 1 and "regression model" in err and not (tmp_path / "m.onnx").exists()
    code, _, err = run(capsys, "export-onnx", "-o", tmp_path / "m.onnx", "--checkpoint", tmp_path / "none.pt")
    assert code == 1 and "does not exist" in err


def test_panel_markup_names_its_files_and_embeds_the_samples():
    html = panel_html(samples=("astronaut", "chelsea"), static="../_static").data
    for fragment in ('data-model="../_static/colorize.onnx"',
                     'data-runtime="../_static/onnxruntime-web/ort.wasm.bundle.min.mjs"',
                     f'data-temperature="{T_ANNEALED}"', 'data-max-pixels="30000000"',
                     'src="../_static/colorize-panel.js"', 'href="../_static/colorize-panel.css"',
                     'alt="astronaut"', 'alt="chelsea"'):
        assert fragment in html
    assert html.count('class="colorize-panel-sample"') == 2
    assert html.count("data:image/jpeg;base64,") == 2
