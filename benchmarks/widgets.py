"""How long each slider of the book's widgets takes to redraw its figure.

Usage: python benchmarks/widgets.py [--repeat 5] [--format table|json]

Each widget is built with the inputs its chapter gives it, then each control is moved back and
forth ``--repeat`` times. A redraw is timed from setting the control's value to a PNG of the new
figure, rendered as the notebook's inline backend renders it (``IPython.core.pylabtools.print_figure``
with a tight bounding box at the figure's dpi): everything the kernel does before the browser gets
the image. The median redraw of each control is reported, in ms of wall-clock time and of this
process's CPU time (the second is steadier on a shared machine; the network's threads count in it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")


def chapter_widgets():
    """(name, widget) pairs, built as the chapters build them (the photos and models they use)."""
    import torch

    import colorlab as cl
    from colorlab import widgets

    rgb = cl.center_crop(cl.sample_photo("astronaut"), 256)
    classifier = cl.load_pretrained("classification")
    with torch.no_grad():
        logits = classifier(cl.normalize_l(cl.rgb_to_lab(cl.to_tensor(rgb))[:, :1]))
    yield "ch1 gamut_slice_widget", widgets.gamut_slice_widget(50)
    yield "ch2 bins_at_lightness_widget", widgets.bins_at_lightness_widget(50)
    yield "ch3 soft_encoding_widget", widgets.soft_encoding_widget(23.0, -41.0, k=5, sigma=5.0)
    yield "ch4 rebalancing_widget", widgets.rebalancing_widget(cl.imagenet_prior(), lam=0.5)
    yield "ch5 bin_distribution_widget", widgets.bin_distribution_widget(rgb, logits, (50, 12))
    yield "ch5 temperature_widget", widgets.temperature_widget(rgb, logits)
    example = cl.sample_photo("astronaut")
    yield "ch7 colorize_upload_widget", widgets.colorize_upload_widget(classifier, example, T=0.38)


def other_value(control):
    """The value one position away from the slider's current one: the next, or the previous at the end."""
    values = [value for _, value in control.options]
    return values[control.index + 1] if control.index + 1 < len(values) else values[control.index - 1]


def time_redraws(box, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds from moving each control of ``box`` to the PNG of its redrawn figure."""
    from IPython.core.pylabtools import print_figure

    from colorlab import widgets

    def render(fig):
        png = print_figure(fig, "png", bbox_inches="tight")  # what the inline backend sends to the browser
        fig.clear()
        return png

    original, widgets._png = widgets._png, render
    try:
        medians = {}
        for name, control in box.controls.items():
            start_value, wall, cpu = control.value, [], []
            for i in range(repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                with contextlib.redirect_stdout(io.StringIO()):  # printed text and terminal escapes
                    control.value = other_value(control) if i % 2 == 0 else start_value
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            with contextlib.redirect_stdout(io.StringIO()):
                control.value = start_value
            medians[name] = statistics.median(wall), statistics.median(cpu)
        return medians
    finally:
        widgets._png = original


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="redraws per control (the median is reported)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)

    import torch

    results = []
    with contextlib.redirect_stdout(io.StringIO()):  # each widget displays its first figure
        boxes = list(chapter_widgets())
    for widget, box in boxes:
        for control, (wall, cpu) in time_redraws(box, args.repeat).items():
            results.append({"widget": widget, "control": control, "redraw_ms": 1000 * wall, "cpu_ms": 1000 * cpu})
    if args.format == "json":
        print(json.dumps({"threads": torch.get_num_threads(), "repeat": args.repeat, "redraws": results}))
    else:
        print(f"median of {args.repeat} redraws, torch threads: {torch.get_num_threads()}")
        print("| widget | control | redraw (ms) | CPU (ms) |\n|---|---|---:|---:|")
        for row in results:
            print(f"| {row['widget']} | {row['control']} | {row['redraw_ms']:.0f} | {row['cpu_ms']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
