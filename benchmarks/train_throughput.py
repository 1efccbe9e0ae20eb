"""Training throughput of one colorlab training step: images/s and achieved TFLOP/s; and the loader's decoding rate.

A step is :func:`colorlab.train.loop.train_step`, exactly as ``fit`` runs it: uint8 photos on the device → Lab,
normalisation, soft encoding and per-pixel rebalancing weights (``colorlab.prepare_batch``) → forward (autocast
and channels_last as asked) → rebalanced cross-entropy (or L2 for the regression model) → backward → fused Adam
(the paper's β = (0.9, 0.99), weight decay 1e-3). Timings, each over ``--steps`` steps after ``--warmup``
untimed ones:

* ``step``: the whole step on a fixed synthetic batch (smooth random colour images made on the device);
* ``model``: forward + backward + update only, on a batch prepared once (what the network costs);
* ``prepare``: ``prepare_batch`` only (what target encoding costs);
* with ``--loader samples`` or ``--loader folder``, ``loader``: whole steps fed by a real DataLoader over
  ``colorlab.SamplePhotos`` or ``colorlab.ImageFolder`` (decoding and cropping in ``--workers`` processes, as
  ``fit`` builds it), which shows whether loading keeps up with the device.

``--loader folder`` also measures what one loader worker decodes per second (images/s per worker: the DataLoader
runs ``--workers`` of them), in this process, over the same files, best of ``--decode-rounds`` rounds:

* ``before``: the earlier item pipeline, ``random_resized_crop(load_rgb(path))`` (a full decode, full-size copies);
* ``after``: ``ImageFolder`` items now (:func:`colorlab.data.load_crop`: crop on the decoded image, JPEG draft);
* ``prepared``: the same on the files after ``colorlab prepare --short-side 256`` (``--prepared-dir``, or made in a
  temporary folder).

``--compare-channels-last`` times the ``model`` part in both memory formats, alternating, in one run.

Achieved TFLOP/s counts 3 × the forward FLOPs of the convolutions (``colorlab.conv_flops``: 2 × multiply-adds
plus bias additions) per image: the backward pass costs about twice the forward (gradients with respect to the
activations and to the weights). BatchNorm, ReLU, softmax, the loss and the encoding are not counted.

Examples::

    python benchmarks/train_throughput.py --model eccv16 --width 0.25 --size 176 --batch 8 --steps 5
    python benchmarks/train_throughput.py --device cuda --amp --channels-last --compile --size 176 --batch 40
    python benchmarks/train_throughput.py --loader folder --data-dir ../shared/photos/train --workers 1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import colorlab as cl
from colorlab.prepare import prepare_folder
from colorlab.train import TrainConfig, loop, runtime
from colorlab.train.loader import make_loader, shutdown_workers


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="eccv16", choices=sorted(cl.models.MODELS))
    p.add_argument("--width", type=float, default=1.0, help="width multiplier (1.0: the paper's network)")
    p.add_argument("--size", type=int, default=176, help="crop side in pixels (paper: 176)")
    p.add_argument("--batch", type=int, default=40, help="images per step (paper: 40)")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA (fp16 where bf16 is not native)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    p.add_argument("--compare-channels-last", action="store_true",
                   help="time the model part with and without channels_last, alternating")
    p.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation happens here)")
    p.add_argument("--loader", default="synthetic", choices=("synthetic", "samples", "folder"),
                   help="also time steps fed by a DataLoader over the sample photos or a folder")
    p.add_argument("--data-dir", help="image folder for --loader folder")
    p.add_argument("--prepared-dir", help="--data-dir after `colorlab prepare` (default: prepared into a temporary "
                                          "folder)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    p.add_argument("--decode-rounds", type=int, default=3,
                   help="rounds of the per-worker decoding measurement (0: none)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--format", default="text", choices=("text", "json", "row"),
                   help="text: a report; json: one JSON object; row: one table row (see benchmarks/gpu.sh)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.loader == "folder" and not args.data_dir:
        p.error("--loader folder needs --data-dir")
    if args.size % cl.models.SIZE_MULTIPLE:
        p.error(f"--size must be a multiple of {cl.models.SIZE_MULTIPLE}")
    return args


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic_photos(batch: int, size: int, device: torch.device, seed: int) -> torch.Tensor:
    """(batch, 3, size, size) uint8 smooth random colour images, made on ``device``."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    coarse = torch.rand(batch, 3, max(size // 16, 2), max(size // 16, 2), generator=g)
    rgb = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    return (rgb * 255).round().to(torch.uint8).to(device)


def config_of(args, channels_last: bool | None = None) -> TrainConfig:
    """The TrainConfig of the measured step (the paper's optimiser, the ImageNet prior)."""
    return TrainConfig(
        model=args.model, width=args.width, image_size=args.size, batch_size=args.batch, device=args.device,
        amp="bf16" if args.amp else "off", compile=args.compile, seed=args.seed, prior="imagenet",
        channels_last=args.channels_last if channels_last is None else channels_last, workers=args.workers,
        data_dir=args.data_dir if args.loader == "folder" else None,
    )


