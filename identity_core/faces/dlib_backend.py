"""Fallback face backend: dlib with the public-domain models of ``face_recognition_models``.

HOG detector, 68-point landmarks (reduced to insightface's five keypoints for pose and
alignment), 5-point landmarks for dlib's own chip alignment and its 128-d ResNet
embedding. It is not ArcFace: the report says so, and its similarity scale differs
(``identity_scale.DLIB_SCALE``: thresholds and their sources).
"""

from __future__ import annotations

import threading

import numpy as np

from .dlib_encoder import dlib_model_dir, dlib_model_file, import_dlib
from .identity_scale import DLIB_SCALE
from .model import Face, l2_normalise
from .pose import pose_from_kps

__all__ = ["DlibBackend", "dlib_model_dir"]

_MODEL_FILES = {
    "landmarks_68": "shape_predictor_68_face_landmarks.dat",
    "landmarks_5": "shape_predictor_5_face_landmarks.dat",
    "embedding": "dlib_face_recognition_resnet_model_v1.dat",
}


def _kps_from_68(points: np.ndarray) -> np.ndarray:
    """insightface's five keypoints from the iBUG 68 points (same rule as the pose model)."""
    return np.stack(
        [points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]]
    ).astype(np.float32)


class DlibBackend:
    """dlib HOG + landmarks + 128-d embedding.

    ``detect_long_side``: images are searched for faces at this size (the HOG detector
    finds faces of about 80 px and up; ``upsample`` doubles the resolution per step when
    nothing is found at the first try). Landmarks and embeddings use the full image.
    ``min_score``: HOG detections scoring lower are dropped (a false positive on the
    astronaut photo scored 0.22; the weakest true face in insightface's t1.jpg 0.87).
    """

    name = "dlib 128-d (not ArcFace)"
    sees = "front-facing faces about 80 px high and up (dlib HOG detector)"
    cannot_see = (
        "heads turned more than about 30 degrees (three-quarter and profile views count as no face) "
        "or faces under about 40 px high"
    )
    max_yaw = 30.0
    scale = DLIB_SCALE
    same_person_cosine = DLIB_SCALE.same_person

    def __init__(self, detect_long_side: int = 800, retry_upsample: int = 1, min_score: float = 0.3) -> None:
        dlib = import_dlib()
        paths = {key: dlib_model_file(filename) for key, filename in _MODEL_FILES.items()}
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks_68 = dlib.shape_predictor(str(paths["landmarks_68"]))
        self._landmarks_5 = dlib.shape_predictor(str(paths["landmarks_5"]))
        self._encoder = dlib.face_recognition_model_v1(str(paths["embedding"]))
        self._lock = threading.Lock()
        self.detect_long_side = detect_long_side
        self.retry_upsample = retry_upsample
        self.min_score = min_score

    def analyze(self, image_rgb: np.ndarray) -> list[Face]:
        """Faces with landmarks, pose and embedding. One call at a time: dlib's detector, shape
        predictors and network keep working buffers inside their objects (two threads crashed it)."""
        image_rgb = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        height, width = image_rgb.shape[:2]
        with self._lock:
            return [
                self._describe(image_rgb, rect, score, width, height)
                for rect, score in self.detect(image_rgb)
            ]

    def detect(self, image_rgb: np.ndarray) -> list[tuple[object, float]]:
        """HOG face rectangles (``dlib.rectangle``, full-image pixels) and their scores."""
        import cv2

        scale = min(1.0, self.detect_long_side / max(image_rgb.shape[:2]))
        small = image_rgb
        if scale < 1.0:
            small = cv2.resize(image_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found: list = []
        for upsample in range(self.retry_upsample + 1):
            rects, scores, _ = self._detector.run(small, upsample, 0.0)
            found = [(r, s) for r, s in zip(rects, scores, strict=True) if s >= self.min_score]
            if found:
                break
        dlib = self._dlib
        return [
            (
                dlib.rectangle(
                    round(r.left() / scale),
                    round(r.top() / scale),
                    round(r.right() / scale),
                    round(r.bottom() / scale),
                ),
                float(score),
            )
            for r, score in found
        ]

    def keypoints(self, image_rgb: np.ndarray, rect) -> np.ndarray:
        """Five keypoints (insightface's order) from dlib's 68 landmarks inside ``rect``."""
        shape68 = self._landmarks_68(image_rgb, rect)
        return _kps_from_68(np.array([(p.x, p.y) for p in shape68.parts()], np.float32))

    def _describe(self, image_rgb: np.ndarray, rect, score: float, width: int, height: int) -> Face:
        kps = self.keypoints(image_rgb, rect)
        yaw, pitch, roll = pose_from_kps(kps, width, height)
        shape5 = self._landmarks_5(image_rgb, rect)
        descriptor = np.array(self._encoder.compute_face_descriptor(image_rgb, shape5), np.float32)
        return Face(
            bbox=(float(rect.left()), float(rect.top()), float(rect.right()), float(rect.bottom())),
            score=score,
            kps=kps,
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            embedding=l2_normalise(descriptor),
        )
