"""Skin texture (the waxy-skin measure) on real faces: what it sees, where it is not measured, and
that real photos of one person never read waxy against each other."""

import dataclasses
import itertools

import numpy as np

from devkit.photos import beauty_filtered, brightened, grace_hopper, resized, skin_smoothed
from identity_core.evaluation.subject_face import largest_face
from identity_core.evaluation.texture import MIN_FACE_HEIGHT, WAXY_NOTE_RATIO, WAXY_RATIO, skin_texture
from tests.fixtures.shared_faces import require_shared_faces, shared_photo


def _texture(backend, image):
    image = np.ascontiguousarray(image)
    face = largest_face(backend.analyze(image))
    return skin_texture(image, face), face


def _large_grace():
    """Grace Hopper's face at about 350 px: big enough to be measured at the 256 px crop."""
    return resized(grace_hopper(), 1.6)


def test_smoothing_the_skin_lowers_the_measure_and_light_or_size_do_not(offline_backend):
    photo = _large_grace()
    sharp, face = _texture(offline_backend, photo)
    assert sharp is not None and face.height >= MIN_FACE_HEIGHT
    plastic, _ = _texture(offline_backend, skin_smoothed(photo, face.height, passes=5))
    smoothed, _ = _texture(offline_backend, skin_smoothed(photo, face.height, passes=2))
    brighter, _ = _texture(offline_backend, brightened(photo, 1.25))
    larger, _ = _texture(offline_backend, resized(photo, 1.5))
    assert plastic / sharp < WAXY_RATIO < smoothed / sharp < WAXY_NOTE_RATIO
    assert brighter / sharp > WAXY_NOTE_RATIO and 0.8 < larger / sharp < 1.25  # exposure and size cancel


def test_small_or_turned_faces_are_not_measured(offline_backend):
    photo = _large_grace()
    _, face = _texture(offline_backend, photo)
    small = resized(photo, 0.5)
    assert largest_face(offline_backend.analyze(small)).height < MIN_FACE_HEIGHT
    assert _texture(offline_backend, small)[0] is None
    assert skin_texture(photo, dataclasses.replace(face, yaw=40.0)) is None
    assert skin_texture(photo, dataclasses.replace(face, kps=None)) is None


def test_real_photos_of_one_person_never_read_waxy_against_the_others(offline_backend):
    """Several occasions and cameras: each photo against the smoothest of 1-3 of the others."""
    require_shared_faces()
    names = [f"compreface_person_a/frontal_{n}.jpg" for n in (2, 3, 4, 5)]
    names += [f"webmorph_lisa/frontal_{n}.jpg" for n in (1, 3, 4, 5)]
    values: dict[str, dict[str, float]] = {}
    for name in names:
        value, _ = _texture(offline_backend, shared_photo(name))
        if value is not None:
            values.setdefault(name.split("/")[0], {})[name] = value
    ratios = []
    for person in values.values():
        for name, value in person.items():
            others = [v for other, v in person.items() if other != name]
            for size in (1, 2, 3):
                ratios += [value / min(chosen) for chosen in itertools.combinations(others, size)]
    assert len(ratios) > 20 and min(ratios) >= WAXY_RATIO, sorted(ratios)[:3]


def test_a_beauty_filter_reads_smoother_than_the_photo(offline_backend):
    photo = _large_grace()
    sharp, face = _texture(offline_backend, photo)
    filtered, _ = _texture(offline_backend, beauty_filtered(photo, face.height))
    assert filtered / sharp < 0.75
