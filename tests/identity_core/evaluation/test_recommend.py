"""The recommendation and the failure-table diagnoses on constructed score tables.

The fake backend's scale: same person 0.45, likeness target 0.6, copy 0.95 (fakes.FAKE_SCALE).
"""

import dataclasses

from identity_core.dataset.model import FAIL, PASS, WARN, Finding
from identity_core.evaluation.dataset_evidence import DatasetEvidence
from identity_core.evaluation.evidence import SweepEvidence
from identity_core.evaluation.failure_modes import (
    ANGLE_FAILURE,
    IDENTITY_BLEED,
    PROMPT_BRITTLENESS,
    SAMEFACE,
    WEAK_IDENTITY,
)
from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.recommend import recommend
from identity_core.evaluation.thresholds import Thresholds
from identity_core.evaluation.training_run import TrainingRun
from tests.identity_core.evaluation.fakes import FakeBackend, make_sweep, one_person_reference

PROMPTS = ("portrait", "environment", "outfit", "style")


def _table(similarity_by_strength, control=0.2, prompts=PROMPTS):
    table = {}
    for strength, similarity in similarity_by_strength.items():
        for prompt in prompts:
            table[(prompt, strength)] = similarity if not callable(similarity) else similarity(prompt)
        table[("control", strength)] = control if not callable(control) else control(strength)
    return table


def _evaluate(table, copies=(), target=None, backend=None, sweep=None, run=None, dataset=None, settings=None):
    backend = backend or FakeBackend()
    reference = one_person_reference(backend)
    sweep = make_sweep(backend, table, copies=copies, sweep=sweep)
    if run is not None:
        sweep.training_runs = {"run.safetensors": run}
    sweep.settings.update(settings or {})
    thresholds = Thresholds.from_scale(backend.scale, target)
    return evaluate_sweep(sweep, reference, backend, thresholds, dataset=dataset)


def _issues(report):
    return [d.mode for d in report.recommendation.diagnoses]


def _diagnosis(report, mode):
    return next(d for d in report.recommendation.diagnoses if d.mode is mode)


def _run(**facts):
    return TrainingRun("run.safetensors", **facts)


def test_lowest_strength_that_reaches_the_target_is_recommended():
    report = _evaluate(_table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8, 1.2: 0.85}))
    rec = report.recommendation
    assert (rec.passed, rec.strength, rec.lora_name) == (True, 0.8, "run.safetensors")
    assert rec.diagnoses == [] and rec.notes == []
    assert "Recommended: strength 0.8" in report.to_text()


def test_the_target_is_the_backends_likeness_target_not_its_same_person_floor():
    # 0.5 verifies as the same person (floor 0.45) but is below a good LoRA's likeness (0.6)
    report = _evaluate(_table({0.8: 0.5, 1.0: 0.55}))
    assert report.thresholds.identity_target == 0.6 and report.thresholds.same_person == 0.45
    assert not report.recommendation.passed and _issues(report) == [WEAK_IDENTITY]


def test_explicit_identity_target_moves_the_recommendation():
    report = _evaluate(_table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8, 1.2: 0.85}), target=0.75)
    assert (report.recommendation.passed, report.recommendation.strength) == (True, 1.0)
    assert any("set by the user" in s for s in report.thresholds.identity_sources)


def test_nothing_reaches_the_target_means_weak_identity_and_the_best_effort_is_marked():
    report = _evaluate(_table({0.5: 0.2, 0.8: 0.3, 1.0: 0.4, 1.2: 0.45}))
    rec = report.recommendation
    assert not rec.passed and _issues(report) == [WEAK_IDENTITY]
    assert "0.45" in rec.diagnoses[0].evidence
    assert rec.strength == 1.2  # best effort: highest identity without overfit or leakage
    assert "Best effort, not a recommendation" in rec.summary


def test_the_style_prompt_is_judged_against_its_own_floor_and_never_blocks():
    # style stays at 0.5: above the style floor (0.45), below the identity target (0.6)
    table = _table({0.8: lambda p: 0.5 if p == "style" else 0.7})
    report = _evaluate(table)
    assert report.recommendation.passed and report.recommendation.strength == 0.8
    assert report.cell("run.safetensors", "style", 0.8).reaches_target
    assert report.recommendation.notes == []


def test_a_style_prompt_below_its_floor_is_a_note_to_check_by_eye():
    report = _evaluate(_table({0.8: lambda p: 0.2 if p == "style" else 0.7}))
    rec = report.recommendation
    assert rec.passed and PROMPT_BRITTLENESS not in _issues(report)
    assert any("style floor" in note and "by eye" in note for note in rec.notes)


def test_carbon_copies_at_the_reaching_strengths_mean_sameface():
    table = _table({0.5: 0.4, 0.8: 0.7, 1.0: 0.8})
    copies = {(p, s) for p in PROMPTS for s in (0.8, 1.0)}
    report = _evaluate(table, copies=copies)
    assert not report.recommendation.passed
    assert SAMEFACE in _issues(report)
    assert "carbon copies" in report.to_text()


