"""The recommendation and the failure-table diagnoses on constructed score tables.

The fake backend's same-person cosine is 0.6, which is also the default identity target.
"""

from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.recommend import (
    ANGLE_FAILURE,
    IDENTITY_BLEED,
    PROMPT_BRITTLENESS,
    SAMEFACE,
    WEAK_IDENTITY,
)
from identity_core.evaluation.thresholds import Thresholds
from tests.identity_core.evaluation.fakes import FakeBackend, make_sweep, one_person_reference

PROMPTS = ("portrait", "environment", "style")


def _table(similarity_by_strength, control=0.2, prompts=PROMPTS):
    table = {}
    for strength, similarity in similarity_by_strength.items():
        for prompt in prompts:
            table[(prompt, strength)] = similarity if not callable(similarity) else similarity(prompt)
        table[("control", strength)] = control if not callable(control) else control(strength)
    return table


def _evaluate(table, copies=(), target=None, backend=None, sweep=None):
    backend = backend or FakeBackend()
    reference = one_person_reference(backend)
    sweep = make_sweep(backend, table, copies=copies, sweep=sweep)
    thresholds = Thresholds.for_backend(backend.same_person_cosine, target)
    return evaluate_sweep(sweep, reference, backend, thresholds)


def _issues(report):
    return [d.mode for d in report.recommendation.diagnoses]


def test_lowest_strength_that_reaches_the_target_is_recommended():
    report = _evaluate(_table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8, 1.2: 0.85}))
    rec = report.recommendation
    assert (rec.passed, rec.strength, rec.lora_name) == (True, 0.8, "run.safetensors")
    assert rec.diagnoses == [] and rec.notes == []
    assert "Recommended: strength 0.8" in report.to_text()


def test_explicit_identity_target_moves_the_recommendation():
    report = _evaluate(_table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8, 1.2: 0.85}), target=0.75)
    assert (report.recommendation.passed, report.recommendation.strength) == (True, 1.0)


def test_nothing_reaches_the_target_means_weak_identity():
    report = _evaluate(_table({0.5: 0.2, 0.8: 0.3, 1.0: 0.4, 1.2: 0.45}))
    rec = report.recommendation
    assert not rec.passed and _issues(report) == [WEAK_IDENTITY]
    assert "0.45" in rec.diagnoses[0].evidence
    assert rec.strength == 1.2  # best effort: highest identity without overfit or leakage


def test_identity_only_above_one_passes_with_a_weak_lora_note():
    report = _evaluate(_table({0.5: 0.2, 0.8: 0.3, 1.0: 0.45, 1.2: 0.7}))
    rec = report.recommendation
    assert rec.passed and rec.strength == 1.2
    assert any("weak" in note for note in rec.notes)


def test_carbon_copies_at_the_reaching_strengths_mean_sameface():
    table = _table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8})
    copies = {(p, s) for p in PROMPTS for s in (0.8, 1.0)}
    report = _evaluate(table, copies=copies)
    assert not report.recommendation.passed
    assert SAMEFACE in _issues(report)
    assert "carbon copies" in report.to_text()


def test_overfit_only_at_high_strength_is_a_note_not_a_failure():
    table = _table({0.5: 0.4, 0.8: 0.7, 1.2: 0.8})
    report = _evaluate(table, copies={(p, 1.2) for p in PROMPTS})
    rec = report.recommendation
    assert rec.passed and rec.strength == 0.8
    assert any(note.startswith("At strength 1.2") for note in rec.notes)


def test_identity_on_the_control_prompt_is_leakage():
    report = _evaluate(_table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8}, control=lambda s: 0.75 if s >= 0.8 else 0.2))
    assert not report.recommendation.passed
    assert _issues(report) == [IDENTITY_BLEED]
    assert "0.8, 1" in report.recommendation.diagnoses[0].evidence
    assert report.cell("run.safetensors", "control", 0.8).leakage
    assert not report.cell("run.safetensors", "control", 0.5).leakage


def test_identity_that_breaks_when_the_prompt_changes_is_prompt_brittleness():
    report = _evaluate(
        _table(
            {0.8: lambda p: 0.75 if p == "portrait" else 0.3, 1.0: lambda p: 0.8 if p == "portrait" else 0.4}
        )
    )
    assert not report.recommendation.passed
    assert _issues(report) == [PROMPT_BRITTLENESS]
    assert "environment, style" in report.recommendation.diagnoses[0].evidence


def test_turned_faces_losing_identity_is_angle_failure():
    frontal_and_turned = [(0.8, 2.0), (0.35, 40.0), (0.3, -45.0)]
    table = {(p, 1.0): list(frontal_and_turned) for p in PROMPTS}
    table[("control", 1.0)] = 0.1
    report = _evaluate(table)
    issues = _issues(report)
    assert ANGLE_FAILURE in issues and not report.recommendation.passed
    assert "no turned faces" in next(
        d.evidence for d in report.recommendation.diagnoses if d.mode is ANGLE_FAILURE
    )


def test_the_checkpoint_that_passes_at_the_lowest_strength_wins():
    backend = FakeBackend()
    early = make_sweep(backend, _table({0.8: 0.5, 1.0: 0.7}), lora_name="run-000500.safetensors")
    both = make_sweep(backend, _table({0.8: 0.7, 1.0: 0.8}), lora_name="run-001000.safetensors", sweep=early)
    report = _evaluate({}, backend=backend, sweep=both)
    rec = report.recommendation
    assert (rec.passed, rec.lora_name, rec.strength) == (True, "run-001000.safetensors", 0.8)
    assert "run-001000.safetensors @ 0.8" in rec.summary


def test_no_face_in_any_generated_image_is_a_verdict_not_a_crash():
    report = _evaluate(_table({0.8: None, 1.0: None}, control=None))
    rec = report.recommendation
    assert not rec.passed
    assert "No face was found in any of the 24 generated images" in rec.summary
    assert all(not image.face_found for image in report.images)
