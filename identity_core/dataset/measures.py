"""Per-image measures: faces, framing, sharpness, light, background, perceptual hash.

Thresholds for these numbers live in :mod:`.thresholds`; the measurements behind them are in
the project's face notes (Laplacian variance at long side 512: sharp 700-1130, Gaussian
sigma 1 50-78; phash Hamming distance: resaves 0-2, different photos 23+).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..faces import Face, align_face, pose_class

BLUR_LONG_SIDE = 512


@dataclass
class ImageMeasures:
    faces: list[Face] = field(default_factory=list)
    not_measured: str | None = None  # why the face backend could not measure this image (not "no face")
    dominant: Face | None = None  # the one subject face, when there is exactly one dominant face
    competing_faces: int = 0  # other faces at least a quarter of the dominant face's area
    pose_class: str | None = None
    face_height_ratio: float | None = None  # face box height / image height
    sharpness: float = 0.0  # variance of the Laplacian, grayscale at long side 512
    face_sharpness: float | None = None  # same on the 112 px aligned face
    light_mean: float = 0.0  # L* 0..100
    light_contrast: float = 0.0  # SD of L*
    warmth: float = 0.0  # mean b* (positive: warm/yellow, negative: cool/blue)
    face_side_light: float | None = None  # L* left half minus right half of the aligned face
    background: np.ndarray | None = field(default=None, repr=False)  # HSV histogram, face area masked
    phash: object = None
    phash_mirrored: object = None


def measure_image(pixels: np.ndarray, faces: list[Face], competing_area_ratio: float = 0.25) -> ImageMeasures:
    measures = ImageMeasures(faces=faces)
    _measure_faces(measures, pixels, competing_area_ratio)
    _measure_image(measures, pixels)
    return measures


def _measure_faces(measures: ImageMeasures, pixels: np.ndarray, competing_area_ratio: float) -> None:
    import cv2

    if not measures.faces:
        return
    ordered = sorted(measures.faces, key=lambda f: f.area, reverse=True)
    largest = ordered[0]
    measures.competing_faces = sum(1 for f in ordered[1:] if f.area >= competing_area_ratio * largest.area)
    if measures.competing_faces:
        return
    measures.dominant = largest
    measures.pose_class = pose_class(largest.yaw)
    measures.face_height_ratio = largest.height / pixels.shape[0]
    if largest.kps is not None:
        face = align_face(pixels, largest.kps)
        gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
        measures.face_sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
        lightness = cv2.cvtColor(face, cv2.COLOR_RGB2LAB)[16:104, 24:88, 0].astype(np.float32) * 100 / 255
        half = lightness.shape[1] // 2
        measures.face_side_light = float(lightness[:, :half].mean() - lightness[:, half:].mean())


def _measure_image(measures: ImageMeasures, pixels: np.ndarray) -> None:
    import cv2
    import imagehash
    from PIL import Image

    scale = BLUR_LONG_SIDE / max(pixels.shape[:2])
    small = (
        cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else pixels
    )
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    measures.sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    lightness = lab[..., 0] * 100 / 255
    measures.light_mean = float(lightness.mean())
    measures.light_contrast = float(lightness.std())
    measures.warmth = float(lab[..., 2].mean() - 128)
    measures.background = _background_histogram(small, measures.dominant, scale if scale < 1 else 1.0)
    as_pil = Image.fromarray(small)
    measures.phash = imagehash.phash(as_pil)
    measures.phash_mirrored = imagehash.phash(as_pil.transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def _background_histogram(small: np.ndarray, face: Face | None, scale: float) -> np.ndarray:
    """HSV histogram of the image outside the person (face box widened 3x, down to the bottom)."""
    import cv2

    mask = np.full(small.shape[:2], 255, np.uint8)
    if face is not None:
        x1, y1, x2, y2 = (v * scale for v in face.bbox)
        width = x2 - x1
        left, right = max(int(x1 - width), 0), int(x2 + width)
        top = max(int(y1 - 0.5 * (y2 - y1)), 0)
        mask[top:, left:right] = 0
        if mask.sum() < 0.1 * 255 * mask.size:  # the person fills the frame: use everything
            mask[:] = 255
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], mask, [12, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(histogram, None, alpha=1.0, norm_type=cv2.NORM_L1).ravel()


def phash_distance(a: ImageMeasures, b: ImageMeasures) -> int:
    """Hamming distance between two images' phashes, the mirror image included."""
    return int(min(a.phash - b.phash, a.phash - b.phash_mirrored))


def background_distance(a: ImageMeasures, b: ImageMeasures) -> float:
    """Bhattacharyya distance of the background histograms: 0 same, 1 nothing in common."""
    import cv2

    return float(cv2.compareHist(a.background, b.background, cv2.HISTCMP_BHATTACHARYYA))
