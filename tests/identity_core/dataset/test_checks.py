"""The dataset checks on constructed measures (fast, exact thresholds)."""

from pathlib import Path

import numpy as np

from identity_core.dataset.checks import (
    ImageResult,
    check_count,
    check_faces,
    check_framing,
    check_lighting,
    check_pose,
    check_resolution,
)
from identity_core.dataset.measures import ImageMeasures
from identity_core.dataset.model import FAIL, PASS, WARN
from identity_core.dataset.scan import ImageRecord
from identity_core.dataset.thresholds import Thresholds
from identity_core.faces import BackendLimits, Face, pose_class

SEES_PROFILES = BackendLimits("test detector", "front to profile", "nothing else", 90.0)
FRONTAL_ONLY = BackendLimits("frontal detector", "front-facing faces", "turned heads", 30.0)
NEAR_PROFILE = BackendLimits("near-profile detector", "front to 70 degrees", "full profiles", 70.0)


def _result(name="a.jpg", width=1024, height=1024, yaw=None, face_ratio=None, light=50.0, warmth=0.0):
    record = ImageRecord(Path(name), width, height, "RGB", pixels=np.zeros((4, 4, 3), np.uint8))
    measures = ImageMeasures(light_mean=light, warmth=warmth)
    if yaw is not None:
        face = Face((0, 0, 10, 10), 1.0, yaw=yaw)
        measures.faces, measures.dominant, measures.pose_class = [face], face, pose_class(yaw)
    measures.face_height_ratio = face_ratio
    return ImageResult(record, measures)


def test_count_thresholds():
    t = Thresholds()
    assert check_count(14, t).severity == FAIL
    assert check_count(15, t).severity == PASS
    assert check_count(30, t).severity == PASS
    finding = check_count(31, t)
    assert finding.severity == WARN and finding.measured == 31 and "30" in finding.threshold


def test_pose_mix_needs_all_three_classes():
    t = Thresholds()
    only_front = [_result(f"{i}.jpg", yaw=5) for i in range(10)]
    finding = check_pose(only_front, t, SEES_PROFILES)
    assert finding.severity == WARN
    assert finding.measured == {"front": 10, "three-quarter": 0, "profile": 0}
    assert "profile" in finding.fix
    mixed = [*only_front[:6], _result("q.jpg", yaw=35), _result("r.jpg", yaw=-40), _result("p.jpg", yaw=70)]
    assert check_pose(mixed, t, SEES_PROFILES).severity == PASS


def test_framing_mix():
    t = Thresholds()
    close_ups = [_result(f"{i}.jpg", yaw=0, face_ratio=0.4) for i in range(10)]
    assert check_framing(close_ups, t).severity == WARN
    mixed = (
        close_ups[:7]
        + [_result("m.jpg", yaw=0, face_ratio=0.15), _result("f.jpg", yaw=0, face_ratio=0.06)] * 2
    )
    finding = check_framing(mixed, t)
    assert finding.severity == PASS
    assert finding.measured == {"portrait": 7, "mid shot": 2, "full body": 2}


def test_lighting_variety():
    t = Thresholds()
    same = [_result(f"{i}.jpg", light=50 + i * 0.1) for i in range(10)]
    assert check_lighting(same, t).severity == WARN
    varied = [_result(f"{i}.jpg", light=30 + i * 5) for i in range(10)]
    assert check_lighting(varied, t).severity == PASS


def test_resolution_against_the_profile_buckets():
    final = Thresholds(profile="final")
    results = [_result("big.jpg"), _result("small.jpg", 600, 500), _result("tiny.jpg", 300, 200)]
    finding = check_resolution(results, final)
    assert finding.severity == FAIL and "tiny.jpg" in finding.files and "small.jpg" in finding.files
    assert ("fail", "too small") in results[2].marks
    fast = check_resolution([_result("small.jpg", 600, 500)], Thresholds(profile="fast"))
    assert fast.severity == PASS


def _checks(findings):
    return {f.check: f for f in findings}


def test_no_face_fails_only_with_a_backend_that_sees_full_profiles():
    t = Thresholds()
    images = [_result(f"{i}.jpg", yaw=0) for i in range(6)] + [_result(f"n{i}.jpg") for i in range(4)]
    assert _checks(check_faces(images, t, SEES_PROFILES))["no_face"].severity == FAIL
    blind = _checks(check_faces(images, t, FRONTAL_ONLY))["no_face"]
    assert blind.severity == WARN
    assert "frontal detector cannot see turned heads" in blind.message
    assert blind.files == ("n0.jpg", "n1.jpg", "n2.jpg", "n3.jpg")
    assert _checks(check_faces(images, t, NEAR_PROFILE))["no_face"].severity == WARN


def test_mostly_faceless_sets_fail_with_a_detector_that_sees_three_quarter_views():
    t = Thresholds()
    images = [_result(f"{i}.jpg", yaw=0) for i in range(4)] + [_result(f"n{i}.jpg") for i in range(6)]
    assert _checks(check_faces(images, t, NEAR_PROFILE))["no_face"].severity == FAIL
    assert _checks(check_faces(images, t, FRONTAL_ONLY))["no_face"].severity == WARN


def test_an_image_the_backend_could_not_measure_is_not_a_missing_face():
    t = Thresholds()
    images = [_result(f"{i}.jpg", yaw=0) for i in range(4)] + [_result(f"x{i}.jpg") for i in range(3)]
    for image in images[4:]:
        image.measures.not_measured = "the face models failed on it (RuntimeError: test)"
    findings = _checks(check_faces(images, t, SEES_PROFILES))
    assert "no_face" not in findings
    skipped = findings["not_measured"]
    assert skipped.severity == WARN and skipped.files == ("x0.jpg", "x1.jpg", "x2.jpg")
    assert "Not measured by test detector" in skipped.message and "RuntimeError" in skipped.message
    assert ("warn", "not measured by test detector") in images[4].marks
    assert findings["faces"].severity == PASS


def test_angle_mix_names_what_the_backend_cannot_see():
    t = Thresholds()
    only_front = [_result(f"{i}.jpg", yaw=5) for i in range(10)]
    blind = check_pose(only_front, t, FRONTAL_ONLY)
    assert blind.severity == WARN and "frontal detector cannot see turned heads" in blind.message
    assert "cannot see" not in check_pose(only_front, t, SEES_PROFILES).message
    near = check_pose(only_front, t, NEAR_PROFILE)
    assert "some profile photos may be missing" in near.message and "three-quarter photos" not in near.message
