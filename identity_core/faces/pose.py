"""Head pose from the five face keypoints, and the pose classes DatasetCheck counts.

The 3D model is insightface's mean face shape (``data/objects/meanshape_68.pkl``, x right,
y down, z toward the camera) reduced to the five keypoints: eye centres (mean of points
36-41 and 42-47), nose tip (30) and mouth corners (48, 54). ``cv2.solvePnP`` with SQPNP
recovers the rotation; on synthetic projections of the mean shape the yaw error is 0 deg
for pitch 0 up to 90 deg and within about 3 deg at pitch 15 up to 60 deg. Beyond ~60 deg
five-point detectors themselves degrade, so angles there are coarse.
"""

from __future__ import annotations

import math

import numpy as np

MEAN_FACE_5 = np.array(
    [
        [-0.273524, -0.317178, 0.311908],
        [0.258022, -0.317312, 0.317649],
        [-0.007345, -0.142617, 0.598667],
        [-0.201438, 0.237361, 0.379537],
        [0.218248, 0.238992, 0.375674],
    ],
    dtype=np.float64,
)

FRONT = "front"
THREE_QUARTER = "three-quarter"
PROFILE = "profile"
POSE_CLASSES = (FRONT, THREE_QUARTER, PROFILE)

FRONT_MAX_YAW = 20.0
PROFILE_MIN_YAW = 55.0


def pose_from_kps(
    kps: np.ndarray, image_width: int, image_height: int, face_model: np.ndarray = MEAN_FACE_5
) -> tuple[float, float, float]:
    """Return (yaw, pitch, roll) in degrees; conventions as in :class:`~.model.Face`.

    The camera is a pinhole with focal length 1.2 x the long image side, centred.
    ``face_model``: the five 3D points in the detector's own keypoint convention.
    """
    import cv2

    focal = 1.2 * max(image_width, image_height)
    camera = np.array([[focal, 0, image_width / 2], [0, focal, image_height / 2], [0, 0, 1]], np.float64)
    # OpenCV's object frame has z pointing away from the camera; the mean shape has it toward.
    model = np.asarray(face_model, np.float64) * np.array([1.0, 1.0, -1.0])
    ok, rvec, _ = cv2.solvePnP(
        model, np.asarray(kps, np.float64).reshape(5, 2), camera, None, flags=cv2.SOLVEPNP_SQPNP
    )
    if not ok:
        raise ValueError("solvePnP found no head pose for these keypoints")
    rotation, _ = cv2.Rodrigues(rvec)
    return _euler_from_rotation(rotation)


def _euler_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """Decompose R = Rz(roll) Rx(pitch) Ry(yaw) and map to the face-frame signs.

    Flipping z (face frame -> OpenCV object frame) negates yaw and pitch, roll is unchanged.
    """
    pitch = math.degrees(math.asin(float(np.clip(rotation[2, 1], -1.0, 1.0))))
    yaw = math.degrees(math.atan2(-rotation[2, 0], rotation[2, 2]))
    roll = math.degrees(math.atan2(-rotation[0, 1], rotation[1, 1]))
    return -yaw, -pitch, roll


def pose_class(yaw: float | None) -> str | None:
    """front (|yaw| < 20), three-quarter (20-55) or profile (> 55); None when unknown."""
    if yaw is None or math.isnan(yaw):
        return None
    magnitude = abs(yaw)
    if magnitude < FRONT_MAX_YAW:
        return FRONT
    if magnitude <= PROFILE_MIN_YAW:
        return THREE_QUARTER
    return PROFILE
