"""colorlab: Colorful Image Colorization (Zhang, Isola & Efros, ECCV 2016), reproduced and taught.

The functions every chapter of the book uses are importable from here, e.g. ``colorlab.rgb_to_lab``.
"""

from . import cost, provenance
from .authors import AUTHORS_T, AUTHORS_URL, import_authors_weights
from .bins import AB_LIMIT, GRID_STEP, NUM_BINS, ab_bins, ab_gamut_mask, derive_ab_bins, gamut_ab_hull
from .color import lab_to_rgb, rgb_to_lab
from .colorize import colorize_rgb
from .data import (
    ImageFolder,
    NoImagesError,
    SamplePhotos,
    SkippedImageWarning,
    UnreadableImageError,
    center_crop,
    download_imagenette,
    list_images,
    load_rgb,
    random_hflip,
    random_resized_crop,
)
from .decode import T_ANNEALED, T_DEPLOY, annealed_mean, annealed_mean_from_logits, decode_mode
from .encode import SIGMA, SOFT_K, nearest_bin, soft_encode, soft_encode_sparse
from .evaluate import evaluate_folder, evaluate_images, temperature_sweep
from .loss import prepare_batch, rebalanced_cross_entropy, regression_loss
from .metrics import auc, auc_rebalanced, bootstrap_ci, colorfulness, psnr, ssim
from .models import (
    ECCV16,
    ColorizationNet,
    RegressionNet,
    SeedNet,
    build_model,
    color_gradient,
    conv_flops,
    count_parameters,
    format_layer_table,
    layer_table,
    normalize_l,
    receptive_fields,
)
from .pretrained import CheckpointError, load_model, load_pretrained, save_pretrained
from .prior import LAMBDA, empirical_prior, imagenet_prior, pixel_weights, rebalance_weights
from .samples import SAMPLE_NAMES, sample_photo, sample_photos, to_tensor
from .source import show_source
from .train import TrainConfig, fit, load_checkpoint, read_log

__version__ = "0.1.0"

# Figures, widgets, the claims table and the web export (which needs onnx): imported on first access,
# e.g. ``colorlab.plot``.
_LAZY_SUBMODULES = ("claims", "gamut", "plot", "web", "widgets")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
