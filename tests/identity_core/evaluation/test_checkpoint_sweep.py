"""Checkpoint x strength evaluation on real faces: a run whose early checkpoints draw other people,
whose middle ones draw the subject, and whose last one reproduces the training photos.

The "samples" are real photos from the project's shared face set (Obama's four photos: two are
the training photos, two are other photos of him; strangers from the same set), measured by the
real dlib detector and 128-d model. The copies score the highest likeness of all, so the pick
must set them aside (the copy signal vetoes); the middle checkpoints are flat while the loss keeps
falling, which is the evaluation protocol's "loss still dropping, visuals not improving".
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from devkit.photos import flipped
from devkit.real_faces import FACES_ENV, shared_faces_dir
from identity_core.evaluation.checkpoint_pick import pick_checkpoints
from identity_core.evaluation.checkpoint_sweep import (
    SOURCE_SWEEP,
    CheckpointSweep,
    attach_run_losses,
    training_curve,
)
from identity_core.evaluation.checkpoint_verdict import EARLY_STOP_ISSUE, PLATEAU_ISSUE, CheckpointChoice
from identity_core.evaluation.checkpoints import CheckpointFile, CheckpointSet, EarlyStop
from identity_core.evaluation.coarse_likeness import CoarseLikeness
from identity_core.evaluation.likeness_curve import LikenessCurve
from identity_core.evaluation.measure import measure_image
from identity_core.evaluation.model import Sweep, SweepEntry
from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.recommend import Recommendation
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.thresholds import Thresholds
from identity_core.reports.checkpoint_chart import checkpoint_chart
from tests.fixtures.shared_faces import shared_photo

RUN_FOLDER = Path("/private/work/runs/run-abc123")  # never read: the report must not name it
STRANGERS, SUBJECT, COPIES = "strangers", "subject", "copies"
# checkpoint step -> what its samples show
RUN = {100: STRANGERS, 200: SUBJECT, 300: SUBJECT, 400: SUBJECT, 500: SUBJECT, 600: COPIES}
TRAINING_PHOTOS = ("obama/frontal_1.jpg", "obama/frontal_2.jpg")


def _file(step: int) -> Path:
    return RUN_FOLDER / f"obama-step{step:08d}.safetensors"


@pytest.fixture(scope="module")
def photos(dlib_backend):
    """Two seeds per prompt (portrait, environment) of each kind; the reference is the training photos."""
    if shared_faces_dir() is None:
        pytest.skip(
            f"the real photo set is absent (set {FACES_ENV} or place it at <repo>/../shared/faces): these "
            "tests need several real photos of one person, which the registry photos do not have"
        )
    training = [shared_photo(name) for name in TRAINING_PHOTOS]
    others = [shared_photo("obama/frontal_3.jpg"), shared_photo("obama/frontal_4.jpg")]
    kinds = {
        STRANGERS: {
            "portrait": [shared_photo("biden/frontal_2.jpg"), shared_photo("chris_pratt/frontal_1.jpeg")],
            "environment": [
                shared_photo("codait_luciano/frontal_1.png"),
                shared_photo("pexels_neutral_woman/frontal_1.jpeg"),
            ],
        },
        SUBJECT: {"portrait": others, "environment": [flipped(image) for image in others]},
        COPIES: {"portrait": training, "environment": [flipped(image) for image in training]},
    }
    reference = build_reference(list(zip(TRAINING_PHOTOS, training, strict=True)), dlib_backend)
    return kinds, reference


@pytest.fixture(scope="module")
def measured(photos, dlib_backend):
    """Each kind's samples measured once (the middle checkpoints show the same pictures)."""
    kinds, reference = photos
    return {
        kind: {
            prompt: [measure_image(image, dlib_backend, reference) for image in images]
            for prompt, images in prompts.items()
        }
        for kind, prompts in kinds.items()
    }


def _checkpoint_set(early_stop: EarlyStop | None = None) -> CheckpointSet:
    losses = tuple((step, 0.6 - step / 2000) for step in range(1, 601))  # falls all the way
    files = tuple(CheckpointFile(step, _file(step)) for step in RUN)
    return CheckpointSet(files, "obama", "obama.safetensors", None, None, losses, early_stop)


def _coarse_curve(measured, reference, backend) -> LikenessCurve:
    coarse = CoarseLikeness(Thresholds.from_scale(backend.scale), backend.name)
    for step, kind in RUN.items():
        for prompt, measures in measured[kind].items():
            for seed, measure in enumerate(measures):
                coarse.add_identity(step, prompt, seed, measure)
    return coarse.curve


def test_the_coarse_pass_picks_a_middle_checkpoint_and_the_copies_are_vetoed(photos, measured, dlib_backend):
    _, reference = photos
    curve = _coarse_curve(measured, reference, dlib_backend)
    points = {p.step: p for p in curve.points}
    thresholds = Thresholds.from_scale(dlib_backend.scale)
    assert all(p.samples == 4 and p.face_rate == 1.0 for p in curve.points)
    assert points[100].likeness < thresholds.same_person < points[200].likeness
    assert points[600].copied and not any(points[s].copied for s in (100, 200, 300, 400, 500))
    assert any("training photo obama/frontal_1.jpg" in c for c in points[600].copies)
    assert all(points[s].diversity >= thresholds.min_diversity for s in RUN)
    margin = thresholds.checkpoint_margin
    assert margin == pytest.approx(
        0.1 * (dlib_backend.scale.likeness_target - dlib_backend.scale.same_person)
    )
    # the copies have the highest likeness: without the veto they would be the best checkpoint
    assert points[600].likeness > points[200].likeness + margin
    assert LikenessCurve(curve.measured()).best(margin).step == 600

    pick = pick_checkpoints(curve, margin, list(RUN))
    assert (pick.best, pick.tie, pick.set_aside) == (200, 300, (600,)), pick.reason
    assert "set aside: their samples copy" in pick.reason


