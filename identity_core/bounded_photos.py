"""Photos held for identity work, at a bounded size.

A 10,000 x 10,000 JPEG is a 2 MB upload and 300 MB of RGB pixels; a reference set of such copies
would hold tens of gigabytes in ComfyUI's process. Identity work never needs that much: face
detection runs at 320-640 px, face crops at 112-150 px, and DatasetCheck analyses at 1024 px. So
every photo the pack holds for the reference identity is decoded at a reduced size (JPEG's draft
mode decodes at 1/2, 1/4 or 1/8 scale directly) and then fitted to ``IDENTITY_LONG_SIDE``; a file
over the pixel cap is never decoded.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .input_limits import IDENTITY_LONG_SIDE

MAX_PHOTO_PIXELS = 100_000_000  # as DatasetCheck's cap (dataset/scan.py): above 108 MP phone modes


class PhotoTooLargeError(ValueError):
    """The file's header gives more pixels than the pack decodes."""


def read_photo(path: Path | str, long_side: int = IDENTITY_LONG_SIDE) -> np.ndarray:
    """The photo upright (EXIF applied) as RGB uint8, its long side at most ``long_side``.

    Raises ``PhotoTooLargeError`` for more than ``MAX_PHOTO_PIXELS`` pixels (read from the header,
    before decoding) and PIL's own errors (OSError and its kin) for unreadable files.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        width, height = image.size
        if width * height > MAX_PHOTO_PIXELS:
            raise PhotoTooLargeError(
                f"{width}x{height} is {width * height / 1e6:.0f} megapixels, above the pack's limit of "
                f"{MAX_PHOTO_PIXELS // 1_000_000}"
            )
        if image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK"):
            ratio = long_side / max(width, height)
            if ratio < 1:
                image.draft(image.mode, (math.ceil(width * ratio), math.ceil(height * ratio)))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    return fit_long_side(np.asarray(upright), long_side)


def fit_long_side(array: np.ndarray, long_side: int = IDENTITY_LONG_SIDE) -> np.ndarray:
    """An RGB uint8 array reduced (area filter) so its long side is at most ``long_side``."""
    height, width = array.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1:
        return array
    from PIL import Image

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BOX))
