"""Photos held for identity work are decoded small: a huge JPEG never takes its full size in memory."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from identity_core.bounded_photos import MAX_PHOTO_PIXELS, PhotoTooLargeError, fit_long_side, read_photo
from identity_core.evaluation.errors import EvaluationError
from identity_core.evaluation.reference import load_reference_photos
from identity_core.input_limits import COUNT_CAPS, IDENTITY_LONG_SIDE, InputLimitError


def test_a_large_jpeg_is_draft_decoded_to_the_identity_size(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (120, 80, 60)).save(path, quality=80)
    photo = read_photo(path)
    assert photo.dtype == np.uint8 and max(photo.shape[:2]) == IDENTITY_LONG_SIDE
    assert photo.shape[:2] == (683, 1024)


def test_exif_rotation_is_applied_and_small_photos_keep_their_size(tmp_path):
    path = tmp_path / "turned.jpg"
    image = Image.new("RGB", (300, 200), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees
    image.save(path, exif=exif)
    assert read_photo(path).shape[:2] == (300, 200)
    assert fit_long_side(np.zeros((10, 20, 3), np.uint8)).shape == (10, 20, 3)


def test_a_photo_over_the_pixel_cap_is_never_decoded(tmp_path):
    path = tmp_path / "huge.png"
    side = int(MAX_PHOTO_PIXELS**0.5) + 10
    Image.new("1", (side, side)).save(path)  # a 1-bit PNG: small on disk, huge when decoded
    with pytest.raises(PhotoTooLargeError, match="megapixels"):
        read_photo(path)
    with pytest.raises(EvaluationError, match="could not be read") as refused:
        load_reference_photos([path])
    assert str(tmp_path) not in str(refused.value)


def test_the_reference_photo_count_is_capped(tmp_path):
    with pytest.raises(InputLimitError, match="reference holds"):
        load_reference_photos(
            [tmp_path / f"{i}.jpg" for i in range(COUNT_CAPS["reference photos"].count + 1)]
        )
