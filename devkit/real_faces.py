"""Real face photos with head-pose and identity labels, for calibration, benchmarks and tests.

Two sources, read where they lie (nothing is copied into the repository):

- photos inside installed packages (always there): insightface's ``t1.jpg`` (six people) and
  ``Tom_Hanks_54745.png``, scikit-image's astronaut and cameraman, matplotlib's Grace Hopper.
  Their pose labels were judged by eye for this project (the cameraman's head is turned about
  55-70 degrees toward the image's right; in t1.jpg Matt LeBlanc's about 50-70 degrees);
- the project's real photo set when present: ``$IDENTITY_LORA_FACES``, else ``<repo>/../shared/faces``
  (38 photos of 25 people with licences and pose labels by eye in its README).

Pose labels are ranges of |yaw| in degrees; a pose class is right when its yaw range overlaps the
labelled range widened by :data:`LABEL_TOLERANCE` (labels by eye are good to about 15 degrees, so
a face labelled "about 20 degrees" may be read front or three-quarter).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from . import photos

FACES_ENV = "IDENTITY_LORA_FACES"
LABEL_TOLERANCE = 5.0
FRONT_MAX_YAW, PROFILE_MIN_YAW = 20.0, 55.0  # the pose classes of identity_core.faces.pose


MATCH_DISTANCE = 0.1  # a detection belongs to a labelled face within this share of the image width


@dataclass(frozen=True)
class LabelledFace:
    person: str
    yaw_range: tuple[float, float]  # |yaw| in degrees, as labelled
    x: float | None = None  # the face centre as a share of the image width (photos of several people)

    @property
    def pose_class(self) -> str:
        """The class of the labelled range's middle."""
        middle = sum(self.yaw_range) / 2
        return (
            "front" if middle < FRONT_MAX_YAW else "three-quarter" if middle <= PROFILE_MIN_YAW else "profile"
        )

    def accepts(self, pose_class: str | None) -> bool:
        """Whether a measured class agrees with the label (ranges overlap, within the tolerance)."""
        low, high = self.yaw_range[0] - LABEL_TOLERANCE, self.yaw_range[1] + LABEL_TOLERANCE
        bounds = {
            "front": (0.0, FRONT_MAX_YAW),
            "three-quarter": (FRONT_MAX_YAW, PROFILE_MIN_YAW),
            "profile": (PROFILE_MIN_YAW, 180.0),
        }
        if pose_class not in bounds:
            return False
        class_low, class_high = bounds[pose_class]
        return low < class_high and high >= class_low


@dataclass(frozen=True)
class LabelledPhoto:
    """One photo and its faces, listed left to right (by the face centre's x)."""

    name: str
    source: str  # "registry" or "shared"
    faces: tuple[LabelledFace, ...]
    path: Path | None = None  # shared photos; registry photos load from their package

    def image(self) -> np.ndarray:
        if self.path is not None:
            return load_upright(self.path)
        return _REGISTRY_LOADERS[self.name]()

    def match(self, boxes: list[tuple[float, float, float, float]], width: int) -> list[int | None]:
        """For each labelled face, the index of its detection box (None: missed).

        One-face photos take the largest box; photos of several people match box centres to the
        labelled centres.
        """
        if not boxes:
            return [None] * len(self.faces)
        if len(self.faces) == 1 and self.faces[0].x is None:
            areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
            return [int(np.argmax(areas))]
        centres = [(b[0] + b[2]) / 2 / width for b in boxes]
        matched: list[int | None] = []
        for face in self.faces:
            distances = [abs(c - face.x) for c in centres]
            best = int(np.argmin(distances))
            matched.append(best if distances[best] <= MATCH_DISTANCE and best not in matched else None)
        return matched


