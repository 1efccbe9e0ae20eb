"""Training throughput of one colorlab training step: images/s and achieved TFLOP/s.

A step is what training does per batch: uint8 photos on the device → Lab, normalisation, soft encoding and
per-pixel rebalancing weights (``colorlab.prepare_batch``) → forward → rebalanced cross-entropy (or L2 for the
regression model) → backward → Adam update (the paper's β = (0.9, 0.99), weight decay 1e-3).

Three timings are printed, each over ``--steps`` steps after ``--warmup`` untimed ones:

* ``step``: the whole step on a fixed synthetic batch (smooth random colour images made on the device);
* ``model``: forward + backward + update only, on a batch prepared once (what the network costs);
* ``prepare``: ``prepare_batch`` only (what target encoding costs);

and with ``--loader samples`` or ``--loader folder`` a fourth, ``loader``: whole steps fed by a real
``torch.utils.data.DataLoader`` over ``colorlab.SamplePhotos`` or ``colorlab.ImageFolder`` (decoding and
cropping in ``--workers`` processes), which shows whether loading keeps up with the device.

Achieved TFLOP/s counts 3 × the forward FLOPs of the convolutions (``colorlab.conv_flops``: 2 × multiply-adds
plus bias additions) per image: the backward pass costs about twice the forward (gradients with respect to the
activations and to the weights). BatchNorm, ReLU, softmax, the loss and the encoding are not counted.

Examples::

    python benchmarks/train_throughput.py --model eccv16 --width 0.25 --size 176 --batch 8 --steps 5
    python benchmarks/train_throughput.py --device cuda --amp --compile --size 176 --batch 40
    python benchmarks/train_throughput.py --loader folder --data-dir PHOTOS --workers 4 --width 0.25
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch
import torch.nn.functional as F

import colorlab as cl


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="eccv16", choices=sorted(cl.models.MODELS))
    p.add_argument("--width", type=float, default=1.0, help="width multiplier (1.0: the paper's network)")
    p.add_argument("--size", type=int, default=176, help="crop side in pixels (paper: 176)")
    p.add_argument("--batch", type=int, default=40, help="images per step (paper: 40)")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    p.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation happens here)")
    p.add_argument("--loader", default="synthetic", choices=("synthetic", "samples", "folder"),
                   help="also time steps fed by a DataLoader over the sample photos or a folder")
    p.add_argument("--data-dir", help="image folder for --loader folder")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
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


class Step:
    """One training step of ``model``: loss, backward and Adam update; autocast and compile as asked."""

    def __init__(self, args, device: torch.device):
        torch.manual_seed(args.seed)
        self.model = cl.build_model(args.model, args.width).to(device).train()
        self.flops_per_image = 3 * cl.conv_flops(self.model, args.size)
        self.parameters = cl.count_parameters(self.model)
        if args.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.network = torch.compile(self.model) if args.compile else self.model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=3e-5, betas=(0.9, 0.99), weight_decay=1e-3)
        self.device = device
        self.amp = args.amp
        self.channels_last = args.channels_last
        self.class_weights = cl.rebalance_weights(cl.imagenet_prior(), cl.LAMBDA).to(device)

    def prepare(self, rgb_uint8: torch.Tensor) -> dict:
        return cl.prepare_batch(rgb_uint8, class_weights=self.class_weights)

    def update(self, batch: dict) -> torch.Tensor:
        x = batch["l_norm"]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out = self.network(x)
        if self.model.output_kind == "logits":
            loss = cl.rebalanced_cross_entropy(out, batch["index"], batch["weight"], batch["pixel_w"])
        else:
            loss = cl.regression_loss(out, batch["ab_quarter"], batch["pixel_w"])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss

    def __call__(self, rgb_uint8: torch.Tensor) -> torch.Tensor:
        return self.update(self.prepare(rgb_uint8))


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


def make_loader(args):
    if args.loader == "samples":
        dataset = cl.SamplePhotos(crop=args.size, train=True, seed=args.seed,
                                  repeat=max(1, (args.batch * (args.steps + args.warmup)) // len(cl.SAMPLE_NAMES) + 1))
    else:
        dataset = cl.ImageFolder(args.data_dir, crop=args.size, train=True, seed=args.seed)
    return torch.utils.data.DataLoader(
        dataset, batch_size=args.batch, shuffle=True, drop_last=True, num_workers=args.workers,
        pin_memory=torch.cuda.is_available(), persistent_workers=args.workers > 0,
    )


def run(args) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    step = Step(args, device)
    rgb = synthetic_photos(args.batch, args.size, device, args.seed)
    prepared = step.prepare(rgb)
    result = {
        "model": args.model, "width": args.width, "size": args.size, "batch": args.batch,
        "device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"),
        "amp": "bf16" if args.amp else "fp32", "compile": args.compile, "channels_last": args.channels_last,
        "parameters": step.parameters, "train_gflops_per_image": step.flops_per_image / 1e9,
        "torch": torch.__version__,
    }
    times = {
        "step": timed(lambda: step(rgb), args.steps, args.warmup, device),
        "model": timed(lambda: step.update(prepared), args.steps, args.warmup, device),
        "prepare": timed(lambda: step.prepare(rgb), args.steps, args.warmup, device),
    }
    if args.loader != "synthetic":
        loader = make_loader(args)
        batches = iter(loader)

        def loaded_step():
            nonlocal batches
            try:
                photos = next(batches)
            except StopIteration:
                batches = iter(loader)
                photos = next(batches)
            return step(photos.to(device, non_blocking=True))

        times["loader"] = timed(loaded_step, args.steps, args.warmup, device)
    for name, seconds in times.items():
        result[f"{name}_ms"] = 1e3 * seconds
        result[f"{name}_images_per_s"] = args.batch / seconds
        if name != "prepare":
            result[f"{name}_tflops"] = step.flops_per_image * args.batch / seconds / 1e12
    if device.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result


ROW_HEADER = (f"{'model':<10} {'width':>6} {'size':>5} {'batch':>5} {'amp':>5} {'compile':>7} "
              f"{'step img/s':>10} {'step TFLOP/s':>12} {'model img/s':>11} {'model TFLOP/s':>13} "
              f"{'prepare img/s':>13} {'peak GiB':>8}")


def format_row(r: dict) -> str:
    peak = f"{r['peak_memory_gib']:.1f}" if "peak_memory_gib" in r else "-"
    return (f"{r['model']:<10} {r['width']:>6g} {r['size']:>5} {r['batch']:>5} {r['amp']:>5} "
            f"{'yes' if r['compile'] else 'no':>7} {r['step_images_per_s']:>10.1f} {r['step_tflops']:>12.2f} "
            f"{r['model_images_per_s']:>11.1f} {r['model_tflops']:>13.2f} {r['prepare_images_per_s']:>13.1f} "
            f"{peak:>8}")


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