def test_a_curve_training_measured_is_used_only_with_the_same_backend(photos, measured, dlib_backend):
    """Each backend has its own similarity scale: a curve dlib scored is not judged on ArcFace's."""
    _, reference = photos
    curve = _coarse_curve(measured, reference, dlib_backend)
    checkpoint_set = dataclasses.replace(_checkpoint_set(), likeness=curve)
    same = training_curve(checkpoint_set, dlib_backend.name)
    assert same is not None and same is not curve and [p.step for p in same.points] == list(RUN)
    assert training_curve(checkpoint_set, "ArcFace buffalo_l (insightface)") is None
    curve.measured_by = ""  # a curve that does not say which backend scored it
    assert training_curve(checkpoint_set, dlib_backend.name) is None


def test_the_plateau_and_the_recommended_checkpoint(photos, measured, dlib_backend):
    kinds, reference = photos
    curve = _coarse_curve(measured, reference, dlib_backend)
    checkpoint_set = _checkpoint_set(EarlyStop(600, 200, "likeness saturated"))
    attach_run_losses(curve, checkpoint_set)
    assert curve.points[1].loss == pytest.approx(np.mean([0.6 - s / 2000 for s in range(101, 201)]))
    thresholds = Thresholds.from_scale(dlib_backend.scale)
    pick = pick_checkpoints(curve, thresholds.checkpoint_margin, list(RUN))
    checkpoints = CheckpointSweep(checkpoint_set, curve, SOURCE_SWEEP, pick)
    # the full pass: step 200 draws strangers at 0.5 and the subject above; step 300 copies above 0.5
    table = {"step 200": (STRANGERS, SUBJECT, SUBJECT), "step 300": (STRANGERS, COPIES, COPIES)}
    sweep = Sweep(_entries(kinds, table), "zyqux", "man", checkpoints=checkpoints)
    report = evaluate_sweep(sweep, reference, dlib_backend, thresholds)

    verdict = report.checkpoints
    rec = report.recommendation
    assert (verdict.recommended.step, rec.strength, rec.passed) == (200, 0.8, True), report.to_text()
    assert rec.summary.startswith("Recommended checkpoint: step 200 (obama-step00000200.safetensors).")
    data = report.to_dict()
    recommended = data["recommended"]
    assert recommended["checkpoint"] == {"step": 200, "file": "obama-step00000200.safetensors"}
    assert (recommended["strength"], recommended["passed"]) == (0.8, True)
    assert [(o["checkpoint"]["step"], o["passed"]) for o in recommended["others"]] == [(300, False)]

    rows = {row["step"]: row for row in data["by_checkpoint"]}
    assert list(rows) == list(RUN)
    assert rows[200]["best"] and rows[200]["recommended"] and rows[300]["tie"]
    assert rows[600]["copies"] and not rows[400]["copies"] and rows[200]["face_rate"] == 1.0
    assert rows[200]["loss"] > rows[500]["loss"]

    findings = {f["issue"]: f for f in data["checkpoint_findings"]}
    plateau = findings[PLATEAU_ISSUE]
    assert plateau["step"] == 300 and "step 200" in plateau["evidence"]
    assert "dlib" in plateau["measured_by"] and "docs/profiles.md#evaluation-protocol" in plateau["source"]
    # the rule's margin is the backend's checkpoint margin, the one the early stop uses (not 0.01)
    assert f"by more than {thresholds.checkpoint_margin:g} while" in plateau["source"]
    assert findings[EARLY_STOP_ISSUE]["step"] == 600
    text = report.to_text()
    assert "Recommended checkpoint: step 200 (obama-step00000200.safetensors) at strength 0.8: passed" in text
    assert "Also swept: step 300" in text and PLATEAU_ISSUE in text
    assert str(RUN_FOLDER) not in json.dumps(data) and str(RUN_FOLDER) not in text

    chart = checkpoint_chart(report)  # the strength panel above the likeness-by-step panel
    assert chart.shape == (520 + 420, 900, 3)
    by_step = chart[520:].astype(int)
    gold = (by_step[..., 0] > 235) & (abs(by_step[..., 1] - 215) < 15) & (by_step[..., 2] < 40)
    assert gold.sum() > 20, "the recommended checkpoint is starred"


def _entries(kinds, table) -> list[SweepEntry]:
    strangers = kinds[STRANGERS]["portrait"]
    entries = []
    for label, by_strength in table.items():
        for strength, kind in zip((0.5, 0.8, 1.0), by_strength, strict=True):
            for prompt in ("portrait", "environment", "control"):
                images = strangers if prompt == "control" else kinds[kind][prompt]
                role = "control" if prompt == "control" else "identity"
                entries += [
                    SweepEntry(image, prompt, prompt, strength, seed, label, role=role)
                    for seed, image in enumerate(images)
                ]
    return entries


def test_the_recommended_checkpoint_is_passed_first_then_higher_likeness_then_earlier():
    def choice(step: int, passed: bool, likeness: float | None) -> CheckpointChoice:
        return CheckpointChoice(
            step, f"run-step{step:08d}.safetensors", Recommendation(0.8, "", passed, ""), likeness
        )

    choices = [
        choice(300, True, 0.97),
        choice(200, True, 0.97),
        choice(100, False, 0.99),
        choice(400, True, 0.98),
    ]
    choices += [choice(500, False, None)]
    assert [c.step for c in sorted(choices, key=CheckpointChoice.sort_key)] == [400, 200, 300, 100, 500]
