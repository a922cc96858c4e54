"""Face backends (the user's insightface pack; offline: CenterFace + dlib 128-d, or dlib HOG),
alignment and pose.

Heavy libraries (cv2, insightface, onnxruntime, dlib) are imported inside functions.
"""

from .alignment import ARCFACE_DST, align_face, alignment_matrix, umeyama_similarity
from .loader import PREFERENCES, load_backend, load_backend_once
from .model import (
    FULL_PROFILE_YAW,
    BackendChoice,
    BackendLimits,
    Face,
    FaceBackend,
    FaceBackendError,
    backend_limits,
    cosine,
    l2_normalise,
)
from .pose import FRONT, POSE_CLASSES, PROFILE, THREE_QUARTER, pose_class, pose_from_kps

__all__ = [
    "ARCFACE_DST",
    "FRONT",
    "FULL_PROFILE_YAW",
    "POSE_CLASSES",
    "PREFERENCES",
    "PROFILE",
    "THREE_QUARTER",
    "BackendChoice",
    "BackendLimits",
    "Face",
    "FaceBackend",
    "FaceBackendError",
    "align_face",
    "alignment_matrix",
    "backend_limits",
    "cosine",
    "l2_normalise",
    "load_backend",
    "load_backend_once",
    "pose_class",
    "pose_from_kps",
    "umeyama_similarity",
]
