"""The measurements behind the evaluation's own thresholds (``identity_core/evaluation/thresholds.py``).

On the project's shared real face photos (``$IDENTITY_LORA_FACES``), with the dlib backend:

- skin texture (``texture.skin_texture``): its spread over several photos of one person, and
  what a blur of sigma = face height / 100 or / 70 and a halved resolution do to it (ratios);
- whole-image perceptual-hash distances between different head-and-shoulders photos of one
  framing (the ``cc0avatar_*`` set), and between frames of one video where only the head moves.

Run: IDENTITY_LORA_FACES=/path/to/faces python benchmarks/judgement_figures.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devkit.photos import blurred, resized
from devkit.real_faces import load_upright, shared_faces_dir
from identity_core.evaluation.subject_face import largest_face, perceptual_hash
from identity_core.evaluation.texture import skin_texture
from identity_core.faces.dlib_backend import DlibBackend


def _photos(pattern: str) -> list[str]:
    root = shared_faces_dir()
    return sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.suffix.lower() != ".md")


def texture_figures(backend: DlibBackend) -> None:
    by_person: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {"blur h/100": [], "blur h/70": [], "half resolution": []}
    for name in _photos("*/*"):
        if name.startswith("_multi"):
            continue
        image = load_upright(shared_faces_dir() / name)
        face = largest_face(backend.analyze(image))
        value = skin_texture(image, face) if face is not None else None
        if value is None:
            continue
        by_person.setdefault(name.split("/")[0], []).append(value)
        changed = {
            "blur h/100": blurred(image, face.height / 100),
            "blur h/70": blurred(image, face.height / 70),
            "half resolution": resized(resized(image, 0.5), 2.0)[: image.shape[0], : image.shape[1]],
        }
        for label, other in changed.items():
            other_value = skin_texture(np.ascontiguousarray(other), face)
            if other_value is not None:
                ratios[label].append(other_value / value)
    measured = sum(len(v) for v in by_person.values())
    print(f"skin texture measured on {measured} faces of {len(by_person)} people")
    for person, values in by_person.items():
        if len(values) > 1:
            low, high = (v / float(np.median(values)) for v in (min(values), max(values)))
            print(f"  {person}: {len(values)} photos, {low:.2f}-{high:.2f} x median")
    for label, values in ratios.items():
        print(f"  {label}: {min(values):.2f}-{max(values):.2f} x (median {np.median(values):.2f})")


def phash_figures() -> None:
    headshots = [
        perceptual_hash(load_upright(shared_faces_dir() / name)) for name in _photos("cc0avatar_*/*")
    ]
    pairs = [a - b for a, b in itertools.combinations(headshots, 2)]
    print(
        f"phash, {len(headshots)} head-and-shoulders photos of different people: {min(pairs)}-{max(pairs)} "
        f"bits (5th percentile {np.percentile(pairs, 5):.0f}, median {np.median(pairs):.0f})"
    )
    frames = [perceptual_hash(load_upright(shared_faces_dir() / name)) for name in _photos("intel_woman_a/*")]
    pairs = [a - b for a, b in itertools.combinations(frames, 2)]
    print(f"phash, {len(frames)} frames of one video (the head moves): {min(pairs)}-{max(pairs)} bits")


def main() -> None:
    if shared_faces_dir() is None:
        sys.exit("no real face photo set here: set IDENTITY_LORA_FACES to its folder")
    texture_figures(DlibBackend())
    phash_figures()


if __name__ == "__main__":
    main()
