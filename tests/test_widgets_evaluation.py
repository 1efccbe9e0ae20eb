"""Tests of the chapter 7 widget: colorize an uploaded photo, with a temperature slider."""

import io
import tempfile

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from PIL import Image

import colorlab as cl
from colorlab.models import build_model

pytest.importorskip("ipywidgets")
from colorlab import widgets as cl_widgets  # noqa: E402



@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("eccv16", 0.0625).eval()


def png_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(box, name, content):
    box.on_upload({"new": ({"name": name, "content": memoryview(content), "type": "image/png", "size": len(content)},)})


def test_widget_shows_the_example_then_an_upload_then_redraws_for_T(drawn, model):
    example = np.ascontiguousarray(cl.sample_photo("chelsea")[::6, ::6])
    box = cl_widgets.colorize_upload_widget(model, example, size=32)
    assert len(drawn) == 1 and drawn[0].axes[0].get_title() == "example: input L"

    photo = np.ascontiguousarray(cl.sample_photo("coffee")[::8, ::8])
    upload(box, "coffee.png", png_bytes(photo))
    assert len(drawn) == 2 and drawn[1].axes[0].get_title() == "coffee.png: input L"
    shown = drawn[1].axes[1].get_images()[0].get_array()
    assert shown.shape == photo.shape  # full resolution of the upload
    assert "coffee.png" in box.status.value

    box.controls["T"].value = 1.0
    assert len(drawn) == 3 and "T = 1.00" in drawn[2].axes[1].get_title()


NOISE = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("content", [b"not an image at all", png_bytes(NOISE)[:400]], ids=["text", "truncated"])
def test_widget_reports_an_unreadable_upload_without_raising(drawn, model, content):
    box = cl_widgets.colorize_upload_widget(model, np.zeros((16, 16, 3), np.uint8), size=16)
    upload(box, "notes.png", content)
    message = box.status.value
    assert "could not read notes.png: " in message
    assert message.count("notes.png") == 1 and tempfile.gettempdir() not in message and "upload" not in message
    assert len(drawn) == 1  # nothing redrawn


def test_large_uploads_are_shrunk_and_the_status_says_so(drawn, model):
    box = cl_widgets.colorize_upload_widget(model, np.zeros((16, 16, 3), np.uint8), size=16, max_side=40)
    upload(box, "big.png", png_bytes(np.full((60, 100, 3), 120, np.uint8)))
    assert drawn[-1].axes[2].get_images()[0].get_array().shape == (24, 40, 3)
    assert box.status.value == "big.png: 40 × 24 pixels (shrunk from 100 × 60: at most 40 pixels a side)"
    upload(box, "small.png", png_bytes(np.full((20, 30, 3), 120, np.uint8)))
    assert box.status.value == "small.png: 30 × 20 pixels"


def test_a_new_temperature_reuses_the_network_output(monkeypatch, shown_frames, model):
    (shown, _), calls = shown_frames, []
    forward = type(model).forward
    monkeypatch.setattr(type(model), "forward", lambda self, x: calls.append(1) or forward(self, x))
    box = cl_widgets.colorize_upload_widget(model, np.ascontiguousarray(cl.sample_photo("coffee")[::8, ::8]),
                                            size=32)
    for T in (0.2, 0.9):
        box.controls["T"].value = T
    assert len(calls) == 1 and len(shown) == 3 and len(set(shown)) == 3
    upload(box, "chelsea.png", png_bytes(np.ascontiguousarray(cl.sample_photo("chelsea")[::8, ::8])))
    assert len(calls) == 2 and len(shown) == 4
    assert "forward" not in vars(model)  # the model is left as it was


def test_a_new_temperature_changes_only_the_colorization(monkeypatch, shown_frames, model):
    from colorlab import plot

    (shown, built), grids = shown_frames, []
    grid = plot.colorization_grid
    monkeypatch.setattr(plot, "colorization_grid", lambda *a, **k: grids.append(1) or grid(*a, **k))
    example = np.ascontiguousarray(cl.sample_photo("coffee")[::8, ::8])
    box = cl_widgets.colorize_upload_widget(model, example, size=32)
    box.controls["T"].value = 0.9
    assert len(grids) == 1 and len(shown) == 2 and shown[0] != shown[1]  # one figure, its panel updated
    full = grid(model, {"example": example}, T=0.9, size=32, panel=3.2)
    panel = built[0].fig.axes[1]
    assert panel.get_title() == full.axes[1].get_title() == "colorized (T = 0.90)"
    np.testing.assert_array_equal(panel.images[0].get_array(), full.axes[1].images[0].get_array())
    upload(box, "chelsea.png", png_bytes(np.ascontiguousarray(cl.sample_photo("chelsea")[::8, ::8])))
    assert len(grids) == 2  # another photo: drawn in full


def test_colorize_l_is_colorize_rgb_from_a_precomputed_lightness(model):
    rgb = np.ascontiguousarray(cl.sample_photo("coffee")[::8, ::8])
    from colorlab.colorize import colorize_l, lightness

    np.testing.assert_array_equal(colorize_l(model, lightness(rgb), T=0.5, size=32),
                                  cl.colorize_rgb(model, rgb, T=0.5, size=32))
