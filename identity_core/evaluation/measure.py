"""What one image's face looks like to the evaluation: identity, pose, framing, hashes.

Each image is analysed once; everything the later signals need (similarities, pose, the
face box relative to the image, a perceptual hash of the whole image and an aligned face
crop) is kept in an :class:`ImageMeasure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faces.model import Face, FaceBackend, clamp_similarity, l2_normalise
from .reference import ReferenceIdentity
from .subject_face import largest_face, perceptual_hash
from .texture import skin_texture

CROP_SIZE = 112


@dataclass
class ImageMeasure:
    face_count: int
    similarity: float | None = None  # cosine to the mean reference embedding
    best_reference_similarity: float | None = None
    best_reference_index: int | None = None
    phash_to_best_reference: int | None = None
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    box_centre: tuple[float, float] | None = None  # relative to image width/height
    box_scale: float | None = None  # face height / image height
    phash: object | None = None  # imagehash.ImageHash of the whole image
    crop: np.ndarray | None = None  # aligned grey face crop, float32 0..255
    embedding: np.ndarray | None = None
    skin_texture: float | None = None  # texture.skin_texture; None where not measurable

    @property
    def face_found(self) -> bool:
        return self.face_count > 0 and self.embedding is not None


def face_crop(image: np.ndarray, face: Face) -> np.ndarray:
    """Grey 112x112 crop: aligned on the five keypoints when known, else the box resized."""
    if face.kps is not None:
        from ..faces.alignment import align_face

        crop = align_face(np.ascontiguousarray(image), np.asarray(face.kps, np.float32), CROP_SIZE)
    else:
        from PIL import Image

        height, width = image.shape[:2]
        x1, y1, x2, y2 = (round(v) for v in face.bbox)
        x1, y1 = max(x1, 0), max(y1, 0)
        x2, y2 = min(max(x2, x1 + 1), width), min(max(y2, y1 + 1), height)
        region = Image.fromarray(np.ascontiguousarray(image[y1:y2, x1:x2]))
        crop = np.asarray(region.resize((CROP_SIZE, CROP_SIZE), Image.BILINEAR))
    return crop.astype(np.float32).mean(axis=2)


def measure_image(image: np.ndarray, backend: FaceBackend, reference: ReferenceIdentity) -> ImageMeasure:
    """Analyse one image and compare its largest face with the reference identity."""
    faces = backend.analyze(image)
    image_hash = perceptual_hash(image)
    face = largest_face(faces)
    if face is None:
        return ImageMeasure(face_count=len(faces), phash=image_hash)
    embedding = l2_normalise(face.embedding)
    similarities = clamp_similarity(reference.embeddings @ embedding)
    best = int(np.argmax(similarities))
    height, width = image.shape[:2]
    x1, y1, x2, y2 = face.bbox
    return ImageMeasure(
        face_count=len(faces),
        similarity=clamp_similarity(reference.centroid @ embedding),
        best_reference_similarity=float(similarities[best]),
        best_reference_index=best,
        phash_to_best_reference=int(image_hash - reference.phashes[best]),
        yaw=face.yaw,
        pitch=face.pitch,
        roll=face.roll,
        box_centre=((x1 + x2) / 2 / width, (y1 + y2) / 2 / height),
        box_scale=(y2 - y1) / height,
        phash=image_hash,
        crop=face_crop(image, face),
        embedding=embedding,
        skin_texture=skin_texture(image, face),
    )
