"""Scoring on real photos shipped in installed packages.

dlib path: the real dlib detector and 128-d model (public-domain weights) separate Grace
Hopper from other people. insightface path: the real insightface recognition code runs a
stand-in ArcFace ONNX built by the test (a fixed random projection, NOT a face model), with
faces located by dlib, because the stand-in detector never fires. It proves that sweep
scoring works through insightface's embedding plumbing and alignment; it says nothing about
ArcFace's accuracy.
"""

import numpy as np

from devkit.photos import (
    astronaut,
    brightened,
    grace_hopper,
    on_canvas,
    resized,
    rotated,
    tom_hanks,
)
from identity_core.evaluation.failure_modes import MEMORISATION
from identity_core.evaluation.model import Sweep, SweepEntry
from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.thresholds import Thresholds
from identity_core.faces import Face


def _entries(images, prompt_id, strength, control=False):
    return [
        SweepEntry(img, prompt_id, prompt_id, strength, seed, "run.safetensors", control)
        for seed, img in enumerate(images)
    ]


def test_same_person_and_other_people_are_separated_by_dlib(dlib_backend, grace_reference):
    reference = grace_reference
    grace = grace_hopper()
    same = [rotated(resized(grace, 0.8), 8), resized(rotated(grace, -6), 0.9)]
    others = [astronaut(), resized(tom_hanks(), 3.0)]
    sweep = Sweep(entries=_entries(same, "portrait", 1.0) + _entries(others, "control", 1.0, control=True))
    thresholds = Thresholds.from_scale(dlib_backend.scale)
    report = evaluate_sweep(sweep, reference, dlib_backend, thresholds)
    by_prompt = {c.prompt_id: c for c in report.cells}
    same_scores = [s for s in by_prompt["portrait"].similarities]
    other_scores = [s for s in by_prompt["control"].similarities]
    assert None not in same_scores + other_scores, "dlib must find every face"
    assert min(same_scores) >= thresholds.same_person > max(other_scores)
    assert min(same_scores) - max(other_scores) > 0.1
    assert by_prompt["portrait"].reaches_target and not by_prompt["control"].leakage
    assert report.backend_name.startswith("dlib")


def test_the_same_person_on_the_control_prompt_is_leakage(dlib_backend, grace_reference):
    reference = grace_reference
    grace = grace_hopper()
    leaking = [rotated(resized(grace, 0.85), 5), rotated(resized(grace, 0.75), -5)]  # the person, as copies
    sweep = Sweep(entries=_entries(leaking, "control", 1.0, control=True))
    report = evaluate_sweep(sweep, reference, dlib_backend, Thresholds.from_scale(dlib_backend.scale))
    assert report.cells[0].leakage


def test_near_copies_of_a_training_photo_are_memorisation_and_carbon_copies(dlib_backend, grace_reference):
    reference = grace_reference
    grace = grace_hopper()
    copies = [resized(grace, 0.9), brightened(grace, 1.05), resized(grace, 0.95)]
    sweep = Sweep(
        entries=_entries(copies, "portrait", 1.0) + _entries([astronaut()], "control", 1.0, control=True)
    )
    report = evaluate_sweep(sweep, reference, dlib_backend, Thresholds.from_scale(dlib_backend.scale))
    cell = report.cell("run.safetensors", "portrait", 1.0)
    assert cell.memorised and {m.reference_label for m in cell.memorised} <= set(reference.labels)
    assert len(cell.carbon_copies) == 3
    assert not report.recommendation.passed
    assert MEMORISATION in [d.mode for d in report.recommendation.diagnoses]


class _DlibLocatedInsightFace:
    """Faces located by dlib, embedded by insightface's recognition code (see module doc)."""

    def __init__(self, locator, insightface_backend):
        self._locator = locator
        self._insightface = insightface_backend
        self.name = insightface_backend.name
        self.scale = insightface_backend.scale
        self.same_person_cosine = insightface_backend.same_person_cosine

    def analyze(self, image_rgb):
        return [
            Face(f.bbox, f.score, f.kps, f.yaw, f.pitch, f.roll, self._insightface.embed(image_rgb, f.kps))
            for f in self._locator.analyze(image_rgb)
        ]


def test_scoring_through_the_insightface_path_with_a_stand_in_arcface(dlib_backend, tmp_path):
    from devkit.stand_in_onnx import stand_in_pack
    from identity_core.faces.insightface_backend import InsightFaceBackend

    pack = stand_in_pack(tmp_path / "models" / "stand_in_pack")
    backend = _DlibLocatedInsightFace(dlib_backend, InsightFaceBackend(pack))
    assert backend.name == "insightface stand_in_pack"
    reference = build_reference([("grace.jpg", grace_hopper())], backend)
    assert reference.embeddings.shape == (1, 512)
    grace = grace_hopper()
    # the same photo moved, scaled and turned: alignment must bring the crops back together
    moved = [rotated(grace, 12), on_canvas(resized(grace, 0.7), (700, 700), position=(0.4, 0.55))]
    sweep = Sweep(entries=_entries(moved, "portrait", 0.8))
    report = evaluate_sweep(sweep, reference, backend, Thresholds.from_scale(backend.scale))
    similarities = report.cells[0].similarities
    assert all(s is not None and s > 0.9 for s in similarities), similarities
    assert np.isfinite(report.cells[0].seed_consistency)
