"""The authors' released ECCV16 weights, read into a colorlab checkpoint.

Zhang, Isola & Efros publish their network's weights for PyTorch (BSD-2-Clause) with their repository
richzhang/colorization: :data:`AUTHORS_URL`, the file ``colorizers/eccv16.py`` loads (function ``eccv16``,
line 104, commit 4bda68f). :func:`import_authors_weights` turns that file into a colorlab checkpoint (the format
of :func:`colorlab.save_pretrained`, read by :func:`colorlab.load_model` and ``load_pretrained(checkpoint=...)``)
of :class:`colorlab.models.ECCV16` at width 1.

Their layout (``colorizers/eccv16.py``, lines 13–85): eight ``nn.Sequential`` blocks ``model1`` … ``model8``,
numbered child by child as colorlab's ``blocks.conv1`` … ``blocks.conv8``: convolutions at even indices, each
followed by a ReLU, and BatchNorm last in ``model1``–``model7`` (index 4 in the blocks of two convolutions, 6 in
those of three). So ``modelK.i`` is colorlab's ``blocks.convK.i``, except that ``model8`` also holds the 313-way 1×1
convolution, at index 6 (line 72), which is colorlab's ``blocks.out``. Then ``model_out``, a 1×1 convolution 313 → 2
without bias (weight 2 × 313 × 1 × 1) applied to the softmax, whose output is upsampled ×4 (bilinear) and multiplied
by 110 (``unnormalize_ab``, ``base_color.py`` line 23). Its weight is the decoding by the bin centres, which
colorlab keeps as a fixed table: the importer checks that it is the 313 centres in colorlab's order (the order of
the authors' ``pts_in_hull.npy``) up to a scale, and drops it. L enters as (L − 50) / 100 (``normalize_l``,
``base_color.py`` lines 9–14), as in colorlab.

The temperature. Their forward pass (``eccv16.py`` lines 83 and 96) applies a plain ``nn.Softmax`` to ``model8``'s
output and takes the expectation over the bins with ``model_out``: the mean of the distribution, T = 1, with no
annealing. Their Caffe deploy network (``models/colorization_deploy_v2.prototxt``) instead multiplies the 313-way
convolution's output by 2.606 (Scale layer ``conv8_313_rh``) before the softmax, i.e. T = 1/2.606 ≈ 0.384
(:data:`colorlab.T_DEPLOY`). Neither their PyTorch code nor the prototxt says whether the PyTorch weights fold that
2.606 into ``model8.6``; only the released file (compared with the Caffe one) could, and no layer of their PyTorch
network carries it. So: the imported model decoded at :data:`AUTHORS_T` = 1 reproduces their PyTorch demo exactly
(whatever the weights hold); whether that is also the Caffe demo's annealed mean cannot be read off the PyTorch file
alone. A scale folded into ``model_out`` instead (it would multiply every ab) is detected and reported as
``ab_scale``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from ._atomic import writable_file
from .bins import NUM_BINS, ab_bins
from .models import AB_SCALE, ECCV16
from .train.checkpoint import CheckpointError, _load, atomic_save, model_checkpoint

__all__ = [
    "AUTHORS_URL",
    "AUTHORS_FILE",
    "AUTHORS_T",
    "HOW_TO_IMPORT",
    "authors_layout",
    "import_authors_weights",
]

#: Where the authors publish their PyTorch ECCV16 weights (``colorizers/eccv16.py`` line 104, richzhang/colorization).
AUTHORS_URL = "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth"
#: The file's name; torch hub's convention puts the first 8 hex digits of its SHA-256 after the dash.
AUTHORS_FILE = "colorization_release_v2-9b330a0b.pth"
#: Temperature that reproduces the authors' PyTorch demo: a plain softmax, then the mean (``eccv16.py`` line 96).
AUTHORS_T = 1.0
#: One line on getting and importing the weights, for the chapters that show them when given.
HOW_TO_IMPORT = (f"The authors' weights: download {AUTHORS_URL}, run `colorlab import-weights {AUTHORS_FILE} -o "
                 "authors-eccv16.pt` and set authors_weights = \"authors-eccv16.pt\" (papermill: -p authors_weights "
                 "authors-eccv16.pt)")
#: The authors' decoding layer (not part of colorlab's model) and its shape.
_DECODER, _DECODER_SHAPE = "model_out.weight", (2, NUM_BINS, 1, 1)
#: Largest deviation of ``model_out.weight`` from scaled bin centres, relative to the largest centre.
_BIN_TOLERANCE = 1e-3
#: BatchNorm's counter of training batches: absent from files saved before PyTorch 0.4.1, unused in eval mode.
_COUNTER = "num_batches_tracked"


def _authors_name(colorlab_name: str) -> str:
    """``blocks.convK.rest`` → ``modelK.rest``; ``blocks.out.rest`` → ``model8.6.rest``."""
    block, rest = colorlab_name.removeprefix("blocks.").split(".", 1)
    return f"model8.6.{rest}" if block == "out" else f"model{block.removeprefix('conv')}.{rest}"


def _colorlab_layout() -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor of :class:`ECCV16` at width 1 (built on the meta device: no memory)."""
    with torch.device("meta"):
        model = ECCV16(width=1.0)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def authors_layout() -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor of the authors' ECCV16 state dict, in their order: 82 entries, the 81 of
    colorlab's ECCV16 under the authors' names (the 7 ``num_batches_tracked`` counters among them) and
    ``model_out.weight`` (2, 313, 1, 1)."""
    layout = {_authors_name(name): shape for name, shape in _colorlab_layout().items()}
    return {**layout, _DECODER: _DECODER_SHAPE}


def _state_dict(obj, where: str) -> dict[str, torch.Tensor]:
    """The file's object as a bare state dict, or a one-line :class:`CheckpointError`."""
    if isinstance(obj, dict) and obj.get("format") == "colorlab.checkpoint":
        raise CheckpointError(f"{where} is already a colorlab checkpoint; load it with colorlab.load_model")
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        kind = type(obj).__name__ if not isinstance(obj, dict) else "dict that is not a state dict of tensors"
        raise CheckpointError(f"{where} holds a {kind}, not the authors' ECCV16 state dict ({AUTHORS_FILE})")
    return obj


