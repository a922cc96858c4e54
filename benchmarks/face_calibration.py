"""Calibration of the face backends on real photos: identity-similarity distributions (same
person, same photo edited, different people), the thresholds they give, and pose-class accuracy.

Photos: the registry photos (always; ``devkit/real_faces.py``) and the project's real
photo set when present (``IDENTITY_LORA_FACES`` or ``<repo>/../shared/faces``). Same-person
pairs need two different photos of one person (Obama, Biden, the two Intel people in the photo
set); the registry photos add "same photo, edited" pairs (resized, brighter, warmer, softer,
mirrored), which read as copies, and different-person pairs.

Figures (``benchmarks/judgement_figures.py`` gives the ones ``identity_scale.DLIB_SCALE`` quotes,
with the pack's own photo decoding and the centroid landmarks):
- same person: the 99th percentile of different-person similarities (1 false match in 100);
- likeness target: real photos against the centroid of the same person's other photos;
- the equal-error point between "same photo, edited" and "same person, other photo" on the
  embedding alone, which shows why a copy is not decided on the embedding (``copy_evidence``).

usage: python benchmarks/face_calibration.py [--backend centerface --backend dlib]
       [--insightface-root DIR]   (a folder holding models/<pack>/*.onnx, to calibrate ArcFace too)
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit import photos as edits
from devkit.real_faces import LabelledFace, LabelledPhoto, all_photos, registry_photos
from identity_core.faces import cosine, load_backend, pose_class

EDITS = {
    "resized 0.6x": lambda image: edits.resized(image, 0.6),
    "brighter 1.3x": lambda image: edits.brightened(image, 1.3),
    "warm light": lambda image: edits.tinted(image, (1.15, 1.0, 0.85)),
    "blur sigma 1": lambda image: edits.blurred(image, 1.0),
    "mirrored": edits.flipped,
}


@dataclass
class Measured:
    photo: str
    face: LabelledFace
    edit: str  # "" for the photo itself
    yaw: float | None
    embedding: np.ndarray | None
    kps: np.ndarray | None


def measure_photo(backend, photo: LabelledPhoto, image: np.ndarray, edit: str = "") -> list[Measured]:
    faces = backend.analyze(image)
    matches = photo.match([f.bbox for f in faces], image.shape[1])
    found = []
    for label, index in zip(photo.faces, matches, strict=True):
        face = None if index is None else faces[index]
        found.append(
            Measured(
                photo.name,
                label,
                edit,
                None if face is None else face.yaw,
                None if face is None else face.embedding,
                None if face is None else face.kps,
            )
        )
    return found


def measure_all(backend) -> list[Measured]:
    measured = []
    for photo in all_photos():
        image = photo.image()
        measured += measure_photo(backend, photo, image)
        if photo.source != "registry":
            continue
        for edit, apply in EDITS.items():
            if edit == "mirrored" and len(photo.faces) > 1:
                continue  # the labelled face positions would swap sides
            measured += measure_photo(backend, photo, apply(image), edit)
    return measured


def similarity_groups(measured: list[Measured]) -> dict[str, list[float]]:
    originals = [m for m in measured if not m.edit and m.embedding is not None]
    groups: dict[str, list[float]] = {"same person, other photo": [], "different people": []}
    for a, b in itertools.combinations(originals, 2):
        key = "same person, other photo" if a.face.person == b.face.person else "different people"
        groups[key].append(cosine(a.embedding, b.embedding))
    by_face = {(m.photo, m.face.person): m for m in originals}
    groups["same photo, edited"] = [
        cosine(m.embedding, by_face[(m.photo, m.face.person)].embedding)
        for m in measured
        if m.edit and m.embedding is not None and (m.photo, m.face.person) in by_face
    ]
    groups["photo to the centroid of the person's other photos"] = centroid_similarities(originals)
    return groups


def centroid_similarities(originals: list[Measured]) -> list[float]:
    values = []
    people = {m.face.person for m in originals}
    for person in people:
        own = [m for m in originals if m.face.person == person]
        if len(own) < 3:
            continue
        for index, face in enumerate(own):
            others = np.stack([o.embedding for i, o in enumerate(own) if i != index])
            values.append(cosine(face.embedding, others.mean(0)))
    return values


def describe(values: list[float]) -> str:
    if not values:
        return "n=0"
    v = np.asarray(values)
    p5, p25, p50, p75, p95 = np.percentile(v, [5, 25, 50, 75, 95])
    return (
        f"n={v.size:4d}  min {v.min():.3f}  p5 {p5:.3f}  p25 {p25:.3f}  median {p50:.3f}  "
        f"p75 {p75:.3f}  p95 {p95:.3f}  max {v.max():.3f}"
    )


def thresholds(groups: dict[str, list[float]]) -> dict[str, float]:
    different = np.asarray(groups["different people"])
    same = np.asarray(groups["same person, other photo"])
    same_person = float(np.percentile(different, 99))
    result = {"same person (p99 of different people)": same_person}
    if same.size:
        result["  same-person pairs at or above it"] = float(np.mean(same >= same_person))
    centroid = groups["photo to the centroid of the person's other photos"]
    if centroid:
        result["likeness target (p5 of photo-to-centroid)"] = float(np.percentile(centroid, 5))
    edited = np.asarray(groups["same photo, edited"])
    if edited.size and same.size:  # why a copy is not decided on the embedding (copy_evidence.py)
        copy, error = equal_error_point(edited, same)
        result["embedding-only copy point (edited vs other photo; not used)"] = copy
        result["  its error on both sides"] = error
    return result


def equal_error_point(positives: np.ndarray, negatives: np.ndarray) -> tuple[float, float]:
    """The threshold where missed positives (below it) and accepted negatives (at or above it)
    are the most nearly equal, and the larger of the two error rates there."""
    best = (1.0, 1.0)
    for threshold in np.unique(np.concatenate([positives, negatives])):
        error = max(np.mean(positives < threshold), np.mean(negatives >= threshold))
        if error < best[1]:
            best = (float(threshold), float(error))
    return best


def pose_accuracy(measured: list[Measured]) -> str:
    originals = [m for m in measured if not m.edit]
    lines = []
    for name in ("front", "three-quarter", "profile"):
        labelled = [m for m in originals if m.face.pose_class == name]
        found = [m for m in labelled if m.yaw is not None]
        right = [m for m in found if m.face.accepts(pose_class(m.yaw))]
        lines.append(f"{name} {len(found)}/{len(labelled)} found, {len(right)}/{len(found)} classed right")
    return "; ".join(lines)


def frontal_layout(measured: list[Measured]) -> tuple[np.ndarray, int] | None:
    """Mean keypoint layout of frontal faces (labelled at most 10 degrees), in eye distances
    from the eye midpoint with the eyes level: what CENTERFACE_FACE_5 is built from."""
    layouts = []
    for m in measured:
        if m.edit or m.kps is None or m.face.yaw_range[1] > 10:
            continue
        kps = np.asarray(m.kps, np.float64)
        centre, span = (kps[0] + kps[1]) / 2, kps[1] - kps[0]
        angle = -np.arctan2(span[1], span[0])
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        layouts.append((kps - centre) @ rotation.T / np.linalg.norm(span))
    return (np.mean(layouts, 0), len(layouts)) if layouts else None


def calibrate(preference: str, roots: list[str]) -> None:
    choice = load_backend(roots, preference)
    backend = choice.backend
    print(f"\n=== {backend.name} (preference {preference!r})")
    measured = measure_all(backend)
    groups = similarity_groups(measured)
    for name, values in groups.items():
        print(f"  {name:52} {describe(values)}")
    for name, value in thresholds(groups).items():
        print(f"  -> {name}: {value:.3f}")
    print(f"  current scale: same person {backend.scale.same_person:.3f}, likeness target "
          f"{backend.scale.likeness_target:.3f}, resembles {backend.scale.resembles:.3f}, bleed "
          f"{backend.scale.bleed:.3f}")  # fmt: skip
    print(f"  pose classes: {pose_accuracy(measured)}")
    layout = frontal_layout(measured)
    if layout is not None:
        rows = ", ".join(f"({x:+.3f}, {y:+.3f})" for x, y in layout[0])
        print(f"  frontal keypoint layout ({layout[1]} faces, eye distances): {rows}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=("centerface", "dlib", "insightface"))
    parser.add_argument("--insightface-root", action="append", default=[])
    args = parser.parse_args()
    shared = len(all_photos()) - len(registry_photos())
    print(f"photos: {len(registry_photos())} from registry packages, {shared} from the real photo set")
    for preference in args.backend or ["centerface", "dlib"]:
        calibrate(preference, args.insightface_root)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
