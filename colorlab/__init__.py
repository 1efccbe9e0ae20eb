"""colorlab: Colorful Image Colorization (Zhang, Isola & Efros, ECCV 2016), reproduced and taught.

The functions every chapter of the book uses are importable from here, e.g. ``colorlab.rgb_to_lab``.
"""

from .color import lab_to_rgb, rgb_to_lab
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
from .samples import SAMPLE_NAMES, sample_photo, sample_photos, to_tensor

__version__ = "0.1.0"
