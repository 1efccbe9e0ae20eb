"""The held-out loss of every kept step of a training run, and the step with the lowest: where the run stops.

    python models/stopping_loss.py RUN_DIR STOP_DIR [--size 176] [--json losses.json]

RUN_DIR is a run of ``colorlab train --keep-every N``: its ``weights-STEP.pt`` files, and its ``checkpoint.pt``,
whose class weights (the rebalancing of the run's prior) the classifier's loss uses. STOP_DIR holds photos kept
out of training and out of validation (``split_photos.py --stop-fraction``). Each photo's central square,
resized to SIZE pixels, is scored with the run's own training loss (rebalanced cross-entropy, or L2 for the
regression model); the mean over the photos and its standard error are printed per step. Choosing the step on
these photos leaves the validation photos for the final evaluation alone. With ``--json``, a later call
scores only the steps kept since, so it can follow a run that is still training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from colorlab.data import center_crop, list_images, load_rgb
from colorlab.loss import prepare_batch
from colorlab.train import load_checkpoint, read_checkpoint
from colorlab.train.loop import loss_of


def load_photos(stop_dir: Path, size: int) -> torch.Tensor:
    """(N, 3, size, size) uint8: the central square of every photo under ``stop_dir``."""
    crops = [center_crop(load_rgb(path), size) for path in list_images(stop_dir)]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def photo_losses(weights: Path, photos: torch.Tensor, class_weights: torch.Tensor, config: dict) -> np.ndarray:
    """(N,) the training loss of the weights in ``weights`` on each photo (NaN for a grey photo, weight 0)."""
    model, _ = load_checkpoint(weights)
    losses = []
    for rgb in photos.split(1):
        batch = prepare_batch(rgb, k=config["k"], sigma=config["sigma"], class_weights=class_weights)
        out = model(batch["l_norm"])
        losses.append(loss_of(model, out.float(), batch).item() if batch["pixel_w"].sum() > 0 else np.nan)
    return np.array(losses)


def earlier_results(path: Path | None, n_photos: int) -> dict[int, np.ndarray]:
    """The per-photo losses an earlier call wrote to ``path`` (steps it scored are not scored again)."""
    if path is None or not path.is_file():
        return {}
    earlier = {int(step): np.array(v, dtype=float) for step, v in json.loads(path.read_text()).items()}
    return {step: losses for step, losses in earlier.items() if len(losses) == n_photos}


def write_results(path: Path, results: dict[int, np.ndarray]) -> None:
    """Write ``{step: [loss per photo, null for a grey photo]}`` to ``path``."""
    path.write_text(json.dumps({str(step): [None if np.isnan(v) else v for v in losses.tolist()]
                                for step, losses in sorted(results.items())}, indent=1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("stop_dir", type=Path)
    parser.add_argument("--size", type=int, default=176, help="side of the photos' central squares (pixels)")
    parser.add_argument("--json", type=Path,
                        help="also write {step: [loss per photo]} here; steps already in it are not scored again")
    args = parser.parse_args(argv)
    kept = sorted(args.run_dir.glob("weights-*.pt"))
    if not kept:
        print(f"error: no weights-STEP.pt in {args.run_dir} (train with --keep-every N)", file=sys.stderr)
        return 2
    run = read_checkpoint(args.run_dir / "checkpoint.pt")
    photos = load_photos(args.stop_dir, args.size)
    results = earlier_results(args.json, len(photos))
    for path in kept:
        step = int(path.stem.split("-")[1])
        if step not in results:
            results[step] = photo_losses(path, photos, run["class_weights"], run["train_config"])
            if args.json:  # after every step, so that an interrupted call loses nothing
                write_results(args.json, results)
        losses = results[step]
        valid = losses[np.isfinite(losses)]
        print(f"step {step:6d}  held-out loss {valid.mean():.4f} ± {valid.std(ddof=1) / np.sqrt(len(valid)):.4f}"
              f"  ({len(valid)} photos)", flush=True)
    best = min(results, key=lambda s: np.nanmean(results[s]))
    print(f"lowest held-out loss: step {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
