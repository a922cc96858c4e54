"""The measurements behind the evaluation's thresholds, on the shared real photos, with the shipped code.

With the offline default backend (CenterFace + dlib 128-d), photos decoded as the pack decodes
them (long side at most 1024 px):

- identity: photo-to-photo similarities (same person / different people, in the poses the
  backend judges, and profiles), and similarities to the centroid of 1-3 of a person's other
  photos for the same person and for strangers: ``identity_scale.DLIB_SCALE``;
- copies (``copy_evidence``): the registered match of aligned face crops for other photos of a
  person (different occasions, the same day, one studio session or video) and for edited copies;
- skin texture (``texture``): one person's photos against the smoothest of their other photos,
  and what skin smoothing and a beauty filter do to a photo;
- whole-image perceptual hashes of different head-and-shoulders photos (``min_diversity``).

Run: python benchmarks/judgement_figures.py [--only identity copies texture phash]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit import photos as edits
from devkit.judgement_sweeps import CachedBackend, Photo, photos_by_person
from devkit.real_faces import shared_faces_dir
from identity_core.evaluation.copy_evidence import aligned_face_crop, crop_match
from identity_core.evaluation.subject_face import largest_face, perceptual_hash
from identity_core.evaluation.texture import skin_texture
from identity_core.faces.loader import load_backend
from identity_core.faces.model import Face, l2_normalise
from identity_core.faces.pose import pose_class

# Which shots of one person were taken together (the photo set's README): one studio session,
# one video, or one day in several places. Every other pair of a person is another occasion.
SESSIONS = {
    "webmorph_lisa": (
        {"frontal_1.jpg", "frontal_2.jpg", "frontal_3.jpg"},
        {"frontal_4.jpg", "frontal_5.jpg"},
    ),
}
ONE_SESSION_PREFIXES = ("london_", "intel_")
ONE_DAY_PREFIXES = ("caltech1999_",)


def occasion(a: Photo, b: Photo) -> str:
    if a.person.startswith(ONE_SESSION_PREFIXES):
        return "one session or video"
    if a.person.startswith(ONE_DAY_PREFIXES):
        return "same day, other places"
    groups = SESSIONS.get(a.person, ())
    file_a, file_b = a.name.split("/", 1)[1], b.name.split("/", 1)[1]
    if any(file_a in group and file_b in group for group in groups):
        return "one session or video"
    return "different occasions"


def describe(values: list[float]) -> str:
    if not values:
        return "none"
    v = np.asarray(values)
    return (
        f"n={len(v)} min {v.min():.3f} p1 {np.percentile(v, 1):.3f} p5 {np.percentile(v, 5):.3f} "
        f"median {np.median(v):.3f} p99 {np.percentile(v, 99):.3f} max {v.max():.3f}"
    )


class Faces:
    """The subject face of each photo (and of edited copies), analysed once."""

    def __init__(self, backend) -> None:
        self.backend = CachedBackend(backend)

    def face(self, image: np.ndarray):
        return largest_face(self.backend.analyze(image))

    def embedding(self, photo: Photo) -> np.ndarray | None:
        face = self.face(photo.image)
        return None if face is None else l2_normalise(face.embedding)

    def pose(self, photo: Photo) -> str | None:
        face = self.face(photo.image)
        return None if face is None else pose_class(face.yaw)


def identity_figures(faces: Faces, people: dict[str, list[Photo]], judged: tuple[str, ...]) -> None:
    photos = [p for group in people.values() for p in group if faces.embedding(p) is not None]
    pairs: dict[str, list[float]] = {"same person": [], "different people": [], "profiles, different": []}
    for a, b in itertools.combinations(photos, 2):
        value = float(faces.embedding(a) @ faces.embedding(b))
        both_judged = faces.pose(a) in judged and faces.pose(b) in judged
        if a.person == b.person and both_judged:
            pairs["same person"].append(value)
        elif a.person != b.person and both_judged:
            pairs["different people"].append(value)
        elif a.person != b.person and faces.pose(a) == faces.pose(b) == "profile":
            pairs["profiles, different"].append(value)
    print("photo to photo (poses the backend judges; profiles apart):")
    for label, values in pairs.items():
        print(f"  {label}: {describe(values)}")
    same, strangers = [], []
    for person, group in people.items():
        usable = [p for p in group if faces.embedding(p) is not None and faces.pose(p) in judged]
        for size in (1, 2, 3):
            for chosen in itertools.combinations(usable, size):
                centroid = l2_normalise(np.sum([faces.embedding(p) for p in chosen], axis=0))
                same += [float(faces.embedding(p) @ centroid) for p in usable if p not in chosen]
                strangers += [float(faces.embedding(p) @ centroid) for p in photos if p.person != person]
    print("to the centroid of 1-3 of a person's photos (judged poses):")
    print(f"  the person's other photos: {describe(same)}")
    print(f"  strangers (every pose): {describe(strangers)}")


def head_crop(image: np.ndarray, face: Face) -> tuple[float, float, float, float]:
    """The head and shoulders around ``face``, as fractions of the image: a copy cropped to the
    person, never through the face (a fixed crop of the whole image cut off faces near an edge and
    compared another person's face in group photos)."""
    height, width = image.shape[:2]
    left, top, right, bottom = face.bbox
    margin = face.height
    return (
        max(0.0, (left - margin) / width),
        max(0.0, (top - margin) / height),
        min(1.0, (right + margin) / width),
        min(1.0, (bottom + margin) / height),
    )


def copy_edits(image: np.ndarray, face: Face) -> dict[str, np.ndarray]:
    face_height = face.height
    return {
        "resized 0.5x": edits.resized(image, 0.5),
        "resized to a 120 px face": edits.resized(image, min(1.0, 120 / face_height)),
        "JPEG quality 30": edits.recompressed(image, 30),
        "brighter x1.3 (clipped)": np.clip(image.astype(np.float32) * 1.3 + 10, 0, 255).astype(np.uint8),
        "brighter x1.15": edits.brightened(image, 1.15),
        "mirrored": edits.flipped(image),
        "cropped to the head": edits.cropped(image, *head_crop(image, face)),
        "rotated 5 degrees": edits.rotated(image, 5),
        "rotated 10 degrees": edits.rotated(image, 10),
        "denoised (NL-means)": edits.denoised(image),
        "re-rendered": edits.rerendered(image),
        "blurred": edits.blurred(image, max(1.0, face_height / 150)),
    }


def copy_figures(faces: Faces, people: dict[str, list[Photo]]) -> None:
    crops: dict[str, np.ndarray] = {}
    for group in people.values():
        for photo in group:
            face = faces.face(photo.image)
            if face is not None:
                crops[photo.name] = aligned_face_crop(photo.image, face)
    by_occasion: dict[str, list[float]] = {}
    for group in people.values():
        for a, b in itertools.combinations([p for p in group if p.name in crops], 2):
            value = crop_match(crops[a.name], crops[b.name]).correlation
            by_occasion.setdefault(occasion(a, b), []).append(value)
    print("aligned face crops matched (registered correlation):")
    for label, values in by_occasion.items():
        print(f"  other photos of the person, {label}: {describe(values)}")
    by_edit: dict[str, list[float]] = {}
    for group in people.values():
        for photo in group:
            face = faces.face(photo.image)
            if face is None:
                continue
            for label, edited in copy_edits(photo.image, face).items():
                edited_face = faces.face(np.ascontiguousarray(edited))
                if edited_face is not None:
                    match = crop_match(crops[photo.name], aligned_face_crop(edited, edited_face))
                    by_edit.setdefault(label, []).append(match.correlation)
    for label, values in by_edit.items():
        print(f"  edited copy, {label}: {describe(values)}")


def texture_figures(faces: Faces, people: dict[str, list[Photo]]) -> None:
    measured: dict[str, dict[str, float]] = {}
    smoothing: dict[str, list[float]] = {"skin smoothed (bilateral)": [], "beauty filter": []}
    filters: dict[str, Callable] = {
        "skin smoothed (bilateral)": edits.skin_smoothed,
        "beauty filter": edits.beauty_filtered,
    }
    for person, group in people.items():
        for photo in group:
            face = faces.face(photo.image)
            value = skin_texture(photo.image, face) if face is not None else None
            if value is None:
                continue
            measured.setdefault(person, {})[photo.name] = value
            for label, smooth in filters.items():
                smoothed = skin_texture(np.ascontiguousarray(smooth(photo.image, face.height)), face)
                if smoothed is not None:
                    smoothing[label].append(smoothed / value)
    ratios = []
    for values in measured.values():
        for name, value in values.items():
            others = [v for other, v in values.items() if other != name]
            for size in (1, 2, 3):
                ratios += [value / min(chosen) for chosen in itertools.combinations(others, size)]
    print(f"skin texture measured on {sum(map(len, measured.values()))} faces of {len(measured)} people")
    print(f"  a photo / the smoothest of 1-3 of the person's other photos: {describe(ratios)}")
    for label, values in smoothing.items():
        print(f"  {label} / the photo itself: {describe(values)}")


def phash_figures(people: dict[str, list[Photo]]) -> None:
    headshots = [
        perceptual_hash(p.image) for person, g in people.items() if person.startswith("cc0avatar") for p in g
    ]
    distances = [a - b for a, b in itertools.combinations(headshots, 2)]
    print(f"phash, {len(headshots)} head-and-shoulders photos of different people: {describe(distances)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=("identity", "copies", "texture", "phash"))
    args = parser.parse_args()
    if shared_faces_dir() is None:
        sys.exit("no real face photo set here: set IDENTITY_LORA_FACES to its folder")
    backend = load_backend([], "centerface").backend
    faces, people = Faces(backend), photos_by_person()
    wanted = set(args.only or ("identity", "copies", "texture", "phash"))
    print(f"{backend.name}; {sum(map(len, people.values()))} photos of {len(people)} people\n")
    if "identity" in wanted:
        identity_figures(faces, people, backend.scale.judged_poses)
    if "copies" in wanted:
        copy_figures(faces, people)
    if "texture" in wanted:
        texture_figures(faces, people)
    if "phash" in wanted:
        phash_figures(people)


if __name__ == "__main__":
    main()
