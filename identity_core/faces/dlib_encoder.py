"""dlib's 128-d face embedding (public-domain weights in ``face_recognition_models``).

:class:`DlibEncoder` embeds a face given by five keypoints in insightface's order (any
detector's): it warps the face onto dlib's own 150x150 chip layout and runs dlib's ResNet on
the chip, so the embedding does not depend on dlib's HOG detector or its 5-point predictor.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from .alignment import umeyama_similarity
from .model import FaceBackendError, l2_normalise

EMBEDDING_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150

# Where the five keypoints (eye centres, nose, mouth corners, as CenterFace places them) fall on
# the chip dlib itself cuts (``get_face_chip(image, shape_5, 150, 0.25)``): the median over 46 faces
# found by dlib's HOG detector on registry photos and the project's real photo set, made
# left-right symmetric. Embeddings of our chips against dlib's own chips of the same faces: cosine
# 0.95-0.997 (median 0.99); ``benchmarks/face_calibration.py`` re-measures both.
DLIB_CHIP_TEMPLATE = np.array(
    [[47.85, 48.6], [102.15, 48.6], [75.0, 76.8], [52.3, 103.4], [97.7, 103.4]], dtype=np.float32
)


def dlib_model_dir() -> Path:
    """The ``models/`` folder of face_recognition_models, found without importing it.

    (Importing the package needs ``pkg_resources``, which setuptools >= 81 no longer ships.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise FaceBackendError(
            "The dlib face models are not installed (Python package 'face_recognition_models')",
            "install the pack's requirements into ComfyUI's Python: "
            "pip install face_recognition_models dlib-bin",
        )
    return Path(spec.origin).parent / "models"


def import_dlib():
    try:
        import dlib
    except ImportError as exc:
        raise FaceBackendError(
            "dlib is not installed in ComfyUI's Python", "install it with: pip install dlib-bin"
        ) from exc
    return dlib


def dlib_model_file(filename: str) -> Path:
    path = dlib_model_dir() / filename
    if not path.is_file():
        raise FaceBackendError(
            "A dlib model file is missing",
            "reinstall the models: pip install --force-reinstall face_recognition_models",
            path=path,
        )
    return path


def dlib_chip(image_rgb: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """The 150x150 face chip dlib's ResNet expects, aligned on five keypoints."""
    import cv2

    matrix = umeyama_similarity(np.asarray(kps, np.float64), DLIB_CHIP_TEMPLATE)
    return cv2.warpAffine(
        np.ascontiguousarray(image_rgb), matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR
    )


class DlibEncoder:
    """dlib ResNet 128-d on a chip aligned from five keypoints; L2-normalised output.

    dlib's network keeps its activations inside the model object, so one model must not run on
    two threads at once: a lock serialises it (about 90 ms per face on one AVX2 core); the chip
    warp runs outside the lock.
    """

    def __init__(self) -> None:
        dlib = import_dlib()
        self._net = dlib.face_recognition_model_v1(str(dlib_model_file(EMBEDDING_FILE)))
        self._lock = threading.Lock()

    def embed(self, image_rgb: np.ndarray, kps: np.ndarray) -> np.ndarray:
        chip = dlib_chip(image_rgb, kps)
        with self._lock:
            descriptor = self._net.compute_face_descriptor(chip)
        return l2_normalise(np.array(descriptor, np.float32))
