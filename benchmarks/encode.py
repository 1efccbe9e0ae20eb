"""Soft encoding and Lab conversion against reference implementations, timed side by side.

    python benchmarks/encode.py [--photo astronaut] [--repeats 15] [--threads 2]

Prints the best-of-N time of each method on the pixels of one embedded photo (astronaut: 512² = 262,144 pixels)
and the ratios. References: scikit-learn's ``NearestNeighbors(algorithm="ball_tree")`` ``kneighbors`` plus the
Gaussian weighting (the authors' released code encodes this way), written into a dense (N, 313) array for the
dense comparison; ``skimage.color.rgb2lab`` for the colour conversion. Best-of-N is reported because the
machines are shared: the minimum is the least disturbed measurement of the same work.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors
from skimage import color as skcolor

import colorlab as cl


def best_time(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def ball_tree_encoding(tree: NearestNeighbors, points: np.ndarray, sigma: float, dense: bool):
    distance, index = tree.kneighbors(points)
    weight = np.exp(-(distance**2) / (2 * sigma**2))
    weight /= weight.sum(axis=1, keepdims=True)
    if not dense:
        return index, weight
    z = np.zeros((points.shape[0], cl.NUM_BINS), dtype=weight.dtype)
    np.put_along_axis(z, index, weight, axis=1)
    return z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", default="astronaut", choices=cl.SAMPLE_NAMES)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rgb_uint8 = cl.sample_photo(args.photo)
    rgb = cl.to_tensor(rgb_uint8)
    ab = cl.rgb_to_lab(rgb)[:, 1:].contiguous()
    points = ab[0].permute(1, 2, 0).reshape(-1, 2).double().numpy()
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.photo} {rgb_uint8.shape[1]}x{rgb_uint8.shape[0]} = {points.shape[0]:,} pixels, best of {args.repeats}")
    print(f"{'what':<44}{'time (ms)':>10}{'ratio':>10}")

    rgb64 = rgb_uint8.astype(np.float64) / 255.0
    t_sk = best_time(lambda: skcolor.rgb2lab(rgb64), args.repeats)
    t_ours = best_time(lambda: cl.rgb_to_lab(rgb), args.repeats)
    print(f"{'skimage.color.rgb2lab (float64)':<44}{t_sk * 1e3:>10.1f}")
    print(f"{'colorlab.rgb_to_lab (float32)':<44}{t_ours * 1e3:>10.1f}{t_sk / t_ours:>9.1f}x")

    for k in (cl.SOFT_K, 10):
        tree = NearestNeighbors(n_neighbors=k, algorithm="ball_tree").fit(cl.ab_bins(torch.float64).numpy())
        t_tree = best_time(lambda: ball_tree_encoding(tree, points, cl.SIGMA, dense=False), args.repeats)
        t_tree_dense = best_time(lambda: ball_tree_encoding(tree, points, cl.SIGMA, dense=True), args.repeats)
        t_sparse = best_time(lambda: cl.soft_encode_sparse(ab, k=k), args.repeats)
        t_dense = best_time(lambda: cl.soft_encode(ab, k=k), args.repeats)
        print(f"{f'k={k} ball tree + Gaussian weights':<44}{t_tree * 1e3:>10.1f}")
        print(f"{f'k={k} colorlab.soft_encode_sparse':<44}{t_sparse * 1e3:>10.1f}{t_tree / t_sparse:>9.1f}x")
        print(f"{f'k={k} ball tree into a dense (N, 313) array':<44}{t_tree_dense * 1e3:>10.1f}")
        print(f"{f'k={k} colorlab.soft_encode (dense)':<44}{t_dense * 1e3:>10.1f}{t_tree_dense / t_dense:>9.1f}x")

    if torch.cuda.is_available():
        device = torch.device("cuda")
        ab_gpu = ab.to(device)
        sync = torch.cuda.synchronize
        for k in (cl.SOFT_K, 10):
            t_sparse = best_time(lambda: cl.soft_encode_sparse(ab_gpu, k=k), args.repeats, sync)
            t_dense = best_time(lambda: cl.soft_encode(ab_gpu, k=k), args.repeats, sync)
            print(f"{f'k={k} soft_encode_sparse on {torch.cuda.get_device_name()}':<44}{t_sparse * 1e3:>10.2f}")
            print(f"{f'k={k} soft_encode on {torch.cuda.get_device_name()}':<44}{t_dense * 1e3:>10.2f}")


if __name__ == "__main__":
    main()
