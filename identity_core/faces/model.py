"""The face values and the backend contract shared by DatasetCheck and ArcFaceScore."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import IdentityError
from .identity_scale import IdentityScale


class FaceBackendError(IdentityError):
    """A face backend cannot be loaded or run: what, which file or folder, and what to do."""


@dataclass
class Face:
    """One detected face, in the coordinates of the image it was found in.

    ``kps`` follows insightface's order: left eye, right eye, nose, mouth left, mouth right
    (left/right as seen in the image). Angles are degrees; yaw is positive when the nose
    points toward the image's right side, pitch positive when the head tilts up, roll
    positive when the face turns clockwise in the image.
    """

    bbox: tuple[float, float, float, float]
    score: float
    kps: np.ndarray | None = None
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    embedding: np.ndarray | None = None

    @property
    def width(self) -> float:
        return float(self.bbox[2] - self.bbox[0])

    @property
    def height(self) -> float:
        return float(self.bbox[3] - self.bbox[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


@runtime_checkable
class FaceBackend(Protocol):
    """What every face backend offers. ``name`` goes into every report.

    Backends also say what their detector can and cannot see (read them with
    :func:`backend_limits`, which gives defaults for backends that do not): ``sees`` and
    ``cannot_see`` (sentences for reports) and ``max_yaw`` (the largest head turn, in degrees,
    at which it was measured to find faces; None when unknown).
    """

    name: str
    scale: IdentityScale  # how this backend's similarities read (thresholds with sources)
    same_person_cosine: float  # scale.same_person

    def analyze(self, image_rgb: np.ndarray) -> list[Face]: ...


FULL_PROFILE_YAW = 90.0


@dataclass(frozen=True)
class BackendLimits:
    """What one backend's face detector can and cannot see, for reports and checks."""

    name: str
    sees: str
    cannot_see: str
    max_yaw: float | None  # degrees; None: not stated

    def sees_yaw(self, yaw: float) -> bool:
        """Whether a head turned by ``yaw`` degrees is within what the detector was measured to find."""
        return self.max_yaw is not None and self.max_yaw >= yaw

    def sentence(self) -> str:
        return f"{self.name} sees {self.sees}; it cannot see {self.cannot_see}."


def backend_limits(backend: FaceBackend) -> BackendLimits:
    return BackendLimits(
        name=backend.name,
        sees=getattr(backend, "sees", "faces (its limits are not stated)"),
        cannot_see=getattr(backend, "cannot_see", "what is outside its limits (not stated)"),
        max_yaw=getattr(backend, "max_yaw", None),
    )


@dataclass(frozen=True)
class BackendChoice:
    """The backend that was loaded and a sentence saying why (shown to the user)."""

    backend: FaceBackend
    message: str


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings (they need not be normalised), within [-1, 1]."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return clamp_similarity(a @ b / denom) if denom > 0 else 0.0


def clamp_similarity(value: float | np.ndarray) -> float | np.ndarray:
    """Keep cosine similarities in [-1, 1].

    A float32 dot product of two unit vectors can round past 1 (1.0000001 for identical
    vectors on some CPUs), and no report should show a similarity above 1.
    """
    if isinstance(value, np.ndarray):
        return np.clip(value, -1.0, 1.0)
    return float(min(1.0, max(-1.0, float(value))))


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