def test_seeds_without_diversity_block_the_recommendation_and_mean_sameface():
    backend = FakeBackend()
    report = _evaluate(_table({0.8: 0.7, 1.0: 0.8}), backend=backend)
    assert report.recommendation.passed
    cells = [
        c if c.is_control else dataclasses.replace(c, diversity=0.1, faces_alike=True) for c in report.cells
    ]
    evidence = SweepEvidence(cells, report.thresholds, backend.name)
    rec = recommend(evidence)
    assert not rec.passed and SAMEFACE in [d.mode for d in rec.diagnoses]
    assert "Seeds barely differ" in next(d.evidence for d in rec.diagnoses if d.mode is SAMEFACE)


def test_pictures_that_hash_alike_with_different_faces_are_not_sameface():
    """One studio's backdrop and framing hash alike for different photos of a person: the seeds
    barely differ only when their faces match like one session's shots too."""
    backend = FakeBackend()
    report = _evaluate(_table({0.8: 0.7, 1.0: 0.8}), backend=backend)
    cells = [
        c if c.is_control else dataclasses.replace(c, diversity=0.1, faces_alike=False) for c in report.cells
    ]
    rec = recommend(SweepEvidence(cells, report.thresholds, backend.name))
    assert rec.passed and SAMEFACE not in [d.mode for d in rec.diagnoses]


def test_two_seeds_alike_are_too_few_to_call_sameface():
    """Two real shots of one studio session read alike (picture and face); with two seeds chance
    cannot be told from a LoRA that draws one picture, so the rule waits for three."""
    backend = FakeBackend()
    report = _evaluate(_table({0.8: 0.7, 1.0: 0.8}), backend=backend)
    cells = [
        c if c.is_control else dataclasses.replace(c, seeds=c.seeds[:2], diversity=0.1, faces_alike=True)
        for c in report.cells
    ]
    assert all(len(c.seeds) >= 3 for c in report.cells if not c.is_control)
    rec = recommend(SweepEvidence(cells, report.thresholds, backend.name))
    assert rec.passed and SAMEFACE not in [d.mode for d in rec.diagnoses]


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
    assert "strength 0.8 (0.750), 1 (0.750)" in report.recommendation.diagnoses[0].evidence
    assert "add 20-50 regularization images" in report.recommendation.diagnoses[0].fix
    assert report.cell("run.safetensors", "control", 0.8).leakage
    assert not report.cell("run.safetensors", "control", 0.5).leakage


def test_bleed_with_regularization_and_a_frozen_text_encoder_says_what_was_already_done():
    report = _evaluate(
        _table({0.8: 0.7, 1.0: 0.8}, control=0.75), run=_run(text_encoder="frozen", regularization_images=30)
    )
    fix = _diagnosis(report, IDENTITY_BLEED).fix
    assert "already used 30 regularization images" in fix and "text encoder" not in fix


def _brittle_table():
    return _table(
        {0.8: lambda p: 0.75 if p == "portrait" else 0.3, 1.0: lambda p: 0.8 if p == "portrait" else 0.4}
    )


def test_identity_that_breaks_when_the_prompt_changes_is_prompt_brittleness():
    report = _evaluate(_brittle_table())
    assert not report.recommendation.passed
    assert _issues(report) == [PROMPT_BRITTLENESS]
    assert "'environment, outfit' never do" in report.recommendation.diagnoses[0].evidence


def test_a_frozen_text_encoder_never_gets_text_encoder_advice():
    report = _evaluate(_brittle_table(), run=_run(text_encoder="frozen"))
    diagnosis = _diagnosis(report, PROMPT_BRITTLENESS)
    assert "text encoder" not in diagnosis.fix.lower() and "it was frozen" in diagnosis.run_cause
    assert "photos in other places" in diagnosis.fix
    assert "freeze" not in report.to_text().lower()


def test_text_encoder_advice_follows_how_the_run_trained_it():
    two_phase = _diagnosis(
        _evaluate(_brittle_table(), run=_run(text_encoder="two_phase", text_encoder_steps=750)),
        PROMPT_BRITTLENESS,
    )
    assert "first 750 steps, then frozen" in two_phase.run_cause and "fewer steps" in two_phase.fix
    trained = _diagnosis(_evaluate(_brittle_table(), run=_run(text_encoder="trained")), PROMPT_BRITTLENESS)
    assert trained.fix.startswith("(1) freeze the text encoder early")


