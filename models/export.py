"""Export the last checkpoint of a training run as one of the book's pretrained files (float16 weights).

    python models/export.py RUN_DIR OUT.pt

The file holds the model's config, its float16 state dict and a little metadata (steps, training time, the run's
configuration), and loads with ``colorlab.load_pretrained(kind, checkpoint=OUT.pt)``.
"""

from __future__ import annotations

import sys

import colorlab as cl
from colorlab.pretrained import save_pretrained


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run_dir, out = argv
    model, checkpoint = cl.load_checkpoint(run_dir)
    meta = {
        "steps": int(checkpoint["step"]),
        "train_seconds": float(checkpoint.get("elapsed", 0.0)),
        "train_config": dict(checkpoint["config"]),
    }
    path = save_pretrained(model, out, meta)
    print(f"{path}: {cl.count_parameters(model):,} parameters, step {meta['steps']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
