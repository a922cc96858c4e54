"""Similarity alignment of a face onto ArcFace's 112x112 template.

Same result as ``insightface.utils.face_align.norm_crop`` (which relies on scikit-image's
deprecated ``SimilarityTransform.estimate``), computed with a small numpy Umeyama fit.
"""

from __future__ import annotations

import numpy as np

ARCFACE_DST = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def umeyama_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) src -> dst.

    Returns the 2x3 affine matrix. Umeyama (1991), computed in float32 with the same order
    of operations as scikit-image, so crops match insightface's ``norm_crop`` bit for bit.
    """
    src = np.asarray(src, np.float32)
    dst = np.asarray(dst, np.float32)
    n, dim = src.shape
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / n
    # Reflection guard: a negative determinant would turn the fit into a mirror image.
    sign = np.ones(dim)
    if np.linalg.det(cov) < 0:
        sign[-1] = -1
    u, singular, vt = np.linalg.svd(cov)
    rotation = u @ np.diag(sign) @ vt
    scale = 1.0 / src_c.var(0).sum() * (singular @ sign)
    translation = dst_mean - scale * (rotation @ src_mean)
    return np.hstack([scale * rotation, translation[:, None]]).astype(np.float64)


def arcface_template(image_size: int = 112) -> np.ndarray:
    """ArcFace's five target points for a square crop of ``image_size`` (insightface's rule)."""
    if image_size % 112 == 0:
        ratio, shift_x = image_size / 112.0, 0.0
    else:
        ratio = image_size / 128.0
        shift_x = 8.0 * ratio
    template = ARCFACE_DST * ratio
    template[:, 0] += shift_x
    return template


def alignment_matrix(kps: np.ndarray, image_size: int = 112) -> np.ndarray:
    return umeyama_similarity(np.asarray(kps, np.float64), arcface_template(image_size))


def align_face(image: np.ndarray, kps: np.ndarray, image_size: int = 112) -> np.ndarray:
    """Warp the face given by its five keypoints onto the ArcFace template (black border)."""
    import cv2

    matrix = alignment_matrix(kps, image_size)
    return cv2.warpAffine(image, matrix, (image_size, image_size), borderValue=0.0)
