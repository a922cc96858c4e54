"""The face backend and the reference identity, shared by StrengthSweep (probes) and ArcFaceScore."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .comfy_glue.images import images_to_arrays
from .comfy_glue.model_folders import insightface_roots
from .comfy_glue.progress import is_interrupted

BACKENDS = ["auto", "insightface", "centerface", "dlib"]


@dataclass(frozen=True)
class References:
    """StrengthSweep's reference identity: the checked dataset (its measured poses choose the pose
    probe) and the reference photos, analysed once for the coarse pass and the probe together."""

    dataset: Any  # the reference IDENTITY_DATASET, or None
    analysed: (
        Any  # identity_core.evaluation.reference.ReferenceOnce over the dataset's and the images' photos
    )

    @classmethod
    def of(cls, dataset, reference_images) -> References:
        """Nothing is read yet: the photos are loaded and analysed on first use."""
        from ..identity_core.evaluation.reference import ReferenceOnce

        load = functools.partial(reference_photos, dataset, reference_images, required=False)
        return cls(dataset, ReferenceOnce(load, is_interrupted))

    def photos(self) -> list:
        return self.analysed.photos()

    def identity(self, backend):
        """The reference as ``backend`` measures it (built once per backend)."""
        return self.analysed.identity(backend)


def load_face_backend(preference: str, pack: str):
    """The backend choice, kept between runs by ``load_backend_once`` (a bounded cache)."""
    from ..identity_core.faces import load_backend_once

    return load_backend_once(insightface_roots(), preference, pack.strip() or "auto")


def reference_photos(dataset, reference_images, required: bool = True) -> list:
    """``(label, RGB array)`` pairs from the checked dataset and/or reference images, each at most
    ``IDENTITY_LONG_SIDE`` on its long side, at most ``COUNT_CAPS["reference photos"]`` in all."""
    from ..identity_core.bounded_photos import fit_long_side
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.evaluation.reference import load_reference_photos
    from ..identity_core.input_limits import check_count

    photos = []
    if dataset is not None:
        photos += load_reference_photos(dataset.image_paths)
    if reference_images is not None:
        check_count("reference photos", len(photos) + len(reference_images))
        photos += [
            (f"reference image {i + 1}", fit_long_side(images_to_arrays(image[None])[0]))
            for i, image in enumerate(reference_images)
        ]
    if not photos and required:
        raise EvaluationError(
            "No reference identity was given",
            "connect the checked dataset (DatasetCheck) or reference photos of the person",
            "reference_dataset / reference_images",
        )
    return photos
