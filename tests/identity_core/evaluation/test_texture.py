"""Skin texture (the waxy-skin measure) on real faces: what it sees and where it is not measured."""

import dataclasses

import numpy as np

from devkit.photos import blurred, brightened, grace_hopper, resized
from identity_core.evaluation.subject_face import largest_face
from identity_core.evaluation.texture import MIN_FACE_HEIGHT, skin_texture
from identity_core.evaluation.thresholds import Thresholds
from tests.fixtures.shared_faces import require_shared_faces, shared_photo

WAXY_RATIO = Thresholds(same_person=0.4, identity_target=0.6, copy=0.85, style_floor=0.4).waxy_texture_ratio


def _texture(backend, image):
    face = largest_face(backend.analyze(image))
    return skin_texture(image, face), face


def test_blur_at_a_face_scale_falls_below_the_waxy_ratio_and_light_or_size_do_not(dlib_backend):
    photo = grace_hopper()
    sharp, face = _texture(dlib_backend, photo)
    assert sharp is not None and face.height >= MIN_FACE_HEIGHT
    smooth, _ = _texture(dlib_backend, blurred(photo, face.height / 70))
    brighter, _ = _texture(dlib_backend, brightened(photo, 1.25))
    smaller, _ = _texture(dlib_backend, resized(photo, 0.7))
    assert smooth / sharp < WAXY_RATIO
    assert brighter / sharp > WAXY_RATIO and smaller / sharp > WAXY_RATIO


def test_small_or_turned_faces_are_not_measured(dlib_backend):
    photo = grace_hopper()
    _, face = _texture(dlib_backend, photo)
    tiny = resized(photo, 0.4)
    assert largest_face(dlib_backend.analyze(tiny)).height < MIN_FACE_HEIGHT
    assert _texture(dlib_backend, tiny)[0] is None
    assert skin_texture(photo, dataclasses.replace(face, yaw=40.0)) is None
    assert skin_texture(photo, dataclasses.replace(face, kps=None)) is None


def test_one_persons_photos_stay_above_the_ratio_and_their_blur_falls_under_it(dlib_backend):
    require_shared_faces()
    values, blurred_ratios = [], []
    for name in ("frontal_1.jpg", "frontal_2.jpg", "frontal_3.jpg", "frontal_4.jpg"):
        photo = shared_photo(f"obama/{name}")
        value, face = _texture(dlib_backend, photo)
        values.append(value)
        blurred_ratios.append(
            skin_texture(np.ascontiguousarray(blurred(photo, face.height / 70)), face) / value
        )
    median = float(np.median(values))
    assert min(values) / median > WAXY_RATIO
    assert max(blurred_ratios) < WAXY_RATIO