def new_state(config: TrainConfig, run: runtime.Runtime) -> loop.TrainState:
    """A fresh training state, as ``fit`` builds it (the data set is not needed with the ImageNet prior)."""
    return loop.new_state(config, run, None, steps_per_epoch=10**9, checkpoint=None)


def step(state: loop.TrainState, rgb: torch.Tensor) -> None:
    loop.train_step(state, rgb)
    state.window = 0  # the losses are never checked here


def update(state: loop.TrainState, batch: dict) -> None:
    """Forward, backward and update on a prepared batch: train_step without prepare_batch."""
    with state.runtime.autocast():
        out = state.network(batch["l_norm"].contiguous(memory_format=state.memory_format))
    loss = loop.loss_of(state.model, out.float(), batch)
    state.optimizer.zero_grad(set_to_none=True)
    state.scaler.scale(loss).backward()
    state.scaler.step(state.optimizer)
    state.scaler.update()


def timed(fn, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per call of ``fn()`` averaged over ``steps`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def loaded_step_fn(args, config: TrainConfig, run: runtime.Runtime, state: loop.TrainState):
    """A step fed by the DataLoader fit builds (persistent workers, pinned memory on CUDA), and that loader."""
    if args.loader == "samples":
        dataset = cl.SamplePhotos(crop=args.size, train=True, seed=args.seed,
                                  repeat=max(1, (args.batch * (args.steps + args.warmup)) // len(cl.SAMPLE_NAMES) + 1))
    else:
        dataset = cl.ImageFolder(args.data_dir, crop=args.size, train=True, seed=args.seed)
    loader, _ = make_loader(config, run, dataset)
    batches = iter(loader)

    def loaded_step():
        nonlocal batches
        try:
            photos = next(batches)
        except StopIteration:
            batches = iter(loader)
            photos = next(batches)
        step(state, photos)

    return loaded_step, loader


def decode_rates(args) -> dict[str, float]:
    """Images/s that one loader worker makes from the files of ``--data-dir``: before, after, and prepared."""
    folder = cl.ImageFolder(args.data_dir, crop=args.size, train=True, seed=args.seed)
    with contextlib.ExitStack() as stack:
        prepared_dir = args.prepared_dir
        if prepared_dir is None:
            prepared_dir = stack.enter_context(tempfile.TemporaryDirectory())
            prepare_folder(args.data_dir, prepared_dir, 256, progress=False)
        prepared = cl.ImageFolder(prepared_dir, crop=args.size, train=True, seed=args.seed)

        def before():
            for i, path in enumerate(folder.paths):
                rng = folder.item_rng(i)
                crop = cl.random_hflip(cl.random_resized_crop(cl.load_rgb(path), args.size, rng), rng)
                torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))

        def items(data_set):
            return lambda: [data_set[i] for i in range(len(data_set))]

        kinds = {"before": (before, len(folder)), "after": (items(folder), len(folder)),
                 "prepared": (items(prepared), len(prepared))}
        for fn, _ in kinds.values():  # once untimed: the files come into the page cache
            fn()
        best = {name: float("inf") for name in kinds}
        for _ in range(args.decode_rounds):  # alternating, so that the machine's load hits all three alike
            for name, (fn, _) in kinds.items():
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
        return {name: count / best[name] for name, (_, count) in kinds.items()} | {"decode_files": len(folder)}


def compare_channels_last(args, run: runtime.Runtime, rgb: torch.Tensor) -> dict[str, float]:
    """Seconds per model step in each memory format, best of alternating rounds (same weights, same batch)."""
    states = {fmt: new_state(config_of(args, channels_last=fmt == "channels_last"), run)
              for fmt in ("contiguous", "channels_last")}
    batch = cl.prepare_batch(rgb, class_weights=states["contiguous"].device_weights)
    best = {fmt: float("inf") for fmt in states}
    for _ in range(3):
        for fmt, state in states.items():
            best[fmt] = min(best[fmt], timed(lambda: update(state, batch), args.steps, args.warmup, run.device))
    return {f"model_{fmt}_ms": 1e3 * seconds for fmt, seconds in best.items()}


def run(args) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = config_of(args)
    with runtime.start_runtime(config) as rt:
        device = rt.device
        state = new_state(config, rt)
        flops_per_image = 3 * cl.conv_flops(state.model, args.size)
        rgb = synthetic_photos(args.batch, args.size, device, args.seed)
        prepared = cl.prepare_batch(rgb, class_weights=state.device_weights)
        result = {
            "model": args.model, "width": args.width, "size": args.size, "batch": args.batch,
            "device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                       else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"),
            "amp": {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[rt.autocast_dtype],
            "compile": args.compile, "channels_last": args.channels_last,
            "parameters": cl.count_parameters(state.model), "train_gflops_per_image": flops_per_image / 1e9,
            "torch": torch.__version__,
        }
        times = {
            "step": timed(lambda: step(state, rgb), args.steps, args.warmup, device),
            "model": timed(lambda: update(state, prepared), args.steps, args.warmup, device),
            "prepare": timed(lambda: cl.prepare_batch(rgb, class_weights=state.device_weights), args.steps,
                             args.warmup, device),
        }
        if args.loader != "synthetic":
            loaded_step, loader = loaded_step_fn(args, config, rt, state)
            times["loader"] = timed(loaded_step, args.steps, args.warmup, device)
            shutdown_workers(loader)  # its workers ignore SIGTERM, which Python's exit would send them
        for name, seconds in times.items():
            result[f"{name}_ms"] = 1e3 * seconds
            result[f"{name}_images_per_s"] = args.batch / seconds
            if name != "prepare":
                result[f"{name}_tflops"] = flops_per_image * args.batch / seconds / 1e12
        if device.type == "cuda":
            result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        if args.compare_channels_last:
            result.update(compare_channels_last(args, rt, rgb))
    if args.loader == "folder" and args.decode_rounds > 0:
        result.update({f"decode_{k}_images_per_s" if k != "decode_files" else k: v
                       for k, v in decode_rates(args).items()})
    return result


ROW_HEADER = (f"{'model':<10} {'width':>6} {'size':>5} {'batch':>5} {'amp':>5} {'compile':>7} "
              f"{'step img/s':>10} {'step TFLOP/s':>12} {'model img/s':>11} {'model TFLOP/s':>13} "
              f"{'prepare img/s':>13} {'loader img/s':>12} {'peak GiB':>8}")


def format_row(r: dict) -> str:
    peak = f"{r['peak_memory_gib']:.1f}" if "peak_memory_gib" in r else "-"
    loader = f"{r['loader_images_per_s']:.1f}" if "loader_images_per_s" in r else "-"
    return (f"{r['model']:<10} {r['width']:>6g} {r['size']:>5} {r['batch']:>5} {r['amp']:>5} "
            f"{'yes' if r['compile'] else 'no':>7} {r['step_images_per_s']:>10.1f} {r['step_tflops']:>12.2f} "
            f"{r['model_images_per_s']:>11.1f} {r['model_tflops']:>13.2f} {r['prepare_images_per_s']:>13.1f} "
            f"{loader:>12} {peak:>8}")


def format_text(r: dict, args) -> str:
    lines = [
        f"{r['model']} width {r['width']:g} ({r['parameters']:,} parameters), {r['size']}² crops, batch {r['batch']}, "
        f"{r['amp']}, compile {'on' if r['compile'] else 'off'}, channels_last {'on' if r['channels_last'] else 'off'}",
        f"device: {r['device']}, torch {r['torch']}",
        f"FLOPs per training image: {r['train_gflops_per_image']:.2f} G (3 × forward convolution FLOPs)",
        f"timed {args.steps} steps after {args.warmup} warm-up steps:",
    ]
    labels = {
        "step": "whole step, synthetic batch",
        "model": "forward + backward + Adam",
        "prepare": "prepare_batch (Lab, soft encoding, weights)",
        "loader": f"whole step fed by the DataLoader ({args.loader}, {args.workers} workers)",
    }
    for name, label in labels.items():
        if f"{name}_ms" not in r:
            continue
        tflops = f", {r[f'{name}_tflops']:.3f} TFLOP/s" if f"{name}_tflops" in r else ""
        lines.append(f"  {label:<58} {r[f'{name}_ms']:9.1f} ms  {r[f'{name}_images_per_s']:8.1f} images/s{tflops}")
    if "model_contiguous_ms" in r:
        a, b = r["model_contiguous_ms"], r["model_channels_last_ms"]
        lines.append(f"forward + backward + Adam, best of 3 alternating rounds: contiguous {a:.1f} ms, "
                     f"channels_last {b:.1f} ms ({a / b:.2f}x)")
    if "decode_after_images_per_s" in r:
        before, after, prep = (r[f"decode_{k}_images_per_s"] for k in ("before", "after", "prepared"))
        lines.append(f"one loader worker, {r['decode_files']} files of {args.data_dir}, {args.size}² crops, best of "
                     f"{args.decode_rounds} rounds: before {before:.1f} images/s, after {after:.1f} "
                     f"({after / before:.2f}x), prepared (short side 256) {prep:.1f} ({prep / before:.2f}x)")
    if "peak_memory_gib" in r:
        lines.append(f"peak device memory: {r['peak_memory_gib']:.2f} GiB")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    if args.format == "json":
        print(json.dumps(result))
    elif args.format == "row":
        print(format_row(result))
    else:
        print(format_text(result, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
