"""Export a checkpoint of a training run as one of the book's model files (float16 weights).

    python models/export.py RUN_DIR OUT.pt                  # the run's last checkpoint
    python models/export.py RUN_DIR/weights-STEP.pt OUT.pt  # a kept step (colorlab train --keep-every)

The file is a colorlab checkpoint without the training state (colorlab.train.checkpoint): the model's config, its
float16 weights, and how it was trained (steps, training time, the run's configuration). It loads with
``colorlab.load_pretrained(kind, checkpoint=OUT.pt)``.
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
    path = save_pretrained(model, out, checkpoint["meta"], step=checkpoint["step"], elapsed=checkpoint["elapsed"],
                           train_config=checkpoint["train_config"])
    print(f"{path}: {cl.count_parameters(model):,} parameters, step {checkpoint['step']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
