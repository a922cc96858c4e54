"""The face backend and the reference identity, shared by StrengthSweep (probes) and ArcFaceScore."""

from __future__ import annotations

from . import comfy_glue as glue

BACKENDS = ["auto", "insightface", "dlib"]
_BACKEND_CACHE: dict = {}


def load_face_backend(preference: str, pack: str):
    """The backend choice (cached per preference, pack and model folders)."""
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.faces import FaceBackendError, load_backend

    roots = tuple(glue.insightface_roots())
    key = (preference, pack.strip() or "auto", roots)
    if key not in _BACKEND_CACHE:
        try:
            _BACKEND_CACHE[key] = load_backend(list(roots), preference, pack.strip() or "auto")
        except FaceBackendError as error:
            raise EvaluationError(
                str(error), "install the pack, or choose backend 'dlib' (or 'auto')", "backend"
            ) from error
    return _BACKEND_CACHE[key]


def reference_photos(dataset, reference_images, required: bool = True) -> list:
    """``(label, RGB array)`` pairs from the checked dataset and/or reference images."""
    from ..identity_core.evaluation import EvaluationError
    from ..identity_core.evaluation.reference import load_reference_photos

    photos = []
    if dataset is not None:
        photos += load_reference_photos(dataset.image_paths)
    if reference_images is not None:
        photos += [
            (f"reference image {i + 1}", a) for i, a in enumerate(glue.images_to_arrays(reference_images))
        ]
    if not photos and required:
        raise EvaluationError(
            "No reference identity was given",
            "connect the checked dataset (DatasetCheck) or reference photos of the person",
            "reference_dataset / reference_images",
        )
    return photos
