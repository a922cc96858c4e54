import numpy as np
import pytest

from identity_core.faces import FRONT, PROFILE, THREE_QUARTER, pose_class, pose_from_kps
from identity_core.faces.pose import MEAN_FACE_5


def _rotation(yaw: float, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    y, p, r = np.deg2rad([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _project(points: np.ndarray, rotation: np.ndarray, size: int = 512, face_px: float = 200) -> np.ndarray:
    """Pinhole projection of the posed mean face (x right, y down, z toward the camera)."""
    posed = points @ rotation.T * face_px
    depth = 10 * face_px - posed[:, 2]
    focal = 1.2 * size
    return np.stack([focal * posed[:, 0] / depth + size / 2, focal * posed[:, 1] / depth + size / 2], 1)


def test_model_points_come_from_insightface_mean_shape():
    from insightface.data import get_object

    mean68 = np.asarray(get_object("meanshape_68.pkl"), np.float64)
    derived = np.stack([mean68[36:42].mean(0), mean68[42:48].mean(0), mean68[30], mean68[48], mean68[54]])
    np.testing.assert_allclose(MEAN_FACE_5, derived, atol=1e-5)


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"),
    [(0, 0, 0), (30, 0, 0), (-45, 0, 0), (70, 0, 0), (0, 15, 0), (0, -10, 0), (0, 0, 25), (35, 10, -15)],
)
def test_pose_matches_synthetic_ground_truth(yaw, pitch, roll):
    kps = _project(MEAN_FACE_5, _rotation(yaw, pitch, roll))
    estimated = pose_from_kps(kps, 512, 512)
    np.testing.assert_allclose(estimated, (yaw, pitch, roll), atol=0.5)


def test_positive_yaw_means_nose_toward_image_right():
    kps = _project(MEAN_FACE_5, _rotation(40))
    eye_mid_x = (kps[0, 0] + kps[1, 0]) / 2
    assert kps[2, 0] > eye_mid_x
    assert pose_from_kps(kps, 512, 512)[0] > 0


def test_pose_survives_landmark_noise_enough_to_classify():
    rng = np.random.default_rng(0)
    for true_yaw, expected in ((0, FRONT), (38, THREE_QUARTER), (75, PROFILE)):
        kps = _project(MEAN_FACE_5, _rotation(true_yaw))
        eye_distance = np.linalg.norm(kps[1] - kps[0])
        classes = [
            pose_class(pose_from_kps(kps + rng.normal(0, 0.02 * eye_distance, kps.shape), 512, 512)[0])
            for _ in range(50)
        ]
        assert classes.count(expected) >= 45


@pytest.mark.parametrize(
    ("yaw", "expected"),
    [(0, FRONT), (-19.9, FRONT), (20, THREE_QUARTER), (-55, THREE_QUARTER), (55.1, PROFILE), (-80, PROFILE)],
)
def test_pose_class_boundaries(yaw, expected):
    assert pose_class(yaw) == expected


def test_unknown_yaw_has_no_class():
    assert pose_class(None) is None
    assert pose_class(float("nan")) is None
