"""Slider redraws of the book's slow widgets, this tree against a git revision, side by side in one process.

Usage: python benchmarks/redraw.py [--ref main] [--repeat 7]

The package as it is at ``--ref`` is extracted (``git archive``) into a temporary folder under another name and
imported next to this tree's ``colorlab``. Each widget is built by both, with the inputs its chapter gives it, and
their controls are moved in turn (the reference's, then this tree's, ``--repeat`` times), so that both see the
same load on a shared machine. A move is timed from setting the control's value to the PNG of the new figure,
rendered as the notebook's inline backend renders a displayed figure (``print_figure`` with a tight bounding
box); frames the widgets show as PNG bytes are already rendered. Reported: the median wall-clock and CPU time
(this process, all threads) of a move, and the ratio reference / this tree.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def import_revision(ref: str, folder: Path):
    """``colorlab`` as it is at git revision ``ref``, imported as the package ``colorlab_ref``."""
    archive = subprocess.run(["git", "archive", ref, "colorlab"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "colorlab").rename(folder / "colorlab_ref")
    (folder / "models").symlink_to(ROOT / "models")  # where load_pretrained looks, beside the package
    sys.path.insert(0, str(folder))
    return importlib.import_module("colorlab_ref")


def chapter_widgets(cl) -> dict:
    """{name: (widget, control name)} of the slow sliders, built by package ``cl`` as the chapters build them."""
    import torch

    from_package = importlib.import_module(cl.__name__ + ".widgets")
    rgb = cl.center_crop(cl.sample_photo("astronaut"), 256)
    classifier = cl.load_pretrained("classification")
    with torch.no_grad():
        logits = classifier(cl.normalize_l(cl.rgb_to_lab(cl.to_tensor(rgb))[:, :1]))
    soft = from_package.soft_encoding_widget(23.0, -41.0, k=5, sigma=5.0)
    cells = from_package.bin_distribution_widget(rgb, logits, (50, 12))
    return {
        "ch3 soft_encoding_widget a": (soft, "a"),
        "ch3 soft_encoding_widget b": (soft, "b"),
        "ch3 soft_encoding_widget k": (soft, "k"),
        "ch3 soft_encoding_widget σ": (soft, "sigma"),
        "ch5 bin_distribution_widget row": (cells, "row"),
        "ch5 bin_distribution_widget col": (cells, "col"),
        "ch5 bin_distribution_widget T": (cells, "T"),
        "ch5 temperature_widget T": (from_package.temperature_widget(rgb, logits), "T"),
        "ch7 colorize_upload_widget T": (from_package.colorize_upload_widget(
            classifier, cl.sample_photo("astronaut"), T=0.38), "T"),
    }


def inline_display(module) -> None:
    """Make ``module``'s widgets render what they display as the inline backend would, showing nothing."""
    from IPython.core.pylabtools import print_figure

    def render(fig):
        print_figure(fig, "png", bbox_inches="tight")
        fig.clear()

    module._show = render
    module._show_png = lambda png: None


def move(control, value) -> tuple[float, float]:
    """(wall, CPU) seconds of setting ``control`` to ``value`` (its callback redraws)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        control.value = value
    return time.perf_counter() - started, time.process_time() - started_cpu


def other_value(control):
    """A value one step away from the control's current one, inside its range."""
    step = getattr(control, "step", 1) or 1
    return control.value + step if control.value + step <= control.max else control.value - step


def compare(before: dict, after: dict, repeat: int) -> list[dict]:
    """Median (wall, CPU) per move of each control, the reference's and this tree's moved in turn."""
    rows = []
    for name in after:
        times = {"ref": [], "new": []}
        pairs = {"ref": before[name], "new": after[name]}
        starts = {key: box.controls[control].value for key, (box, control) in pairs.items()}
        for i in range(repeat):
            for key, (box, control) in pairs.items():
                slider = box.controls[control]
                times[key].append(move(slider, other_value(slider) if i % 2 == 0 else starts[key]))
        medians = {key: [statistics.median(t[j] for t in times[key]) for j in (0, 1)] for key in times}
        rows.append({"widget": name, "ref": medians["ref"], "new": medians["new"]})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="git revision to compare with (default: main)")
    parser.add_argument("--repeat", type=int, default=7, help="moves of each control (the median is reported)")
    args = parser.parse_args(argv)

    import torch

    import colorlab

    with tempfile.TemporaryDirectory() as folder:
        reference = import_revision(args.ref, Path(folder))
        for package in (reference, colorlab):
            inline_display(importlib.import_module(package.__name__ + ".widgets"))
        with contextlib.redirect_stdout(io.StringIO()):  # each widget displays its first figure
            before, after = chapter_widgets(reference), chapter_widgets(colorlab)
        rows = compare(before, after, args.repeat)
    print(f"median of {args.repeat} moves, {args.ref} vs this tree, torch threads {torch.get_num_threads()}")
    print(f"| widget control | {args.ref} wall (ms) | new wall (ms) | wall ratio | {args.ref} CPU (ms) | new CPU (ms) "
          "| CPU ratio |\n|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        (ref_wall, ref_cpu), (new_wall, new_cpu) = row["ref"], row["new"]
        print(f"| {row['widget']} | {1000 * ref_wall:.0f} | {1000 * new_wall:.0f} | {ref_wall / new_wall:.1f}× "
              f"| {1000 * ref_cpu:.0f} | {1000 * new_cpu:.0f} | {ref_cpu / new_cpu:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
