"""Constructed sweeps from real photos: the judgement checked on people, not on made-up numbers.

For every person of the shared real photo set with at least :data:`MIN_PHOTOS` photos and for
every way of choosing 2 or 3 of them as the reference (the "training photos"), four sweeps are
built whose "generated" images are real photos, and each has a right answer:

- ``a``: the person's other photos on the identity prompts, strangers on the control prompt:
  it must pass (a LoRA that draws the person as their own camera does is a good LoRA);
- ``b``: the strangers closest to the person on the identity prompts: weak identity, never
  memorisation;
- ``c``: the reference photos themselves on the identity prompts: memorisation;
- ``d``: like ``a``, with the strangers closest to the person on the control prompt: it must
  pass, without identity bleed.

Across all of them (``e``), no sweep of real photos may be diagnosed with waxy skin, and none
whose control prompt shows other people with identity bleed.

A split whose other photos are all in a pose the backend cannot judge (dlib on profiles) has
no identity to measure: there the right answer for ``a`` and ``d`` is "not measured", with no
diagnosis. Used by ``benchmarks/judgement_sweeps.py`` (the whole table) and by the tests (a
sample of it).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from identity_core.bounded_photos import read_photo
from identity_core.evaluation.failure_modes import IDENTITY_BLEED, MEMORISATION, WAXY_SKIN, WEAK_IDENTITY
from identity_core.evaluation.model import Sweep, SweepEntry
from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.report import EvaluationReport
from identity_core.evaluation.subject_face import perceptual_hash
from identity_core.evaluation.thresholds import Thresholds
from identity_core.faces.model import Face, FaceBackend, l2_normalise
from identity_core.faces.pose import pose_class

from .real_faces import shared_faces_dir, shared_photos

MIN_PHOTOS = 4
REFERENCE_SIZES = (2, 3)
STRANGERS_PER_CELL = 3
IDENTITY_PROMPTS = ("portrait", "environment", "outfit")
STRENGTHS = (0.8, 1.0)
LORA = "constructed.safetensors"
SPLITS = ("a", "b", "c", "d")
SPLIT_TITLES = {
    "a": "other photos of the person: pass",
    "b": "closest strangers as the person: weak identity, not memorisation",
    "c": "the reference photos themselves: memorisation",
    "d": "other photos, closest strangers on the control prompt: pass, no bleed",
}
NOT_MEASURED = "not measured"


class CachedBackend:
    """A face backend whose analyses are kept by image content: the same photo appears in many
    constructed sweeps, and detection plus embedding is the expensive part."""

    def __init__(self, backend: FaceBackend) -> None:
        self._backend = backend
        self._faces: dict[bytes, list[Face]] = {}
        self.name = backend.name
        self.scale = backend.scale
        self.same_person_cosine = backend.same_person_cosine
        for attribute in ("sees", "cannot_see", "max_yaw"):
            if hasattr(backend, attribute):
                setattr(self, attribute, getattr(backend, attribute))

    def analyze(self, image_rgb: np.ndarray) -> list[Face]:
        key = hashlib.blake2b(np.ascontiguousarray(image_rgb).tobytes(), digest_size=16).digest()
        key += repr(image_rgb.shape).encode()
        if key not in self._faces:
            self._faces[key] = self._backend.analyze(image_rgb)
        return self._faces[key]


@dataclass(frozen=True)
class Photo:
    name: str  # "person/file.jpg", relative to the shared folder
    person: str
    image: np.ndarray = field(repr=False, compare=False)


@cache
def _decoded(path: Path) -> np.ndarray:
    return read_photo(path)


def photos_by_person() -> dict[str, list[Photo]]:
    """Every one-person shared photo, decoded as the pack decodes photos (long side capped)."""
    folder = shared_faces_dir()
    people: dict[str, list[Photo]] = {}
    for labelled in shared_photos():
        if labelled.path is None or len(labelled.faces) != 1:
            continue
        person = labelled.path.parent.name  # the README's label may add age and sex
        photo = Photo(str(labelled.path.relative_to(folder)), person, _decoded(labelled.path))
        people.setdefault(person, []).append(photo)
    return people


@dataclass(frozen=True)
class Split:
    person: str
    references: tuple[Photo, ...]
    others: tuple[Photo, ...]

    @property
    def label(self) -> str:
        names = ", ".join(p.name.split("/", 1)[1] for p in self.references)
        return f"{self.person} [{names}]"


SAME_PICTURE_BITS = 10  # whole-image phash: edits of one photo stay within it (notes faces.md §4)


def splits(people: dict[str, list[Photo]], sizes: tuple[int, ...] = REFERENCE_SIZES) -> Iterator[Split]:
    """Every person with enough photos, every choice of 2-3 reference photos.

    The "other photos" leave out any that is the same picture as a reference photo (video frames
    a moment apart, whole images within ``SAME_PICTURE_BITS``): that is a copy, not another photo;
    and of other photos that are one picture, they keep one.
    """
    for person, photos in sorted(people.items()):
        if len(photos) < MIN_PHOTOS:
            continue
        for size in sizes:
            for chosen in itertools.combinations(photos, size):
                others = tuple(p for p in photos if p not in chosen and not _same_picture(p, chosen))
                yield Split(person, chosen, _distinct_pictures(others))


def _distinct_pictures(photos: tuple[Photo, ...]) -> tuple[Photo, ...]:
    """One photo of each picture: a LoRA's seeds are independent pictures, and frames of one video
    a moment apart (within ``SAME_PICTURE_BITS``) are one picture, which the sweep would rightly
    call a carbon copy."""
    kept: list[Photo] = []
    for photo in photos:
        if not _same_picture(photo, tuple(kept)):
            kept.append(photo)
    return tuple(kept)


def _same_picture(photo: Photo, references: tuple[Photo, ...]) -> bool:
    return any(_phash(photo) - _phash(reference) <= SAME_PICTURE_BITS for reference in references)


def _phash(photo: Photo):
    if photo.name not in _PHASHES:
        _PHASHES[photo.name] = perceptual_hash(photo.image)
    return _PHASHES[photo.name]


_PHASHES: dict[str, object] = {}


@dataclass
class Judged:
    split: Split
    kind: str  # a, b, c, d
    report: EvaluationReport
    right: bool
    verdict: str  # what the sweep was judged, in a few words

    @property
    def diagnoses(self) -> list[str]:
        return [d.mode.issue for d in self.report.recommendation.diagnoses]

    @property
    def notes(self) -> list[str]:
        return list(self.report.recommendation.notes)


class Judge:
    """Builds and judges the constructed sweeps of one backend (its analyses cached)."""

    def __init__(self, backend: FaceBackend, people: dict[str, list[Photo]]) -> None:
        self.backend = CachedBackend(backend)
        self.people = people
        self.thresholds = Thresholds.from_scale(backend.scale)
        self._embeddings: dict[str, np.ndarray | None] = {}

    def judge_split(self, split: Split) -> list[Judged]:
        reference = build_reference([(p.name, p.image) for p in split.references], self.backend)
        closest = self.closest_strangers(split, reference.centroid)
        usual = self.usual_strangers(split.person)
        sweeps = {"b": _sweep(closest, usual), "c": _sweep(split.references, usual)}
        if split.others:  # every other photo may be the same picture as a reference (video frames)
            sweeps = {"a": _sweep(split.others, usual), **sweeps, "d": _sweep(split.others, closest)}
        return [self._judged(split, kind, sweep, reference) for kind, sweep in sweeps.items()]

    def _judged(self, split: Split, kind: str, sweep: Sweep, reference) -> Judged:
        report = evaluate_sweep(sweep, reference, self.backend, self.thresholds)
        right, verdict = expected_verdict(kind, report)
        return Judged(split, kind, report, right, verdict)

    def embedding(self, photo: Photo) -> np.ndarray | None:
        if photo.name not in self._embeddings:
            faces = self.backend.analyze(photo.image)
            face = max(faces, key=lambda f: f.area) if faces else None
            self._embeddings[photo.name] = l2_normalise(face.embedding) if face is not None else None
        return self._embeddings[photo.name]

    def judged(self, photo: Photo) -> bool:
        faces = self.backend.analyze(photo.image)
        face = max(faces, key=lambda f: f.area) if faces else None
        return face is not None and self.backend.scale.judges_pose(pose_class(face.yaw))

    def strangers(self, person: str) -> list[Photo]:
        return [p for other, photos in sorted(self.people.items()) if other != person for p in photos]

    def closest_strangers(self, split: Split, centroid: np.ndarray) -> tuple[Photo, ...]:
        """The other people's photos that read closest to the reference identity, among the poses
        the backend judges (a profile's similarity says nothing to dlib)."""
        scored = [
            (float(e @ centroid), p.name, p)
            for p in self.strangers(split.person)
            if (e := self.embedding(p)) is not None and self.judged(p)
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        chosen: list[Photo] = []
        for _, _, photo in scored:
            if photo.person not in {p.person for p in chosen}:
                chosen.append(photo)
            if len(chosen) == STRANGERS_PER_CELL:
                break
        return tuple(chosen)

    def usual_strangers(self, person: str) -> tuple[Photo, ...]:
        """Three other people picked by a fixed draw (the same for every split of a person)."""
        pool = self.strangers(person)
        seed = int(hashlib.sha256(person.encode()).hexdigest()[:8], 16)
        picks = np.random.default_rng(seed).choice(len(pool), size=STRANGERS_PER_CELL, replace=False)
        return tuple(pool[i] for i in sorted(picks))


def _sweep(identity: tuple[Photo, ...], control: tuple[Photo, ...]) -> Sweep:
    entries = []
    for strength in STRENGTHS:
        for prompt in IDENTITY_PROMPTS:
            entries += [_entry(p, prompt, "identity", strength, seed) for seed, p in enumerate(identity)]
        entries += [_entry(p, "control", "control", strength, seed) for seed, p in enumerate(control)]
    return Sweep(entries, "zyqux", "person", settings={"constructed_from": "real photos"})


def _entry(photo: Photo, prompt: str, role: str, strength: float, seed: int) -> SweepEntry:
    return SweepEntry(photo.image, prompt, prompt, strength, seed, LORA, role=role)


def _modes(report: EvaluationReport) -> set[str]:
    return {d.mode.issue for d in report.recommendation.diagnoses}


def spurious(report: EvaluationReport) -> list[str]:
    """(e): diagnoses no sweep of real photos may get."""
    return sorted(_modes(report) & {WAXY_SKIN.issue, IDENTITY_BLEED.issue})


def expected_verdict(kind: str, report: EvaluationReport) -> tuple[bool, str]:
    """Whether the judgement is right for this kind of constructed sweep, and what it said."""
    rec, modes = report.recommendation, _modes(report)
    if spurious(report):
        return False, "spurious " + ", ".join(spurious(report))
    if kind in ("a", "d"):
        if rec.passed:
            return not modes, "pass"
        if not report.identity_measured:
            return not modes, NOT_MEASURED
        return False, "fail: " + (", ".join(sorted(modes)) or "no diagnosis")
    if kind == "b":
        right = not rec.passed and WEAK_IDENTITY.issue in modes and MEMORISATION.issue not in modes
        return right, "pass" if rec.passed else ", ".join(sorted(modes))
    right = not rec.passed and MEMORISATION.issue in modes
    return right, "pass" if rec.passed else ", ".join(sorted(modes))
