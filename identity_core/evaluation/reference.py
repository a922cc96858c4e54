"""The reference identity: embeddings of the training (or reference) photos."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bounded_photos import PhotoTooLargeError, read_photo
from ..faces.identity_scale import IdentityScale
from ..faces.model import Face, FaceBackend, clamp_similarity, l2_normalise
from ..faces.pose import pose_class
from ..input_limits import check_count
from .copy_evidence import aligned_face_crop
from .errors import EvaluationError
from .subject_face import largest_face, perceptual_hash
from .texture import skin_texture

FRONTAL_YAW_DEGREES = 20.0


@dataclass
class ReferenceIdentity:
    """One embedding per reference image that has a face (its largest face).

    ``centroid`` is the L2-normalised mean embedding of the photos in poses the backend judges
    (all of them when none is): the identity the LoRA should reproduce. A backend that reads
    different people's profiles alike (dlib) would pull the centroid toward "any profile".
    ``crops`` (aligned grey face crops) and ``phashes`` (whole-image perceptual hashes) are the
    evidence that a generated image is one training photo again (``copy_evidence``).
    """

    labels: list[str]
    embeddings: np.ndarray
    centroid: np.ndarray
    phashes: list
    yaws: list[float | None]
    without_face: list[str] = field(default_factory=list)
    textures: list[float | None] = field(default_factory=list)  # texture.skin_texture per image
    crops: list[np.ndarray | None] = field(default_factory=list)  # aligned grey face crops

    def __len__(self) -> int:
        return len(self.labels)

    def pose_classes(self) -> list[str | None]:
        return [pose_class(yaw) for yaw in self.yaws]

    def measured_textures(self) -> list[float]:
        return [value for value in self.textures if value is not None]

    def turned_similarity(
        self, turned_yaw_degrees: float, scale: IdentityScale | None = None
    ) -> float | None:
        """Mean similarity of the turned reference faces to the centroid of the others.

        How well this backend recognises the real person at those angles: generated turned
        faces that score no lower than this are at the backend's limit, not the LoRA's.
        """
        if len(self.labels) < 2:
            return None
        total = self.embeddings.sum(axis=0)
        values = [
            float(clamp_similarity(embedding @ l2_normalise(total - embedding)))
            for embedding, yaw in zip(self.embeddings, self.yaws, strict=True)
            if yaw is not None
            and abs(yaw) >= turned_yaw_degrees
            and (scale is None or scale.judges_pose(pose_class(yaw)))
        ]
        return float(np.mean(values)) if values else None

    def has_side_views(self) -> bool | None:
        """Whether any reference face is turned beyond frontal (None: pose unknown)."""
        known = [abs(yaw) for yaw in self.yaws if yaw is not None]
        if not known:
            return None
        return any(yaw >= FRONTAL_YAW_DEGREES for yaw in known)


def build_reference(
    images: Sequence[tuple[str, np.ndarray]],
    backend: FaceBackend,
    should_cancel: Callable[[], bool] | None = None,
) -> ReferenceIdentity:
    """Analyse each ``(label, image)``; raise a clear error when none has a face."""
    if not images:
        raise EvaluationError(
            "The reference is empty",
            "connect the checked dataset or at least one reference photo",
            "reference",
        )
    labels, embeddings, phashes, yaws, without_face, textures, crops = [], [], [], [], [], [], []
    for label, image in images:
        if should_cancel is not None and should_cancel():
            break
        face: Face | None = largest_face(backend.analyze(image))
        if face is None:
            without_face.append(label)
            continue
        labels.append(label)
        embeddings.append(l2_normalise(face.embedding))
        phashes.append(perceptual_hash(image))
        yaws.append(face.yaw)
        textures.append(skin_texture(image, face))
        crops.append(aligned_face_crop(image, face))
    if not embeddings:
        raise EvaluationError(
            f"No face was found in any of the {len(images)} reference images with {backend.name}",
            "use reference photos where the face is clearly visible (the checked training set), "
            "or install an insightface pack for a stronger detector",
            "reference",
        )
    stacked = np.stack(embeddings).astype(np.float32)
    return ReferenceIdentity(
        labels=labels,
        embeddings=stacked,
        centroid=judged_centroid(stacked, yaws, backend.scale),
        phashes=phashes,
        yaws=yaws,
        without_face=without_face,
        textures=textures,
        crops=crops,
    )


def judged_centroid(embeddings: np.ndarray, yaws: Sequence[float | None], scale: IdentityScale) -> np.ndarray:
    """The mean embedding of the photos in poses the backend tells people apart at (else of all)."""
    judged = [i for i, yaw in enumerate(yaws) if scale.judges_pose(pose_class(yaw))]
    chosen = embeddings[judged] if judged else embeddings
    return l2_normalise(chosen.mean(axis=0))


def load_reference_photos(paths: Sequence) -> list[tuple[str, np.ndarray]]:
    """Read reference photos as RGB arrays (EXIF rotation applied), labelled by file name.

    Each is decoded at a reduced size, at most ``IDENTITY_LONG_SIDE`` on its long side
    (``bounded_photos``), and at most ``COUNT_CAPS["reference photos"]`` are read.
    """
    from PIL import Image, UnidentifiedImageError

    check_count("reference photos", len(paths))
    photos = []
    for path in paths:
        try:
            photos.append((Path(path).name, read_photo(path)))
        except (
            OSError,
            UnidentifiedImageError,
            PhotoTooLargeError,
            Image.DecompressionBombError,
            SyntaxError,
            ValueError,
        ) as error:
            raise EvaluationError(
                f"The reference photo {Path(path).name} could not be read ({_reason(error)})",
                "check that the file exists and is a JPEG/PNG/WebP image of at most 100 megapixels, then run "
                "DatasetCheck again",
                "reference_dataset",
            ) from error
    return photos


def _reason(error: Exception) -> str:
    """The error in words without the file's server path."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):
        return "not an image the imaging library recognises"
    if isinstance(error, PhotoTooLargeError | Image.DecompressionBombError):
        return "more pixels than the pack decodes (100 megapixels)"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"damaged or truncated image: {type(error).__name__}"


class ReferenceOnce:
    """A reference identity needed in several places of one run (StrengthSweep's coarse pass over
    checkpoints and its probe beyond the sweep), built on first use and then kept: analysing 15-30
    photos is seconds of CPU each time.

    ``load_photos`` gives the ``(label, RGB image)`` pairs; it is called once, on first use.
    """

    def __init__(
        self,
        load_photos: Callable[[], Sequence[tuple[str, np.ndarray]]],
        should_cancel: Callable[[], bool] | None = None,
    ) -> None:
        self._load_photos = load_photos
        self._should_cancel = should_cancel
        self._photos: list[tuple[str, np.ndarray]] | None = None
        self._by_backend: dict[str, ReferenceIdentity] = {}

    def photos(self) -> list[tuple[str, np.ndarray]]:
        if self._photos is None:
            self._photos = list(self._load_photos())
        return self._photos

    def identity(self, backend: FaceBackend) -> ReferenceIdentity:
        """The reference as ``backend`` measures it (built once per backend)."""
        if backend.name not in self._by_backend:
            self._by_backend[backend.name] = build_reference(self.photos(), backend, self._should_cancel)
        return self._by_backend[backend.name]
