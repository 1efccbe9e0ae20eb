"""colorlab: Colorful Image Colorization (Zhang, Isola & Efros, ECCV 2016), reproduced and taught.

The functions every chapter of the book uses are importable from here, e.g. ``colorlab.rgb_to_lab``.
"""

from .color import lab_to_rgb, rgb_to_lab
from .samples import SAMPLE_NAMES, sample_photo, sample_photos, to_tensor

__version__ = "0.1.0"
