import warnings

import numpy as np
import pytest

from devkit.photos import astronaut, grace_hopper, rotated, tom_hanks
from identity_core.faces import ARCFACE_DST, align_face, umeyama_similarity
from identity_core.faces.alignment import arcface_template


@pytest.fixture(scope="module")
def dlib_backend():
    from identity_core.faces.dlib_backend import DlibBackend

    return DlibBackend()


def test_umeyama_recovers_a_known_similarity_transform():
    angle = np.deg2rad(23.0)
    scale = 1.7
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = ARCFACE_DST.astype(np.float64)
    dst = src @ rotation.T + np.array([12.0, -5.0])
    matrix = umeyama_similarity(src, dst)
    np.testing.assert_allclose(matrix[:, :2], rotation, atol=1e-4)
    np.testing.assert_allclose(matrix[:, 2], [12.0, -5.0], atol=1e-4)


def test_template_follows_insightface_rule_for_other_sizes():
    np.testing.assert_allclose(arcface_template(224), ARCFACE_DST * 2)
    expected = ARCFACE_DST * (128 / 128.0)
    expected[:, 0] += 8.0
    np.testing.assert_allclose(arcface_template(128), expected)


def test_aligned_photo_stays_in_place():
    image = tom_hanks()
    aligned = align_face(image, ARCFACE_DST)
    assert np.abs(aligned.astype(int) - image.astype(int)).mean() < 1.0


@pytest.mark.parametrize("photo", [astronaut, grace_hopper])
def test_crop_is_bit_identical_to_insightface_norm_crop(photo, dlib_backend):
    from insightface.utils.face_align import norm_crop

    image = rotated(photo(), 12)
    (face,) = dlib_backend.analyze(image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # skimage's estimate() deprecation
        reference = norm_crop(image, face.kps, 112)
    ours = align_face(image, face.kps)
    assert ours.shape == (112, 112, 3)
    assert np.array_equal(ours, reference)
