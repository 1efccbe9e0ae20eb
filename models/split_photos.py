"""Split a photo folder with a manifest into train/ and val/ folders by source group, for the book's models.

    python models/split_photos.py PHOTO_DIR OUT_DIR [--val-fraction 0.12] [--stop-fraction 0.1]
        [--train-fraction 1.0] [--seed 0]

PHOTO_DIR holds ``manifest.csv`` with at least the columns ``file``, ``package`` and ``source_group``. Photos
that share a ``source_group`` (the same scene or source picture) land on the same side, so validation never
sees a near-copy of a training photo. Rows whose ``package`` starts with ``PyPI:`` are left out of both sides:
they are the photos that ship inside colorlab's dependencies, which the book evaluates on. OUT_DIR receives
``train/`` and ``val/`` with symbolic links to the photos, and ``split.csv`` listing every file and its side.
With ``--stop-fraction``, that fraction of the training side's photos (again whole groups) goes to ``stop/``
instead: photos kept out of training to choose the step a run stops at by its held-out loss
(``models/stopping_loss.py``), so that the validation photos are used for nothing but the final evaluation.
With ``--train-fraction`` below 1, only that fraction of what is left on the training side (whole groups) is
linked into ``train/``; the rest is listed as "unused": the validation and stopping photos stay exactly those of
the full split, so runs on fewer photos are compared on the same photos.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from pathlib import Path


def split_groups(rows: list[dict], val_fraction: float, seed: int) -> dict[str, str]:
    """Map each file to "train" or "val": whole groups, shuffled with ``seed``, fill val up to the fraction."""
    groups: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        groups[row["source_group"]].append(row["file"])
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    target = round(val_fraction * len(rows))
    side, in_val = {}, 0
    for group in order:
        goes_to_val = in_val < target
        in_val += len(groups[group]) if goes_to_val else 0
        for file in groups[group]:
            side[file] = "val" if goes_to_val else "train"
    return side


def take_from_training(rows: list[dict], side: dict[str, str], fraction: float, seed: int, to: str) -> None:
    """Move ``fraction`` of the photos now on the training side of ``side`` (whole groups) to side ``to``."""
    train_rows = [row for row in rows if side[row["file"]] == "train"]
    taken = split_groups(train_rows, fraction, seed)
    side.update((file, to) for file, where in taken.items() if where == "val")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--val-fraction", type=float, default=0.12)
    parser.add_argument("--stop-fraction", type=float, default=0.0,
                        help="fraction of the training side kept out for choosing the step (0: none)")
    parser.add_argument("--train-fraction", type=float, default=1.0,
                        help="fraction of the training photos to keep (1: all), to measure what more photos bring")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0 < args.train_fraction <= 1:
        parser.error(f"--train-fraction must be in (0, 1]; got {args.train_fraction}")
    manifest = args.photo_dir / "manifest.csv"
    if not manifest.is_file():
        print(f"error: {manifest} not found", file=sys.stderr)
        return 2
    with manifest.open(newline="") as f:
        rows = [row for row in csv.DictReader(f) if not row["package"].startswith("PyPI:")]
    side = split_groups(rows, args.val_fraction, args.seed)
    if args.stop_fraction > 0:
        take_from_training(rows, side, args.stop_fraction, args.seed, "stop")
    if args.train_fraction < 1:
        take_from_training(rows, side, 1 - args.train_fraction, args.seed, "unused")
    names = ("train", "stop", "val") if args.stop_fraction > 0 else ("train", "val")
    for name in names:
        (args.out_dir / name).mkdir(parents=True, exist_ok=True)
    for file, where in side.items():
        if where == "unused":
            continue
        link = args.out_dir / where / Path(file).name
        if not link.exists():
            link.symlink_to((args.photo_dir / file).resolve())
    with (args.out_dir / "split.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "side"])
        writer.writerows(sorted(side.items()))
    for name in names:
        count = sum(1 for v in side.values() if v == name)
        groups = len({r["source_group"] for r in rows if side[r["file"]] == name})
        print(f"{name}: {count} photos in {groups} groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