def test_only_the_findings_that_explain_a_failure_are_named_and_they_come_first():
    pose = Finding(
        check="pose",
        severity=WARN,
        measured={},
        threshold="each pose >= 10%",
        message="Angle mix is 20 front.",
        fix="Add profile views.",
    )
    count = Finding(
        check="count",
        severity=WARN,
        measured=9,
        threshold="15-30 images",
        message="Only 9 usable images.",
        fix="Add 6 or more photos.",
    )
    framing = Finding(check="framing", severity=PASS, measured={}, threshold="", message="Framing mix fine.")
    dataset = DatasetEvidence(WARN, (pose, count, framing), "dlib")
    brittle = _diagnosis(_evaluate(_brittle_table(), dataset=dataset), PROMPT_BRITTLENESS)
    assert brittle.dataset_causes == [] and "fix the dataset" not in brittle.fix  # neither explains it
    frontal_and_turned = [(0.8, 2.0), (0.35, 40.0), (0.3, -45.0)]
    table = {(p, 1.0): list(frontal_and_turned) for p in ("portrait", "environment", "outfit")}
    table[("control", 1.0)] = 0.1
    report = _evaluate(table, dataset=dataset)
    angle = _diagnosis(report, ANGLE_FAILURE)
    assert angle.dataset_causes == ["pose (warn): Angle mix is 20 front. Fix: Add profile views."]
    assert angle.fix.startswith("(1) fix the dataset first")
    assert "dataset first: pose (warn)" in report.to_text()
    assert (
        "Reference dataset: DatasetCheck verdict warn (pose, count), measured with dlib" in report.to_text()
    )
    assert "measured by: constructed faces (test)" in angle.to_text()


def test_weak_identity_with_a_warned_dataset_names_every_dataset_finding_first():
    lighting = Finding(
        check="lighting",
        severity=WARN,
        measured={},
        threshold="varied light",
        message="The photos share one light.",
        fix="Vary the light.",
    )
    count = Finding(
        check="count",
        severity=FAIL,
        measured=9,
        threshold="15-30 images",
        message="Only 9 usable images.",
        fix="Add 6 or more photos.",
    )
    dataset = DatasetEvidence(FAIL, (lighting, count))
    report = _evaluate(_table({0.8: 0.3, 1.0: 0.4}), dataset=dataset, run=_run(steps=1500))
    weak = _diagnosis(report, WEAK_IDENTITY)
    assert weak.fix.startswith("(1) fix the dataset first")
    assert weak.fix.index("fix the dataset") < weak.fix.index("train more steps (this run: 1500 steps)")
    assert weak.dataset_causes == [
        "count (fail): Only 9 usable images. Fix: Add 6 or more photos.",
        "lighting (warn): The photos share one light. Fix: Vary the light.",
    ]
    assert weak.run_cause == "the dataset, or undertraining"


def test_weak_identity_with_regularization_names_the_subject_steps():
    run = _run(steps=2500, subject_steps=1250, regularization_images=30, rank=64)
    weak = _diagnosis(_evaluate(_table({0.8: 0.3, 1.0: 0.4}), run=run), WEAK_IDENTITY)
    assert "2500 steps, of which 1250 on the subject" in weak.fix and "64 -> 128" in weak.fix


def test_likeness_still_rising_at_the_top_asks_for_probes_before_undertraining():
    report = _evaluate(
        _table({0.5: 0.2, 0.8: 0.3, 1.0: 0.4, 1.2: 0.5}), settings={"model_weight_dtype": "float8_e4m3fn"}
    )
    weak = _diagnosis(report, WEAK_IDENTITY)
    assert "still rising" in weak.evidence
    assert weak.fix.index("probe strengths 1.5 and 2.0") < weak.fix.index("train more steps")
    assert "float8_e4m3fn" in weak.fix


def test_a_probe_beyond_the_design_sweep_can_be_recommended_and_says_so():
    report = _evaluate(_table({0.8: 0.3, 1.0: 0.4, 1.2: 0.5, 1.5: 0.65, 2.0: 0.7}))
    rec = report.recommendation
    assert (rec.passed, rec.strength, rec.beyond_design) == (True, 1.5, True)
    assert "beyond the evaluation protocol's sweep" in rec.summary
    assert any("beyond the evaluation protocol's 0.5-1.2 sweep" in note for note in rec.notes)
    assert "(beyond the design sweep)" in report.to_text()


def test_probes_that_still_miss_the_target_are_undertraining():
    report = _evaluate(_table({0.8: 0.3, 1.0: 0.4, 1.2: 0.45, 1.5: 0.5, 2.0: 0.52}))
    weak = _diagnosis(report, WEAK_IDENTITY)
    assert "probes at 1.5 and 2.0" in weak.evidence and "probe strengths" not in weak.fix


def test_turned_faces_losing_identity_is_angle_failure():
    frontal_and_turned = [(0.8, 2.0), (0.35, 40.0), (0.3, -45.0)]
    table = {(p, 1.0): list(frontal_and_turned) for p in PROMPTS}
    table[("control", 1.0)] = 0.1
    report = _evaluate(table)
    assert ANGLE_FAILURE in _issues(report) and not report.recommendation.passed
    assert "no turned faces" in _diagnosis(report, ANGLE_FAILURE).evidence


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
    assert "No face was found in any of the 30 generated images" in rec.summary
    assert all(not image.face_found for image in report.images)
