"""Size, accuracy and speed of the browser graph (``colorlab export-onnx``) at each kernel precision.

    python benchmarks/web_precision.py [--checkpoint PATH] [--widths 0.5 1.0] [--repeats 5]

The classification model (the committed one unless ``--checkpoint``) is exported once, then stored at each
precision of ``colorlab.web.PRECISIONS``. For each: the file size; the worst, over the 8 embedded photos, of the
per-channel mean and max absolute difference from ``colorlab.colorize_rgb`` at T = 0.38, 1 and 0.1 (8-bit
levels; the tests allow ``PARITY_MEAN`` and ``PARITY_MAX``); and the median time onnxruntime takes on the
512 × 512 astronaut on one CPU thread, next to ``colorize_rgb`` on one thread in the same run (the browser runs
WebAssembly on one thread). ``--widths`` also exports ECCV16 at those widths, with random weights, for the file
sizes alone.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnx
import onnxruntime
import torch

import colorlab as cl
from colorlab import web

TEMPERATURES = (0.38, 1.0, 0.1)


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _stored(traced, precision: str) -> bytes:
    proto = onnx.ModelProto()
    proto.CopyFrom(traced)
    return web._store_kernels(proto, precision).SerializeToString()


def _session(data: bytes):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a classification model file (default: the committed one)")
    parser.add_argument("--widths", type=float, nargs="*", default=[0.5, 1.0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    model = cl.load_pretrained("classification", checkpoint=args.checkpoint)
    photos = cl.sample_photos()
    references = {T: {n: cl.colorize_rgb(model, rgb, T) for n, rgb in photos.items()} for T in TEMPERATURES}
    astronaut = photos["astronaut"]
    torch_s = _median_time(lambda: cl.colorize_rgb(model, astronaut), args.repeats)
    traced = web._trace(model, cl.models.PREDICT_SIZE)

    print(f"model: {model.config}, {cl.count_parameters(model):,} parameters")
    print(f"colorlab.colorize_rgb, 512 × 512, one thread: {torch_s * 1e3:.0f} ms (median of {args.repeats})")
    print("| kernels | file (bytes) | " + " | ".join(f"T = {T:g}: mean / max" for T in TEMPERATURES)
          + " | onnxruntime, 512², 1 thread | vs colorize_rgb |")
    print("|---|---:|" + "---|" * len(TEMPERATURES) + "---:|---:|")
    for precision in web.PRECISIONS:
        data = _stored(traced, precision)
        session = _session(data)
        cells = []
        for T in TEMPERATURES:
            means, largest = [], []
            for name, rgb in photos.items():
                mean, most, _ = web.parity(web.colorize_onnx(session, rgb, T)[0], references[T][name])
                means.append(mean)
                largest.append(most)
            cells.append(f"{np.max(means, axis=0).round(2).tolist()} / {np.max(largest, axis=0).tolist()}")
        onnx_s = _median_time(lambda: web.colorize_onnx(session, astronaut), args.repeats)
        print(f"| {precision} | {len(data):,} | " + " | ".join(cells)
              + f" | {onnx_s * 1e3:.0f} ms | {onnx_s / torch_s:.2f}× |")

    for width in args.widths:
        torch.manual_seed(0)
        traced = web._trace(cl.build_model("eccv16", width).eval(), cl.models.PREDICT_SIZE)
        sizes = {p: len(_stored(traced, p)) for p in web.PRECISIONS}
        print(f"ECCV16 width {width:g} (random weights): "
              + ", ".join(f"{p} {size:,} bytes" for p, size in sizes.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
