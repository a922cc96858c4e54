"""Which face in an image is the subject, and the image's perceptual hash.

Shared by the reference identity (training photos) and the measures of generated images, so
both pick the face and hash the image the same way.
"""

from __future__ import annotations

import numpy as np

from ..faces.model import Face


def largest_face(faces: list[Face]) -> Face | None:
    """The subject of a portrait is the biggest face; background faces are ignored."""
    with_embedding = [face for face in faces if face.embedding is not None]
    return max(with_embedding, key=lambda face: face.area) if with_embedding else None


def perceptual_hash(image: np.ndarray):
    import imagehash
    from PIL import Image

    return imagehash.phash(Image.fromarray(np.ascontiguousarray(image)))
