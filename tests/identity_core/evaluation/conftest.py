"""Fixtures shared by the evaluation tests on real photos."""

import pytest

from devkit.photos import brightened, flipped, grace_hopper
from identity_core.evaluation.reference import build_reference


@pytest.fixture(scope="module")
def grace_reference(dlib_backend):
    """Grace Hopper's one registry photo as three training photos: as it is, mirrored, brighter."""
    image = grace_hopper()
    photos = [
        ("grace.jpg", image),
        ("grace_mirrored.jpg", flipped(image)),
        ("grace_bright.jpg", brightened(image, 1.2)),
    ]
    return build_reference(photos, dlib_backend)
