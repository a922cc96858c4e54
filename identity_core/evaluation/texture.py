"""Skin texture of a face: the measure behind the design document's "waxy skin" (Section 9).

Over-smoothed generated skin loses the fine grain that photos keep. The measure is the
high-frequency energy of the cheeks (the grey face crop minus its Gaussian blur, sigma 1 px),
as a percentage of their brightness so that exposure cancels, on the face aligned to
ArcFace's 112 px template with the backend's five keypoints. Cheeks, because eyes, brows,
mouth and hair carry edges that would swamp the skin.

It is measured only where the backend can see it: faces with keypoints, at least
``MIN_FACE_HEIGHT`` px tall (a smaller face would be upscaled into the crop and read smooth
whatever its skin), turned less than ``MAX_YAW_DEGREES`` (a turned face's far cheek leaves
the crop). Elsewhere it is None: not measured, never "waxy".
"""

from __future__ import annotations

import numpy as np

from ..faces.model import Face

CROP_SIZE = 112
MIN_FACE_HEIGHT = 112.0
MAX_YAW_DEGREES = 25.0
HIGH_PASS_SIGMA = 1.0
# x1, x2, y1, y2 of the two cheek patches in ArcFace's 112 px template (below the eyes at
# y 51, beside the nose at x 56, above the mouth corners at y 92)
CHEEKS = ((22, 42, 58, 84), (70, 90, 58, 84))


def skin_texture(image: np.ndarray, face: Face) -> float | None:
    """Cheek high-pass energy in percent of cheek brightness; None where it cannot be seen."""
    if face.kps is None or face.height < MIN_FACE_HEIGHT:
        return None
    if face.yaw is not None and abs(face.yaw) >= MAX_YAW_DEGREES:
        return None
    import cv2

    from ..faces.alignment import align_face

    crop = align_face(np.ascontiguousarray(image), np.asarray(face.kps, np.float32), CROP_SIZE)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    high = grey - cv2.GaussianBlur(grey, (0, 0), HIGH_PASS_SIGMA)
    energies = [float(high[y1:y2, x1:x2].std()) for x1, x2, y1, y2 in CHEEKS]
    brightness = float(np.mean([grey[y1:y2, x1:x2].mean() for x1, x2, y1, y2 in CHEEKS]))
    if brightness < 1.0:
        return None
    return 100.0 * float(np.mean(energies)) / brightness


def median_texture(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None
