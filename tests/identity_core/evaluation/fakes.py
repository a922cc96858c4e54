"""Constructed faces for evaluation tests: a backend that returns prepared Face objects.

Images are random noise (so whole-image hashes of different images are far apart); the
backend looks each image up by its bytes and returns the faces registered for it. An
embedding with a chosen cosine to the reference direction is built from a unit vector
and an orthogonal random part, so every similarity in a test is exact by construction.
"""

from __future__ import annotations

import hashlib

import numpy as np

from identity_core.faces.identity_scale import IdentityScale
from identity_core.faces.model import Face

DIM = 128
# Landmarks of the constructed embedding space: the likeness target sits above the same-person
# floor, as it does for every real backend.
FAKE_SCALE = IdentityScale(
    model="constructed faces (test)",
    same_person=0.45,
    likeness_target=0.6,
    resembles=0.45,
    bleed=0.55,
    sources=("constructed for tests",),
)
REFERENCE_DIRECTION = np.eye(DIM, dtype=np.float32)[0]


def embedding_with_similarity(similarity: float, rng: np.random.Generator) -> np.ndarray:
    other = rng.standard_normal(DIM).astype(np.float32)
    other[0] = 0.0
    other /= np.linalg.norm(other)
    return (similarity * REFERENCE_DIRECTION + np.sqrt(1 - similarity**2) * other).astype(np.float32)


def noise_image(seed: int, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def face(embedding: np.ndarray, yaw: float = 0.0, box=(16.0, 16.0, 48.0, 48.0), roll: float = 0.0) -> Face:
    return Face(bbox=box, score=0.99, kps=None, yaw=yaw, pitch=0.0, roll=roll, embedding=embedding)


class FakeBackend:
    name = "constructed faces (test)"
    scale = FAKE_SCALE
    same_person_cosine = FAKE_SCALE.same_person

    def __init__(self) -> None:
        self._faces: dict[str, list[Face]] = {}

    def register(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        self._faces[self._key(image)] = faces
        return image

    def analyze(self, image_rgb: np.ndarray) -> list[Face]:
        return list(self._faces.get(self._key(image_rgb), []))

    @staticmethod
    def _key(image: np.ndarray) -> str:
        return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


SEED_POSES = [
    (-12.0, (10.0, 14.0, 40.0, 44.0)),
    (3.0, (20.0, 18.0, 56.0, 54.0)),
    (15.0, (14.0, 8.0, 38.0, 32.0)),
]


def make_sweep(backend: FakeBackend, table: dict, lora_name: str = "run.safetensors", copies=(), sweep=None):
    """A sweep whose faces have the similarities in ``table``.

    ``table`` maps ``(prompt_id, strength)`` to one similarity for all seeds, or to a list
    of per-seed ``(similarity, yaw)``; the prompt's role is inferred from its id as the prompt
    parser does ("control..." is a control prompt, "style..." a style prompt). Cells listed in
    ``copies`` repeat one image for every seed (carbon copies).
    """
    from identity_core.evaluation.model import Sweep, SweepEntry
    from identity_core.evaluation.prompts import infer_role

    sweep = sweep or Sweep(entries=[], trigger_token="ohwx", class_word="man")
    rng = np.random.default_rng(len(sweep.entries) + 7)
    for (prompt_id, strength), value in table.items():
        per_seed = value if isinstance(value, list) else [(value, None)] * len(SEED_POSES)
        shared = None
        for seed, ((similarity, yaw), (pose_yaw, box)) in enumerate(zip(per_seed, SEED_POSES, strict=False)):
            if (prompt_id, strength) in copies and shared is not None:
                image = shared.copy()
            else:
                image = noise_image(int(rng.integers(1 << 30)))
                faces = (
                    []
                    if similarity is None
                    else [
                        face(
                            embedding_with_similarity(similarity, rng), pose_yaw if yaw is None else yaw, box
                        )
                    ]
                )
                backend.register(image, faces)
                shared = image
            sweep.entries.append(
                SweepEntry(
                    image,
                    prompt_id,
                    f"{prompt_id} prompt",
                    strength,
                    seed,
                    lora_name,
                    role=infer_role(prompt_id, "" if prompt_id.startswith("control") else "{token}"),
                    beyond_design=strength > 1.2,
                )
            )
    return sweep


def one_person_reference(backend: FakeBackend):
    """Three reference photos whose faces all point exactly along the identity direction."""
    from identity_core.evaluation.reference import build_reference

    images = [backend.register(noise_image(5000 + i), [face(REFERENCE_DIRECTION)]) for i in range(3)]
    return build_reference([(f"train_{i}.jpg", image) for i, image in enumerate(images)], backend)
