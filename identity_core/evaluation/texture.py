"""Skin texture of a face: the measure behind "waxy skin" (docs/profiles.md, "Failure table").

Over-smoothed generated skin loses the fine grain that photos keep. The measure is the typical
size of the cheeks' fine detail: the median absolute high-pass (grey minus its Gaussian blur,
sigma 1 px) of two cheek patches, in percent of their brightness so that exposure cancels, on
the face aligned to ArcFace's template at ``CROP_SIZE`` px with the backend's five keypoints.

- Face size and resolution: every face is brought to the same size, and a larger face is first
  reduced with an area filter, so a 1000 px face does not read rougher than a 300 px one through
  aliasing. A face smaller than ``MIN_FACE_HEIGHT`` would be enlarged into the crop and read
  smooth whatever its skin: it is not measured.
- Edges: the *median* ignores the few strong edges (a fold, a shadow line) that a standard
  deviation is made of; an edge-preserving beauty filter keeps those and removes the grain.
- Pose: a face turned ``MAX_YAW_DEGREES`` or more shows the far cheek edge-on: not measured.

Real photos differ: on the shared photos, one person's photos from other cameras read down to
0.45 x the smoothest of their other photos, and skin smoothing or a beauty filter leaves a photo
at 0.39-0.48 x itself (median). The two ranges overlap, so the rule (``diagnose.waxy_skin``) is a
diagnosis only below every real photo measured (``WAXY_RATIO`` of the smoothest training photo),
a note up to ``WAXY_NOTE_RATIO``, and nothing above.
"""

from __future__ import annotations

import numpy as np

from ..faces.model import Face

CROP_SIZE = 256
MIN_FACE_HEIGHT = 224.0
MAX_YAW_DEGREES = 25.0
HIGH_PASS_SIGMA = 1.0
# x1, x2, y1, y2 of the two cheek patches in ArcFace's 112 px template (below the eyes at y 51,
# beside the nose at x 56, above the mouth corners at y 92), scaled to CROP_SIZE
_TEMPLATE_CHEEKS = ((22, 42, 58, 84), (70, 90, 58, 84))
CHEEKS = tuple(tuple(round(v * CROP_SIZE / 112) for v in patch) for patch in _TEMPLATE_CHEEKS)

WAXY_RATIO = 0.40
WAXY_NOTE_RATIO = 0.5
WAXY_SOURCE = (
    "waxy below 0.40 x the smoothest training photo's cheek texture (median absolute high-pass, sigma 1 px "
    "on a 256 px aligned crop, faces >= 224 px turned < 25 degrees), a note below 0.5 x; judged only on "
    "faces that reach the identity target (the person's skin against the person's photos). On the "
    "shared real photos (benchmarks/judgement_figures.py, decoded at most 1024 px): a photo reads 0.45 x "
    "or more of the smoothest of 1-3 of the same person's other photos (104 comparisons, 27 people; 5th "
    "percentile 0.52); skin smoothing leaves a photo at 0.39 x itself (median, 0.28-0.69) and a beauty "
    "filter at 0.48 x (0.34-0.74), so the two overlap and only the part below every real photo is a "
    "diagnosis"
)
TEXTURE_LIMITS = (
    f"only faces at least {MIN_FACE_HEIGHT:.0f} px tall, turned under {MAX_YAW_DEGREES:.0f} degrees and "
    "reaching the identity target are measured; real photos from different cameras differ by more than "
    "2x, so skin between 0.40x and 0.5x of the smoothest training photo is a note, not a diagnosis"
)


def skin_texture(image: np.ndarray, face: Face) -> float | None:
    """Cheek fine detail in percent of cheek brightness; None where it cannot be seen."""
    if face.kps is None or face.height < MIN_FACE_HEIGHT:
        return None
    if face.yaw is not None and abs(face.yaw) >= MAX_YAW_DEGREES:
        return None
    import cv2

    grey = cv2.cvtColor(_aligned(image, np.asarray(face.kps, np.float64)), cv2.COLOR_RGB2GRAY)
    grey = grey.astype(np.float32)
    high = grey - cv2.GaussianBlur(grey, (0, 0), HIGH_PASS_SIGMA)
    detail = float(np.mean([np.median(np.abs(high[y1:y2, x1:x2])) for x1, x2, y1, y2 in CHEEKS]))
    brightness = float(np.mean([grey[y1:y2, x1:x2].mean() for x1, x2, y1, y2 in CHEEKS]))
    if brightness < 1.0:
        return None
    return 100.0 * detail / brightness


def _aligned(image: np.ndarray, kps: np.ndarray) -> np.ndarray:
    """The face on ArcFace's template at CROP_SIZE; a larger face is area-reduced first."""
    import cv2

    from ..faces.alignment import alignment_matrix

    matrix = alignment_matrix(kps, CROP_SIZE)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        matrix = alignment_matrix(kps * scale, CROP_SIZE)
    return cv2.warpAffine(np.ascontiguousarray(image), matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR)


def median_texture(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None
