"""Summarise pilot runs as the Markdown table of models/README.md.

    python models/pilot_table.py BASE_RUN OTHER_RUN ...

Each run folder holds the ``config.yaml`` and ``log.jsonl`` of ``colorlab train`` and the ``val.json`` of
``colorlab evaluate VAL --checkpoint RUN/checkpoint.pt --json RUN/val.json`` (see models/pilots.sh). A row gives
what the run changed against the first (base) run, its steps and wall time, and on the validation photos the
rebalanced AuC with its paired difference from the base run (mean and 95% bootstrap interval over the same
photos), the raw AuC, the PSNR and the colourfulness of its model (``class_annealed`` for classifiers,
``regression`` for the L2 model). The last rows are gray (ab = 0) and the photos' own colourfulness.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from colorlab.metrics import bootstrap_ci
from colorlab.train import read_log

#: Fields that differ between runs of different lengths without changing the recipe.
BOOKKEEPING = {"run_dir", "steps", "lr_decay_steps", "checkpoint_every", "log_every", "resume"}


def load(run: Path) -> tuple[dict, list[dict], dict]:
    config = yaml.safe_load((run / "config.yaml").read_text())
    log = read_log(run)  # the step records (a resume's record left out)
    return config, log, json.loads((run / "val.json").read_text())


def per_image(result: dict, method: str, metric: str) -> dict[str, float]:
    return {row["image"]: row[metric] for row in result["images"] if row["method"] == method}


def row(run: Path, base: tuple[dict, list[dict], dict]) -> str:
    config, log, result = load(run)
    changed = ", ".join(f"{k} = {v}" for k, v in config.items() if k not in BOOKKEEPING and v != base[0].get(k))
    method = "regression" if config["model"] == "regression" else "class_annealed"
    ours, theirs = per_image(result, method, "auc_rebal"), per_image(base[2], "class_annealed", "auc_rebal")
    diff, lo, hi = (100 * v for v in bootstrap_ci([ours[k] - theirs[k] for k in theirs]))
    m = result["methods"][method]
    return (f"| {run.name} | {changed or '(base)'} | {log[-1]['step']} | {log[-1]['time'] / 60:.0f} | {method} | "
            f"{100 * m['auc_rebal']['mean']:.1f} | {diff:+z.1f} [{lo:+z.1f}, {hi:+z.1f}] | "
            f"{100 * m['auc']['mean']:.1f} | {m['psnr']['mean']:.2f} | {m['colorfulness']['mean']:.1f} |")


def main(argv=None) -> int:
    runs = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not runs:
        print(__doc__, file=sys.stderr)
        return 2
    base = load(runs[0])
    print("| run | changed | steps | wall (min) | model | rebalanced AuC % | Δ vs base [95%] | AuC % | PSNR dB | "
          "colourfulness |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(row(run, base))
    gray = base[2]["methods"]["gray"]
    print(f"| gray | ab = 0 | | | gray | {100 * gray['auc_rebal']['mean']:.1f} | | {100 * gray['auc']['mean']:.1f} | "
          f"{gray['psnr']['mean']:.2f} | {gray['colorfulness']['mean']:.1f} |")
    print(f"| photos | | | | ground truth | | | | | {base[2]['ground_truth']['colorfulness']['mean']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
