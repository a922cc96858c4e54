"""What one image's face looks like to the evaluation: identity, pose, framing, hashes.

Each image is analysed once; everything the later signals need (similarities, pose, the
face box relative to the image, a perceptual hash of the whole image and an aligned face
crop) is kept in an :class:`ImageMeasure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faces.model import FaceBackend, clamp_similarity, l2_normalise
from ..faces.pose import pose_class
from .copy_evidence import CopyEvidence, aligned_face_crop, best_copy_evidence
from .reference import ReferenceIdentity
from .subject_face import largest_face, perceptual_hash
from .texture import skin_texture


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
    copy: CopyEvidence | None = None  # against the training photo it looks most like
    pose_judged: bool = True  # False: a pose at which the backend cannot tell people apart

    @property
    def face_found(self) -> bool:
        return self.face_count > 0 and self.embedding is not None

    @property
    def pose(self) -> str | None:
        return pose_class(self.yaw)

    @property
    def judged_similarity(self) -> float | None:
        """The likeness that identity is judged on: None without a face, or at a pose the backend
        cannot judge (its similarity is still shown, never counted)."""
        return self.similarity if self.face_found and self.pose_judged else None


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
    crop = aligned_face_crop(image, face)
    phash_distances = [int(image_hash - reference_hash) for reference_hash in reference.phashes]
    return ImageMeasure(
        face_count=len(faces),
        similarity=clamp_similarity(reference.centroid @ embedding),
        best_reference_similarity=float(similarities[best]),
        best_reference_index=best,
        phash_to_best_reference=phash_distances[best],
        yaw=face.yaw,
        pitch=face.pitch,
        roll=face.roll,
        box_centre=((x1 + x2) / 2 / width, (y1 + y2) / 2 / height),
        box_scale=(y2 - y1) / height,
        phash=image_hash,
        crop=crop,
        embedding=embedding,
        skin_texture=skin_texture(image, face),
        copy=best_copy_evidence(
            crop, similarities, reference.crops, reference.labels, backend.scale.same_person, phash_distances
        ),
        pose_judged=backend.scale.judges_pose(pose_class(face.yaw)),
    )
