"""Likeness per head pose: each pose of the generated faces against the same pose of the reference."""

import numpy as np

from identity_core.evaluation.measure import ImageMeasure
from identity_core.evaluation.pose_likeness import JUDGED, NO_REFERENCE, NOT_JUDGED, likeness_by_pose
from identity_core.evaluation.reference import ReferenceIdentity
from identity_core.faces.identity_scale import DLIB_SCALE
from identity_core.faces.model import l2_normalise
from tests.identity_core.evaluation.fakes import FAKE_SCALE, REFERENCE_DIRECTION, embedding_with_similarity


def _reference(yaws: list[float], similarity: float = 0.95) -> ReferenceIdentity:
    rng = np.random.default_rng(3)
    embeddings = np.stack([embedding_with_similarity(similarity, rng) for _ in yaws])
    return ReferenceIdentity(
        labels=[f"ref{i}.jpg" for i in range(len(yaws))],
        embeddings=embeddings,
        centroid=l2_normalise(embeddings.mean(axis=0)),
        phashes=[None] * len(yaws),
        yaws=list(yaws),
    )


def _face(yaw: float, similarity: float, seed: int) -> ImageMeasure:
    embedding = embedding_with_similarity(similarity, np.random.default_rng(seed))
    return ImageMeasure(face_count=1, similarity=similarity, yaw=yaw, embedding=embedding)


def test_each_pose_is_read_against_the_same_pose_of_the_reference():
    reference = _reference([0.0, 5.0, 35.0, 40.0])
    faces = [_face(2.0, 0.95, 1), _face(-4.0, 0.95, 2), _face(38.0, 0.3, 3), _face(30.0, 0.3, 4)]
    rows = {row.pose: row for row in likeness_by_pose(faces, reference, FAKE_SCALE, 0.6)}
    front, turned, profile = rows["front"], rows["three-quarter"], rows["profile"]
    assert (front.faces, front.references, front.status, front.holds) == (2, 2, JUDGED, True)
    assert (turned.faces, turned.references, turned.status, turned.holds) == (2, 2, JUDGED, False)
    assert turned.likeness < turned.real and "weaker than the real photos allow" in turned.text()
    assert profile.faces == 0 and profile.text() == "profile: no generated face"


def test_a_pose_without_reference_photos_is_said_and_dlibs_profiles_are_not_judged():
    reference = _reference([0.0, 3.0])
    faces = [_face(45.0, 0.9, 1), _face(80.0, 0.9, 2)]
    rows = {
        row.pose: row for row in likeness_by_pose(faces, reference, DLIB_SCALE, DLIB_SCALE.likeness_target)
    }
    assert rows["three-quarter"].status == NO_REFERENCE and rows["three-quarter"].holds is None
    assert rows["profile"].status == NOT_JUDGED and rows["profile"].holds is None
    assert rows["profile"].to_dict()["status"] == NOT_JUDGED


def test_the_yardstick_is_the_real_photos_of_that_pose_against_each_other():
    reference = _reference([0.0, 2.0, 4.0], similarity=0.8)
    rows = likeness_by_pose([_face(0.0, 0.8, 9)], reference, FAKE_SCALE, 0.95)
    front = rows[0]
    # the real frontal photos match each other at about 0.8 * 0.8 / |centroid|: below the target of
    # 0.95, so a face as close to them as they are to each other holds
    assert front.real is not None and front.real < 0.95
    assert front.holds == (front.likeness >= front.real)
    assert float(REFERENCE_DIRECTION @ reference.centroid) > 0.9
