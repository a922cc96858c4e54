"""Identity separation with the real dlib model on photos shipped in installed packages."""

import numpy as np
import pytest

from devkit.photos import (
    astronaut,
    blurred,
    collage,
    flipped,
    grace_hopper,
    group_photo,
    resized,
    tom_hanks,
)
from identity_core.faces import Face, FaceBackend, cosine, pose_class
from identity_core.faces.dlib_backend import DlibBackend, dlib_model_dir
from identity_core.faces.identity_scale import DLIB_SAME_PERSON_COSINE


@pytest.fixture(scope="module")
def backend() -> DlibBackend:
    return DlibBackend()


def _single_face(backend, image) -> Face:
    faces = backend.analyze(image)
    assert len(faces) == 1, f"expected one face, found {len(faces)}"
    return faces[0]


def test_backend_follows_the_contract(backend):
    assert isinstance(backend, FaceBackend)
    assert "dlib" in backend.name and "not ArcFace" in backend.name
    face = _single_face(backend, grace_hopper())
    assert face.kps.shape == (5, 2)
    assert face.embedding.shape == (128,)
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    x1, y1, x2, y2 = face.bbox
    left_eye, right_eye, nose = face.kps[0], face.kps[1], face.kps[2]
    assert x1 < left_eye[0] < right_eye[0] < x2
    assert y1 < left_eye[1] < nose[1] < y2
    assert pose_class(face.yaw) == "front"


def test_models_are_found_without_pkg_resources():
    folder = dlib_model_dir()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()


def test_measured_threshold_agrees_with_dlibs_distance_converted_for_its_descriptor_norm():
    readme = 1 - 0.36 / (2 * 1.45**2)  # Euclidean 0.6 at descriptor norm 1.45
    assert abs(DLIB_SAME_PERSON_COSINE - readme) < 0.01


@pytest.mark.parametrize("photo", [grace_hopper, astronaut, tom_hanks])
def test_same_face_under_flip_resize_and_mild_blur_is_the_same_person(backend, photo):
    reference = _single_face(backend, photo()).embedding
    for variant in (flipped(photo()), resized(photo(), 0.7), blurred(photo(), 1.0)):
        faces = backend.analyze(variant)
        assert faces, "the variant lost its face"
        assert max(cosine(reference, f.embedding) for f in faces) >= backend.same_person_cosine


def test_different_people_are_below_the_threshold(backend):
    embeddings = [_single_face(backend, p()).embedding for p in (grace_hopper, astronaut, tom_hanks)]
    embeddings += [f.embedding for f in backend.analyze(group_photo())]
    assert len(embeddings) >= 7
    for i in range(len(embeddings)):
        for j in range(i + 1, len(embeddings)):
            assert cosine(embeddings[i], embeddings[j]) < backend.same_person_cosine


def test_group_photo_and_collage_have_several_faces(backend):
    assert len(backend.analyze(group_photo())) >= 5
    assert len(backend.analyze(collage([grace_hopper(), astronaut()], tile=512))) == 2


def test_no_face_in_a_plain_image(backend):
    assert backend.analyze(np.full((300, 400, 3), 127, np.uint8)) == []


def test_large_image_is_searched_at_a_reduced_size(backend):
    big = resized(grace_hopper(), 3.0)  # 1536 x 1800
    face = _single_face(backend, big)
    small = _single_face(backend, grace_hopper())
    assert _iou(np.array(face.bbox) / 3.0, np.array(small.bbox)) > 0.7
    assert cosine(face.embedding, small.embedding) >= backend.same_person_cosine


def test_weak_detections_are_dropped(backend):
    # At this size the astronaut photo gives the HOG detector a false positive scoring 0.22.
    image = collage([grace_hopper(), astronaut()], tile=384)
    assert len(backend.analyze(image)) == 2
    assert len(DlibBackend(min_score=0.0).analyze(image)) == 3


def _iou(a, b) -> float:
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    inter = max(x2 - x1, 0) * max(y2 - y1, 0)
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)