def load_upright(path: Path) -> np.ndarray:
    """RGB uint8 with the EXIF orientation applied (what a person sees)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


_REGISTRY_LOADERS = {
    "insightface t1.jpg": photos.group_photo,
    "insightface Tom_Hanks_54745.png": photos.tom_hanks,
    "scikit-image astronaut": photos.astronaut,
    "scikit-image camera": photos.camera,
    "matplotlib grace_hopper.jpg": photos.grace_hopper,
}


def registry_photos() -> list[LabelledPhoto]:
    """Photos that ship inside installed packages, labelled by eye for this project."""

    def face(person: str, low: float, high: float, x: float | None = None) -> LabelledFace:
        return LabelledFace(person, (low, high), x)

    t1 = (
        face("t1 Jennifer Aniston", 15, 35, 0.09),
        face("t1 Courteney Cox", 30, 50, 0.25),
        face("t1 David Schwimmer", 5, 25, 0.41),
        face("t1 Matthew Perry", 0, 15, 0.62),
        face("t1 Matt LeBlanc", 50, 70, 0.75),
        face("t1 Lisa Kudrow", 5, 25, 0.92),
    )
    return [
        LabelledPhoto("insightface t1.jpg", "registry", t1),
        LabelledPhoto("insightface Tom_Hanks_54745.png", "registry", (face("Tom Hanks", 0, 15),)),
        LabelledPhoto("scikit-image astronaut", "registry", (face("Eileen Collins", 0, 15),)),
        LabelledPhoto("scikit-image camera", "registry", (face("cameraman", 55, 70),)),
        LabelledPhoto("matplotlib grace_hopper.jpg", "registry", (face("Grace Hopper", 0, 10),)),
    ]


def shared_faces_dir() -> Path | None:
    """The project's real photo set, or None when this checkout has none."""
    configured = os.environ.get(FACES_ENV)
    folder = (
        Path(configured) if configured else Path(__file__).resolve().parents[1].parent / "shared" / "faces"
    )
    return folder if (folder / "README.md").is_file() else None


SHARED_SKIP_REASON = (
    f"the real photo set is absent (set {FACES_ENV} or place it at <repo>/../shared/faces); "
    "the registry photos cover the same behaviour"
)

# Photos with two people: their README rows describe both faces in words, so they are read here.
# (person, |yaw| low, high, face centre as a share of the width), left to right.
_MULTI_FACE_LABELS = {
    "_multi/intel_woman_a+intel_man_a_frontal_1.png": (
        ("intel_woman_a", 15, 25, 0.22),
        ("intel_man_a", 0, 10, 0.75),
    ),
    "_multi/intel_woman_a+intel_man_a_roll_1.png": (
        ("intel_woman_a", 0, 15, 0.14),
        ("intel_man_a", 0, 15, 0.7),
    ),
    "_multi/obama+biden_frontal_1.jpg": (("obama", 0, 10, 0.28), ("biden", 0, 10, 0.77)),
}


@cache
def shared_photos() -> tuple[LabelledPhoto, ...]:
    """The real photo set's photos with the README's person and pose labels (empty when absent)."""
    folder = shared_faces_dir()
    if folder is None:
        return ()
    labelled = []
    for file, person, pose in _readme_rows(folder / "README.md"):
        path = folder / file
        if not path.is_file():
            continue
        if file in _MULTI_FACE_LABELS:
            faces = tuple(LabelledFace(p, (lo, hi), x) for p, lo, hi, x in _MULTI_FACE_LABELS[file])
        else:
            yaw_range = _yaw_range(pose)
            if yaw_range is None:
                continue
            faces = (LabelledFace(person, yaw_range),)
        labelled.append(LabelledPhoto(file, "shared", faces, path))
    return tuple(labelled)


def all_photos() -> list[LabelledPhoto]:
    return registry_photos() + list(shared_photos())


def shared_photo(file: str) -> LabelledPhoto | None:
    return next((p for p in shared_photos() if p.name == file), None)


def _readme_rows(readme: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.search(r"\.(jpe?g|png)$", cells[0], re.IGNORECASE):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _yaw_range(pose: str) -> tuple[float, float] | None:
    """'three-quarter, about 45-60°' -> (45, 60); 'frontal, ~0-10°' -> (0, 10)."""
    match = re.search(r"(\d+)(?:\s*-\s*(\d+))?\s*°", pose)
    if match is None:
        return None
    low = float(match.group(1))
    return low, float(match.group(2) or low)
