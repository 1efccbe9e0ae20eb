"""Convert a checkpoint or model file of an earlier colorlab to the current format (version 2).

    python models/upgrade_checkpoint.py OLD.pt [NEW.pt]      # without NEW.pt, OLD.pt is replaced (atomically)

Reads the two earlier layouts: the model files of ``save_pretrained`` (format ``colorlab.pretrained/1``: ``config``,
``state_dict``, ``meta`` with ``steps``, ``train_seconds`` and ``train_config``) and the training checkpoints of
``fit`` (format ``colorlab-checkpoint``, version 1: the training configuration under ``config``, the Python, NumPy
and torch random states under ``rng``). A converted training checkpoint resumes with the fused Adam that ``fit``
now uses; the Python and NumPy random states are dropped, as ``fit`` no longer uses them. Files already in the
current format are left as they are.
"""

from __future__ import annotations

import sys

import torch

from colorlab.train.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, atomic_save, read_checkpoint


def upgrade(old: dict) -> dict:
    """The current-format dict of an earlier checkpoint or model file (``old`` as ``torch.load`` returns it)."""
    new = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION}
    if old.get("format") == "colorlab.pretrained/1":
        meta = dict(old.get("meta") or {})
        return {**new, "model_config": dict(old["config"]), "model": old["state_dict"],
                "step": int(meta.pop("steps", 0)), "elapsed": float(meta.pop("train_seconds", 0.0)),
                "train_config": meta.pop("train_config", None), "meta": meta}
    if old.get("format") == "colorlab-checkpoint" and old.get("version") == 1:
        optimizer = old["optimizer"]
        for group in optimizer["param_groups"]:
            group.update(fused=True, foreach=None)
        cuda = old["rng"].get("cuda") or []
        return {**new, "model_config": dict(old["model_config"]), "model": old["model"], "step": int(old["step"]),
                "elapsed": float(old["elapsed"]), "train_config": dict(old["config"]),
                "meta": {"torch_version": old.get("torch_version", "")}, "epoch": old["epoch"],
                "batch_in_epoch": old["batch_in_epoch"], "optimizer": optimizer, "scheduler": old["scheduler"],
                "scaler": old["scaler"], "rng": {"cpu": old["rng"]["torch"], "cuda": cuda[0] if cuda else None},
                "prior": old["prior"], "class_weights": old["class_weights"]}
    raise ValueError(f"not an earlier colorlab checkpoint (format {old.get('format')!r}, "
                     f"version {old.get('version')!r})")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv[0], argv[-1]
    old = torch.load(source, map_location="cpu", weights_only=True)
    if isinstance(old, dict) and old.get("format") == CHECKPOINT_FORMAT:
        print(f"{source}: already version {old.get('version')}")
        return 0
    atomic_save(upgrade(old), target)
    read_checkpoint(target)  # the one reader accepts the result
    print(f"{source} -> {target}: format {CHECKPOINT_FORMAT!r} version {CHECKPOINT_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
