"""Time of colorizing one photo at full resolution, and of evaluating one photo with every method.

    python benchmarks/colorize.py [--side 512] [--widths 0.25 1.0] [--device cpu] [--repeats 5] [--threads N]

For each width: the median wall time of ``colorlab.colorize_rgb`` on a ``side`` × ``side`` photo (Lab conversion,
resize to 256 on the shorter side, the network, decoding, upsampling ab, back to sRGB), the share of it spent in the
network's forward pass alone, and the time ``colorlab.evaluate_images`` needs per photo for the five methods and
five metrics at 256² (bootstrap excluded). The weights are random: the time does not depend on them.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

import colorlab as cl
from colorlab.evaluate import evaluate_images
from colorlab.models import PREDICT_SIZE, normalize_l, prediction_shape


def _median_time(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up: allocations, lazy tables, CUDA kernels
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=512, help="side of the square photo (default 512)")
    parser.add_argument("--widths", type=float, nargs="+", default=[0.25, 1.0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rgb = cl.center_crop(cl.sample_photo("astronaut"), args.side)
    photo = {"astronaut": rgb}
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, device {device}, photo {args.side}x{args.side}, median of {args.repeats}")
    print(f"{'width':>6} {'parameters':>11} {'colorize s':>11} {'forward s':>10} {'evaluate s/photo':>17}")
    for width in args.widths:
        torch.manual_seed(0)
        classifier = cl.build_model("eccv16", width).to(device).eval()
        regressor = cl.build_model("regression", width).to(device).eval()
        colorize = _median_time(lambda: cl.colorize_rgb(classifier, rgb), args.repeats, device)
        l = torch.rand(1, 1, *prediction_shape(args.side, args.side, PREDICT_SIZE), device=device) * 100

        def forward():
            with torch.no_grad():
                classifier(normalize_l(l))

        network = _median_time(forward, args.repeats, device)
        evaluate = _median_time(lambda: evaluate_images(photo, classifier, regressor, bootstrap=1),
                                max(1, args.repeats // 2), device)
        print(f"{width:>6g} {cl.count_parameters(classifier):>11,} {colorize:>11.3f} {network:>10.3f} "
              f"{evaluate:>17.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
