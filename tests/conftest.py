import pathlib

import numpy as np
import pytest
import torch

DATA = pathlib.Path(__file__).parent / "data"

DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")])]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test that takes ``device`` runs on the CPU and, where one exists, on CUDA."""
    return torch.device(request.param)


@pytest.fixture(scope="session")
def golden():
    """Outputs of the authors' own functions (see tests/data/README.md)."""
    with np.load(DATA / "conformance_golden.npz") as f:
        return {key: f[key] for key in f.files}


@pytest.fixture(scope="session")
def authors_bins():
    return np.load(DATA / "pts_in_hull.npy")


def _no_static_frames(monkeypatch):
    """Leave out the frames a widget precomputes for a page without a kernel (tests/test_widgets.py tests them),
    so that a test sees only the drawings a kernel makes."""
    import ipywidgets

    from colorlab import widgets

    monkeypatch.setattr(widgets, "_static_figure", lambda *args, **kwargs: ipywidgets.Box())


@pytest.fixture
def drawn(monkeypatch):
    """Record every figure the widgets draw with a kernel instead of displaying it (redrawn ones as the figure
    built for them, also where a widget only updates the changing artists of its first figure;
    tests/test_widgets.py checks that the frames shown instead are drawn right)."""
    from matplotlib.figure import Figure

    from colorlab import widgets

    calls = []

    def record(fig):
        assert isinstance(fig, Figure)
        calls.append(fig)
        return b""

    _no_static_frames(monkeypatch)
    monkeypatch.setattr(widgets, "_show_png", lambda png: None)
    monkeypatch.setattr(widgets, "_png", record)
    monkeypatch.setattr(widgets, "_redraw", lambda state, fig, select: record(fig))
    monkeypatch.setattr(widgets, "_redraw_in_place", lambda state, make, select, contents: record(make()))
    return calls


@pytest.fixture
def shown_frames(monkeypatch):
    """``(shown, built)``: the PNGs the widgets show with a kernel instead of displaying them, and every
    :class:`colorlab.widgets.Frames` they build, in order."""
    from colorlab import widgets

    shown, built = [], []
    _no_static_frames(monkeypatch)
    monkeypatch.setattr(widgets, "_show_png", shown.append)
    original = widgets.Frames

    class Recorded(original):
        def __init__(self, *args):
            built.append(self)
            super().__init__(*args)

    monkeypatch.setattr(widgets, "Frames", Recorded)
    return shown, built
