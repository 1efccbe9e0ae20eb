"""Host–device synchronisations and host-to-device copies per training step, counted in a real run of ``fit``.

    python benchmarks/step_syncs.py [--device cuda] [--steps 12] [--json OUT.json]

Runs ``colorlab.train.fit`` on the photos embedded in the dependencies (ECCV16 at width 0.25, 64² crops, batch 8,
a log line every 4 steps) and counts, inside each call of ``train_step``:

* ``syncs``: values read back to the host (``aten._local_scalar_dense``: ``.item()``, ``bool()``; and calls of
  ``Tensor.tolist``, which reads a CPU tensor without an operator) and, on CUDA, every synchronising CUDA call that ``torch.cuda.set_sync_debug_mode("warn")`` reports;
* ``host_to_device``: copies from the host to the device (``aten._to_copy``/``aten.copy_`` from a CPU tensor to a
  CUDA one) and tensors made from host data (``aten.lift_fresh``). The batch of photos itself is one such copy
  per step, made asynchronously from pinned memory; it is counted apart, as ``batch_copies``.

The first step builds the cached constants (colour matrices, lookup tables) and is reported apart. The checks of
the log steps (``check_in``) are counted too: they are where the loop is meant to wait.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from collections import Counter
from unittest import mock

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from colorlab.train import TrainConfig, fit, loop


class Counting(TorchDispatchMode):
    """Counts reads back to the host and host-to-device traffic of the operations run under it."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func)
        if name == "aten._local_scalar_dense.default":
            self.counts["syncs"] += 1
        elif name == "aten.lift_fresh.default":
            self.counts["host_to_device"] += 1
        elif name in ("aten._to_copy.default", "aten.copy_.default"):
            source = args[0] if name == "aten._to_copy.default" else args[1]
            target = kwargs.get("device") if name == "aten._to_copy.default" else args[0].device
            if isinstance(source, torch.Tensor) and source.device.type == "cpu" and target is not None \
                    and torch.device(target).type == "cuda":
                self.counts["batch_copies" if source.dtype == torch.uint8 and source.dim() == 4
                            else "host_to_device"] += 1
        return func(*args, **kwargs)


def counted(fn, records: list):
    def wrapper(*args, **kwargs):
        cuda = torch.cuda.is_available()
        real_tolist = torch.Tensor.tolist

        def tolist(tensor):
            mode.counts["syncs"] += 1
            return real_tolist(tensor)

        with warnings.catch_warnings(record=True) as caught, Counting() as mode, \
                mock.patch.object(torch.Tensor, "tolist", tolist):
            warnings.simplefilter("always")
            if cuda:
                torch.cuda.set_sync_debug_mode("warn")
            try:
                return fn(*args, **kwargs)
            finally:
                if cuda:
                    torch.cuda.set_sync_debug_mode("default")
                syncs = sum("synchroniz" in str(w.message) for w in caught)
                records.append({**{"syncs": 0, "host_to_device": 0, "batch_copies": 0}, **mode.counts,
                                "cuda_sync_warnings": syncs})

    return wrapper


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=12, help="training steps (at least 2)")
    parser.add_argument("--json", help="also write the counts to this file")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2: the first step is reported apart")
    steps, checks = [], []
    real_step, real_check_in = loop.train_step, loop.check_in
    loop.train_step, loop.check_in = counted(real_step, steps), counted(real_check_in, checks)
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            config = TrainConfig.from_dict({}, data_dir=None, width=0.25, image_size=64, batch_size=8,
                                           steps=args.steps, lr=1e-3, holdout=0.0, device=args.device, workers=2,
                                           log_every=4, checkpoint_every=args.steps, run_dir=run_dir + "/run")
            fit(config)
    finally:
        loop.train_step, loop.check_in = real_step, real_check_in
    later = steps[1:]
    totals = {key: sum(s[key] for s in later) for key in later[0]}
    result = {"device": str(config.device), "steps": len(steps), "first_step": steps[0],
              "per_step_after_the_first": {k: v / len(later) for k, v in totals.items()},
              "worst_step": max(later, key=lambda s: s["syncs"] + s["cuda_sync_warnings"] + s["host_to_device"]),
              "log_step_checks": checks}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    clean = all(s["syncs"] == s["cuda_sync_warnings"] == s["host_to_device"] == 0 for s in later)
    print("no synchronisation and no host-to-device copy but the batch's in any step after the first"
          if clean else "SOME STEPS SYNCHRONISE OR COPY FROM THE HOST (see worst_step)")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