def _check_layout(state: dict[str, torch.Tensor], where: str) -> None:
    """Every name and shape of :func:`authors_layout`, nothing else (the BatchNorm counters may be absent)."""
    layout = authors_layout()
    missing = [k for k in layout if k not in state and not k.endswith(_COUNTER)]
    unexpected = [k for k in state if k not in layout]
    for problem, names in (("misses", missing), ("has unexpected", unexpected)):
        if names:
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            raise CheckpointError(f"{where} is not the authors' ECCV16 state dict: it {problem} key(s) {shown}")
    for name, tensor in state.items():
        if tuple(tensor.shape) != layout[name]:
            raise CheckpointError(f"{where}: {name} has shape {tuple(tensor.shape)}; the authors' ECCV16 has "
                                  f"{layout[name]}")
        if not name.endswith(_COUNTER) and not (tensor.is_floating_point() and torch.isfinite(tensor).all()):
            raise CheckpointError(f"{where}: {name} must hold finite floating-point numbers ({tensor.dtype})")


def _decoder_scale(weight: torch.Tensor, where: str) -> float:
    """The scale s with ``model_out.weight[:, q] = s · centre_q / 110`` for every bin q (1 when the weight is
    exactly the centres over 110, as the authors' ×110 un-normalisation needs); refuses anything else."""
    w = weight.detach().double()[:, :, 0, 0].T  # (313, 2)
    centres = ab_bins().double() / AB_SCALE
    s = float((w * centres).sum() / (centres * centres).sum())
    deviation = (w - s * centres).abs().amax(dim=1)
    worst = int(deviation.argmax())
    if not s > 0 or deviation[worst] > _BIN_TOLERANCE * abs(s) * centres.abs().max():
        a, b = (w[worst] * AB_SCALE).tolist()
        raise CheckpointError(f"{where}: {_DECODER} is not the 313 ab bin centres in colorlab's order up to a "
                              f"scale (bin {worst} holds ({a:.1f}, {b:.1f}) × 1/110, colorlab's centre is "
                              f"{tuple(round(v) for v in ab_bins()[worst].tolist())})")
    return s


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_authors_weights(path: str | os.PathLike, output: str | os.PathLike, *, half: bool = False) -> dict:
    """Read the authors' PyTorch ECCV16 weights (:data:`AUTHORS_FILE`) and write them as a colorlab checkpoint.

    The file is read with ``torch.load(weights_only=True)``. Every name and shape must be those of
    :func:`authors_layout` (the BatchNorm counters ``num_batches_tracked`` may be missing: they are set to 0),
    every weight finite, and ``model_out.weight`` the 313 bin centres in colorlab's order up to a positive scale.
    The 81 other tensors become :class:`colorlab.models.ECCV16` (width 1, dilation 2); the checkpoint's ``meta``
    records the source, the file's SHA-256, ``ab_scale`` and ``decode_T`` (:data:`AUTHORS_T`).

    Args:
        path: the authors' ``.pth`` file.
        output: the colorlab checkpoint to write (atomically), e.g. ``models/authors-eccv16.pt``.
        half: store the weights in float16, as the book's model files are (half the size: 65 MB instead of
            130 MB; colorizations change by rounding). Default float32: the authors' numbers exactly.

    Returns:
        ``{"output": Path, "tensors": int (read), "ab_scale": float, "sha256": str, "released": bool}`` —
        ``ab_scale`` is 1 when ``model_out`` is exactly the centres / 110 (colorlab's model then reproduces their
        ab; otherwise their ab are ``ab_scale`` times colorlab's); ``released`` says whether the SHA-256 starts
        with the 8 hex digits of :data:`AUTHORS_FILE`'s name.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: (a ``ValueError``) the file is not a PyTorch file, or not the authors' ECCV16 state dict:
            the message names the missing or unexpected key, the wrong shape, or the decoding that is not the bins.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"path {str(path)!r} does not exist; download the authors' weights from {AUTHORS_URL}")
    output = writable_file(output, "output", "authors-eccv16.pt")
    where = repr(str(path))
    expected = ("the authors' PyTorch weights", f"give {AUTHORS_FILE} from {AUTHORS_URL}")
    state = _state_dict(_load(path, "cpu", expected), where)
    _check_layout(state, where)
    ab_scale = _decoder_scale(state[_DECODER], where)
    model = ECCV16(width=1.0)
    counters = {k: torch.zeros((), dtype=torch.long) for k in model.state_dict() if k.endswith(_COUNTER)}
    weights = {k: state.get(_authors_name(k), counters.get(k)) for k in model.state_dict()}
    model.load_state_dict(weights, strict=True)
    sha256 = _sha256(path)
    meta = {"source": "the authors' released ECCV16 weights (richzhang/colorization, BSD-2-Clause)",
            "url": AUTHORS_URL, "file": path.name, "sha256": sha256, "ab_scale": ab_scale, "decode_T": AUTHORS_T}
    checkpoint = model_checkpoint(model.eval(), meta=meta, half=half)
    written = atomic_save(checkpoint, output)
    released = sha256.startswith(AUTHORS_FILE.rsplit("-", 1)[1].split(".")[0])
    return {"output": written, "tensors": len(state), "ab_scale": ab_scale, "sha256": sha256, "released": released}
