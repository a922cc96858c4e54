"""The judgement on real faces: sweeps whose "generated" images are real photos.

The real dlib detector and 128-d model (public-domain weights) measure every face; the
thresholds are dlib's own scale (``identity_scale.DLIB_SCALE``). Each behaviour runs on photos
that ship inside installed packages (never skipped) and, when the project's shared face folder
is present, on several real photos of one person (Obama) against other people.

The registry holds one photo per person, so its "other photos of the subject" are that photo
moved, rescaled, relit and mirrored on other backgrounds. Any face embedding rightly calls
those copies of the training photo (dlib: 0.99 and more), so the registry's pass test switches
the single-photo copy rule off, and says so; the shared-folder test passes with every rule on.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from devkit.photos import (
    astronaut,
    brightened,
    cropped,
    flipped,
    grace_hopper,
    group_photo,
    on_canvas,
    resized,
    skin_smoothed,
    tom_hanks,
)
from identity_core.dataset.model import PASS, Finding
from identity_core.evaluation.dataset_evidence import DatasetEvidence
from identity_core.evaluation.diagnose import NOISE_OFFSET_INERT
from identity_core.evaluation.failure_modes import MEMORISATION, PROMPT_BRITTLENESS, SAMEFACE, WEAK_IDENTITY
from identity_core.evaluation.model import Sweep, SweepEntry
from identity_core.evaluation.pipeline import evaluate_sweep
from identity_core.evaluation.reference import build_reference
from identity_core.evaluation.thresholds import Thresholds
from identity_core.evaluation.training_run import TrainingRun
from tests.fixtures.shared_faces import require_shared_faces, shared_photo

LORA = "run.safetensors"
IDENTITY_PROMPTS = ("portrait", "environment", "outfit")


def _backgrounds() -> list[np.ndarray]:
    """Real photographs without faces, from scikit-image."""
    import skimage.data

    return [
        np.ascontiguousarray(image)
        for image in (skimage.data.coffee(), skimage.data.chelsea(), skimage.data.rocket())
    ]


def _placed(photo: np.ndarray, background: np.ndarray, scale: float, position: tuple[float, float]):
    """``photo`` scaled and pasted onto a 768 px square cut of a real background photo."""
    from PIL import Image

    canvas = np.asarray(Image.fromarray(background).resize((768, 768), Image.Resampling.BILINEAR)).copy()
    small = resized(photo, scale)
    h, w = small.shape[:2]
    x, y = round(position[0] * 768 - w / 2), round(position[1] * 768 - h / 2)
    canvas[max(y, 0) : y + h, max(x, 0) : x + w] = small[max(-y, 0) : 768 - y, max(-x, 0) : 768 - x]
    return canvas


def _subject_seeds(photo: np.ndarray) -> list[np.ndarray]:
    """Three distinct pictures of one photographed face: scale, place, light, mirror, background."""
    backgrounds = _backgrounds()
    return [
        _placed(brightened(photo, 0.8), backgrounds[0], 0.9, (0.35, 0.5)),
        _placed(flipped(photo), backgrounds[1], 1.1, (0.55, 0.45)),
        _placed(brightened(photo, 1.2), backgrounds[2], 0.75, (0.6, 0.55)),
    ]


def _same_pose_seeds(photo: np.ndarray) -> list[np.ndarray]:
    """One face at one place and size every time; only the light and the background change."""
    return [
        _placed(brightened(photo, factor), background, 0.9, (0.5, 0.5))
        for factor, background in zip((0.8, 1.0, 1.2), _backgrounds(), strict=True)
    ]


def _other_people() -> list[np.ndarray]:
    """Three different people (a mirrored photo of one would be the same picture: a carbon copy)."""
    perry = cropped(group_photo(), 0.5, 0.25, 0.75, 0.65)  # t1.jpg's Matthew Perry, frontal
    return [astronaut(), on_canvas(resized(tom_hanks(), 3.0), (512, 512)), resized(perry, 2.0)]


def _sweep(cells: dict[tuple[str, float], list[np.ndarray]], run: TrainingRun | None = None) -> Sweep:
    entries = []
    for (prompt, strength), images in cells.items():
        role = "control" if prompt == "control" else "identity"
        entries += [
            SweepEntry(image, prompt, prompt, strength, seed, LORA, role=role)
            for seed, image in enumerate(images)
        ]
    return Sweep(entries, "zyqux", "woman", training_runs={LORA: run} if run else {})


def _table(by_strength: dict[float, list[np.ndarray]], prompts=IDENTITY_PROMPTS, control=None):
    table = {(p, s): images for s, images in by_strength.items() for p in prompts}
    for strength in by_strength:
        table[("control", strength)] = control or _other_people()
    return table


def _evaluate(backend, reference, sweep, thresholds=None, dataset=None):
    return evaluate_sweep(
        sweep, reference, backend, thresholds or Thresholds.from_scale(backend.scale), dataset=dataset
    )


def _modes(report):
    return [d.mode for d in report.recommendation.diagnoses]


def _diagnosis(report, mode):
    return next(d for d in report.recommendation.diagnoses if d.mode is mode)


PASSED_DATASET = DatasetEvidence(
    PASS,
    (
        Finding(
            check="count", severity=PASS, measured=20, threshold="15-30 images", message="20 usable images."
        ),
    ),
    "dlib",
)

# ----------------------------------------------------------------------------- registry photos


def test_other_pictures_of_the_subject_pass_with_a_recommended_strength(dlib_backend, grace_reference):
    reference = grace_reference
    grace = _subject_seeds(grace_hopper())
    sweep = _sweep(_table({0.5: _other_people(), 0.8: grace, 1.0: grace}))
    without_copy_rule = dataclasses.replace(Thresholds.from_scale(dlib_backend.scale), copy_crop_match=1.01)
    report = _evaluate(dlib_backend, reference, sweep, without_copy_rule, PASSED_DATASET)
    rec = report.recommendation
    assert (rec.passed, rec.strength, rec.diagnoses) == (True, 0.8, []), report.to_text()
    cell = report.cell(LORA, "portrait", 0.8)
    assert cell.diversity >= report.thresholds.min_diversity and not cell.same_pose and not cell.carbon_copies
    # with the copy rule on, the same pictures are what they are: copies of the one training photo
    strict = _evaluate(dlib_backend, reference, sweep)
    assert not strict.recommendation.passed and MEMORISATION in _modes(strict)


def test_other_people_are_weak_identity_once_the_dataset_is_ruled_out(dlib_backend, grace_reference):
    reference = grace_reference
    run = TrainingRun(
        LORA, text_encoder="frozen", steps=1500, subject_steps=1500, rank=32, regularization_images=0
    )
    sweep = _sweep(_table({0.8: _other_people(), 1.0: _other_people()}), run)
    report = _evaluate(dlib_backend, reference, sweep, dataset=PASSED_DATASET)
    assert not report.recommendation.passed and _modes(report) == [WEAK_IDENTITY], report.to_text()
    weak = _diagnosis(report, WEAK_IDENTITY)
    assert weak.run_cause == "Undertraining" and weak.dataset_causes == []
    assert "train more steps (this run: 1500 steps) or with a higher rank (32 -> 64)" in weak.fix


def test_weak_identity_names_the_checked_datasets_findings_first(dlib_backend, grace_reference, tmp_path):
    from devkit.photos import write_image
    from identity_core.dataset.check import check_dataset

    for name, image in (("a.jpg", grace_hopper()), ("b.jpg", _subject_seeds(grace_hopper())[1])):
        write_image(image, tmp_path / name)
    dataset = check_dataset(tmp_path, dlib_backend).dataset  # two photos: the count check fails
    reference = grace_reference
    report = _evaluate(
        dlib_backend,
        reference,
        _sweep(_table({1.0: _other_people()})),
        dataset=DatasetEvidence.from_dataset(dataset),
    )
    weak = _diagnosis(report, WEAK_IDENTITY)
    assert weak.dataset_causes[0].startswith("count (fail): Only 2 usable images")
    assert weak.fix.startswith("(1) fix the dataset first")
    assert weak.fix.index("fix the dataset first") < weak.fix.index("train more steps")


def test_the_training_photos_themselves_are_memorisation(dlib_backend, grace_reference):
    reference = grace_reference
    training = [grace_hopper(), flipped(grace_hopper()), brightened(grace_hopper(), 1.2)]
    report = _evaluate(dlib_backend, reference, _sweep(_table({0.8: training, 1.0: training})))
    assert not report.recommendation.passed and MEMORISATION in _modes(report)
    cell = report.cell(LORA, "portrait", 0.8)
    assert {m.reference_label for m in cell.memorised} == {
        "grace.jpg",
        "grace_mirrored.jpg",
        "grace_bright.jpg",
    }
    copy = report.thresholds.copy_crop_match
    assert all(m.evidence.crop_match >= copy and m.evidence.similarity >= 0.98 for m in cell.memorised)
    assert "aligned face crops match" in _diagnosis(report, MEMORISATION).evidence


def test_one_repeated_pose_is_same_pose(dlib_backend, grace_reference):
    reference = grace_reference
    repeated = _same_pose_seeds(grace_hopper())
    without_copy_rule = dataclasses.replace(Thresholds.from_scale(dlib_backend.scale), copy_crop_match=1.01)
    report = _evaluate(
        dlib_backend, reference, _sweep(_table({0.8: repeated, 1.0: repeated})), without_copy_rule
    )
    cell = report.cell(LORA, "portrait", 0.8)
    assert cell.same_pose and not cell.carbon_copies, cell.overfit_reasons()
    assert not report.recommendation.passed and _modes(report) == [SAMEFACE]
    assert "same pose every seed" in _diagnosis(report, SAMEFACE).evidence


def test_a_frozen_text_encoder_never_gets_text_encoder_advice(dlib_backend, grace_reference):
    reference = grace_reference
    grace = _subject_seeds(grace_hopper())
    table = _table({0.8: grace, 1.0: grace}, prompts=("portrait",))
    table.update({(p, s): _other_people() for p in ("environment", "outfit") for s in (0.8, 1.0)})
    without_copy_rule = dataclasses.replace(Thresholds.from_scale(dlib_backend.scale), copy_crop_match=1.01)
    frozen = TrainingRun(LORA, text_encoder="frozen")
    report = _evaluate(dlib_backend, reference, _sweep(table, frozen), without_copy_rule)
    brittle = _diagnosis(report, PROMPT_BRITTLENESS)
    assert "it was frozen" in brittle.run_cause
    assert "text encoder" not in brittle.fix and "freeze" not in report.to_text().lower()
    trained = _evaluate(
        dlib_backend, reference, _sweep(table, TrainingRun(LORA, text_encoder="trained")), without_copy_rule
    )
    assert "freeze the text encoder early" in _diagnosis(trained, PROMPT_BRITTLENESS).fix


def test_plastic_skin_is_waxy_with_a_fix_this_engine_can_apply(dlib_backend):
    big = resized(grace_hopper(), 1.6)  # a face of about 350 px: measured on the 256 px crop
    photos = [
        ("grace.jpg", big),
        ("grace_mirrored.jpg", flipped(big)),
        ("grace_warm.jpg", brightened(big, 1.1)),
    ]
    reference = build_reference(photos, dlib_backend)
    assert len(reference.measured_textures()) == 3
    face_height = 350
    sharp = [big, flipped(big), brightened(big, 0.9)]
    plastic = [skin_smoothed(image, face_height, passes=5) for image in sharp]
    without_copy_rule = dataclasses.replace(Thresholds.from_scale(dlib_backend.scale), copy_crop_match=1.01)
    report = _evaluate(dlib_backend, reference, _sweep(_table({0.8: sharp, 1.0: plastic})), without_copy_rule)
    rec = report.recommendation
    assert rec.passed and rec.strength == 0.8, report.to_text()
    assert next(n for n in rec.notes if "waxy skin" in n).startswith("At strength 1: waxy skin")
    lowest = min(reference.measured_textures())
    plastic_cell, sharp_cell = report.cell(LORA, "portrait", 1.0), report.cell(LORA, "portrait", 0.8)
    assert (
        plastic_cell.skin_texture / lowest < report.thresholds.waxy_ratio <= sharp_cell.skin_texture / lowest
    )
    waxy_only = _evaluate(dlib_backend, reference, _sweep(_table({1.0: plastic})), without_copy_rule)
    note = next(n for n in waxy_only.recommendation.notes if "smoother than any real photo" in n)
    assert "lower strength or an earlier checkpoint" in note and NOISE_OFFSET_INERT in note
    assert report.to_dict()["rules"]["waxy_skin"]["source"].startswith("waxy below 0.40")


# ----------------------------------------------------------------------------- shared folder


@pytest.fixture(scope="module")
def obama_reference(dlib_backend):
    require_shared_faces()
    photos = [(name, shared_photo(f"obama/{name}")) for name in ("frontal_1.jpg", "frontal_2.jpg")]
    return build_reference(photos, dlib_backend)


def test_shared_other_photos_of_the_subject_pass_with_every_rule_on(dlib_backend, obama_reference):
    others = [shared_photo("obama/frontal_3.jpg"), shared_photo("obama/frontal_4.jpg")]
    strangers = [shared_photo("biden/frontal_2.jpg"), shared_photo("chris_pratt/frontal_1.jpeg")]
    sweep = _sweep(_table({0.5: strangers, 0.8: others, 1.0: others}, control=strangers))
    report = _evaluate(dlib_backend, obama_reference, sweep, dataset=PASSED_DATASET)
    rec = report.recommendation
    assert (rec.passed, rec.strength, rec.diagnoses) == (True, 0.8, []), report.to_text()
    assert all(not c.memorised for c in report.cells)


def test_shared_other_people_are_weak_identity(dlib_backend, obama_reference):
    strangers = [
        shared_photo(p)
        for p in ("biden/frontal_2.jpg", "chris_pratt/frontal_1.jpeg", "codait_luciano/frontal_1.png")
    ]
    report = _evaluate(
        dlib_backend,
        obama_reference,
        _sweep(_table({0.8: strangers, 1.0: strangers})),
        dataset=PASSED_DATASET,
    )
    assert (
        _modes(report) == [WEAK_IDENTITY] and _diagnosis(report, WEAK_IDENTITY).run_cause == "Undertraining"
    )


def test_shared_training_photos_are_memorisation(dlib_backend, obama_reference):
    training = [shared_photo("obama/frontal_1.jpg"), shared_photo("obama/frontal_2.jpg")]
    report = _evaluate(dlib_backend, obama_reference, _sweep(_table({0.8: training, 1.0: training})))
    assert not report.recommendation.passed and MEMORISATION in _modes(report)
